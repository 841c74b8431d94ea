#!/usr/bin/env bash
# gen_ptx.sh - compile every kernels/*.cu to kernels/ptx/<name>.ptx (run by
# `go generate ./kernels`). Target compute_80: the PTX is JIT-compiled by the
# driver on A100 (sm_80), H100/H200 (sm_90) and newer. --fmad=false keeps the
# element-wise arithmetic in the same rounding order as the Go CPU reference
# (explicit fmaf in the GEMM still fuses). The output must be deterministic
# (same sources and nvcc -> same bytes): CI regenerates it and runs
# `git diff --exit-code -- kernels/`.
#
# nvcc comes from scripts/install-cuda-build-deps.sh (Debian's CUDA 11.8). A
# different nvcc version writes a different header, so we insist on 11.8 unless
# NAG_NVCC_ANY=1.
set -euo pipefail
cd "$(dirname "$0")"
NVCC=${NVCC:-nvcc}
command -v "$NVCC" >/dev/null || {
	echo "gen_ptx.sh: $NVCC not found; run scripts/install-cuda-build-deps.sh (as root) first" >&2
	exit 1
}
ver=$("$NVCC" --version | sed -n 's/.*release \([0-9.]*\),.*/\1/p')
if [ "$ver" != 11.8 ] && [ "${NAG_NVCC_ANY:-0}" != 1 ]; then
	echo "gen_ptx.sh: nvcc release $ver, the committed PTX is from 11.8 (set NAG_NVCC_ANY=1 to use it anyway)" >&2
	exit 1
fi
mkdir -p ptx
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for cu in *.cu; do
	name=${cu%.cu}
	# -o into a temp dir: nvcc names nothing after the output path, so the PTX
	# has no path-dependent bytes; then strip trailing blanks for stable diffs.
	"$NVCC" -ptx -arch=compute_80 -std=c++14 -O3 --fmad=false -o "$tmp/$name.ptx" "$cu"
	sed -e 's/[[:space:]]*$//' "$tmp/$name.ptx" >"ptx/$name.ptx"
done
# Drop PTX of sources that no longer exist.
for p in ptx/*.ptx; do
	[ -e "$(basename "${p%.ptx}").cu" ] || rm -f "$p"
done
