#!/usr/bin/env bash
# install-cuda-build-deps.sh - build dependencies of nag's CUDA backend on a GPU-less
# Debian 12 (bookworm) amd64 machine: nvcc (to regenerate kernels/ptx/*.ptx with
# `go generate ./kernels`), cuda.h and a link stub libcuda.so (to vet and link the
# `-tags cuda` Go code, which uses gorgonia.org/cu through cgo).
#
# Installs NO driver, kernel module or libcuda.so.1: binaries linked here run only on
# a machine with the NVIDIA driver (see scripts/gpu-check.sh).
#
# Source: Debian's non-free archive, CUDA 11.8 (nvcc emits PTX ISA 7.8; we target
# compute_80 so the PTX JIT-compiles on A100, H100 and newer), plus g++-11 from main,
# the newest host compiler nvcc 11.8 accepts. The two big .debs (~860 MB) are
# downloaded with apt-get and only the needed files are unpacked into $CUDA_PREFIX
# (~160 MB); nothing of the toolkit is registered with dpkg. ptxas, cuobjdump and
# nvdisasm also let internal/tools/sassloops inspect the kernels' machine code.
#
# Usage (as root):  scripts/install-cuda-build-deps.sh
#   CUDA_PREFIX=/usr/local/cuda-11.8   where the toolkit goes (default shown)
# Afterwards: nvcc is on PATH (/usr/local/bin/nvcc wrapper), /usr/local/cuda points
# at $CUDA_PREFIX (unless it already existed) and $CUDA_PREFIX/lib64/libcuda.so is the
# stub, so gorgonia.org/cu's default #cgo flags link with no environment. If
# /usr/local/cuda is another toolkit: `. $CUDA_PREFIX/env.sh`.
#
# Idempotent (a second run with the same package versions only re-runs the self-test,
# a few seconds) and non-interactive, so CI can call it on every run.
set -euo pipefail

CUDA_PREFIX=${CUDA_PREFIX:-/usr/local/cuda-11.8}
LAYOUT=2 # bump when the unpacked layout changes: forces a re-unpack
APT_SRC=/etc/apt/sources.list.d/nag-nonfree-cuda.sources

log() { printf '[nag cuda-deps %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() {
	log "ERROR: $*"
	exit 1
}

[ "$(id -u)" = 0 ] || die "must run as root (apt-get, writes under /usr/local)"
[ "$(dpkg --print-architecture 2>/dev/null)" = amd64 ] || die "only Debian amd64 is supported"
export DEBIAN_FRONTEND=noninteractive
T0=$SECONDS

# Serialise concurrent runs (apt locks itself; the unpacking below does not).
exec 9>/var/lock/nag-install-cuda-build-deps.lock
flock 9

# shellcheck source=/dev/null
. /etc/os-release
CODENAME=${VERSION_CODENAME:-bookworm}
[ "$CODENAME" = bookworm ] || log "WARNING: written for Debian 12 bookworm; this is '$CODENAME'"

candidate() { apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2; exit}'; }
has_candidate() {
	local c
	c=$(candidate "$1")
	[ -n "$c" ] && [ "$c" != "(none)" ]
}
apt_install() { # refresh stale package lists once on failure
	apt-get -q install -y --no-install-recommends "$@" >/dev/null || {
		log "apt-get install $* failed; apt-get update and retry"
		apt-get -q update >/dev/null
		apt-get -q install -y --no-install-recommends "$@" >/dev/null
	}
}
nonfree_configured() {
	grep -qsE '^[[:space:]]*Components:.*[[:space:]]non-free([[:space:]]|$)' /etc/apt/sources.list.d/*.sources ||
		grep -qsE '^[[:space:]]*deb[[:space:]].*[[:space:]]non-free([[:space:]]|$)' /etc/apt/sources.list /etc/apt/sources.list.d/*.list
}

# --- 1. apt source for non-free ----------------------------------------------------
if ! has_candidate nvidia-cuda-toolkit; then
	if ! nonfree_configured; then
		mirror=$(awk '/^[[:space:]]*URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
		mirror=${mirror:-http://deb.debian.org/debian}
		log "adding $APT_SRC ($mirror $CODENAME non-free)"
		cat >"$APT_SRC" <<EOF
# Added by nag scripts/install-cuda-build-deps.sh (CUDA toolkit lives in non-free).
Types: deb
URIs: $mirror
Suites: $CODENAME $CODENAME-updates
Components: contrib non-free
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	fi
	log "apt-get update"
	apt-get -q update >/dev/null
	has_candidate nvidia-cuda-toolkit || die "nvidia-cuda-toolkit has no install candidate (is non-free enabled?)"
fi

# --- self-test: compute_80 PTX, and a cgo-style compile + link against cuda.h/libcuda
selftest() { # $1 = toolkit root
	local top=$1 t rc=0
	t=$(mktemp -d)
	cat >"$t/k.cu" <<'EOF'
extern "C" __global__ void axpy(int n, float a, const float* x, float* y) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = a * x[i] + y[i];
}
EOF
	printf '#include <cuda.h>\nint main(void){ CUdevice d; return cuInit(0) || cuDeviceGet(&d, 0); }\n' >"$t/c.c"
	{ "$top/bin/nvcc" -ptx -arch=compute_80 -o "$t/k.ptx" "$t/k.cu" &&
		grep -q '^\.target sm_80' "$t/k.ptx" &&
		gcc "-I$top/include" "-L$top/lib64/stubs" -o "$t/c" "$t/c.c" -lcuda; } >/dev/null 2>&1 || rc=1
	rm -rf "$t"
	return $rc
}

# --- 2. host compiler ----------------------------------------------------------------
if ! dpkg-query -W -f='${Status}' g++-11 2>/dev/null | grep -q 'install ok installed'; then
	log "apt-get install g++-11 (host compiler of nvcc 11.8)"
	apt_install g++-11
fi

# --- 3. toolkit files ------------------------------------------------------------------
TK_VER=$(candidate nvidia-cuda-toolkit)
DEV_VER=$(candidate nvidia-cuda-dev)
STAMP="layout=$LAYOUT nvidia-cuda-toolkit=$TK_VER nvidia-cuda-dev=$DEV_VER"

if [ -f "$CUDA_PREFIX/.nag-cuda-deps-stamp" ] && [ "$(cat "$CUDA_PREFIX/.nag-cuda-deps-stamp")" = "$STAMP" ] &&
	selftest "$CUDA_PREFIX"; then
	log "already installed in $CUDA_PREFIX ($STAMP)"
else
	work=$(mktemp -d -t nag-cuda-deps.XXXXXX)
	new=
	trap 'rm -rf "$work" ${new:+"$new"}' EXIT
	chmod 755 "$work"
	if id _apt >/dev/null 2>&1; then chown _apt "$work"; fi # apt's sandbox user writes the .debs
	fetch() { (cd "$work" && apt-get -q download "nvidia-cuda-toolkit=$TK_VER" "nvidia-cuda-dev=$DEV_VER" >/dev/null); }
	log "apt-get download nvidia-cuda-toolkit=$TK_VER nvidia-cuda-dev=$DEV_VER (~860 MB)"
	if ! fetch; then
		log "download failed; apt-get update and retry (archive moved to a newer point release?)"
		apt-get -q update >/dev/null
		TK_VER=$(candidate nvidia-cuda-toolkit)
		DEV_VER=$(candidate nvidia-cuda-dev)
		STAMP="layout=$LAYOUT nvidia-cuda-toolkit=$TK_VER nvidia-cuda-dev=$DEV_VER"
		rm -f "$work"/*.deb
		fetch
	fi

	root=$work/root
	mkdir -p "$root"
	log "unpacking headers and link stubs (nvidia-cuda-dev)"
	dpkg-deb --fsys-tarfile "$work"/nvidia-cuda-dev_*.deb |
		tar -x -C "$root" --wildcards './usr/include/*' './usr/lib/x86_64-linux-gnu/stubs/*'
	log "unpacking nvcc, cicc, ptxas, nvdisasm, libdevice (nvidia-cuda-toolkit)"
	dpkg-deb --fsys-tarfile "$work"/nvidia-cuda-toolkit_*.deb |
		tar -x -C "$root" --wildcards './usr/lib/nvidia-cuda-toolkit/bin/*' \
			'./usr/lib/nvidia-cuda-toolkit/libdevice/*' './usr/bin/ptxas' './usr/bin/fatbinary' \
			'./usr/bin/nvlink' './usr/bin/cudafe++' './usr/bin/bin2c' './usr/bin/cuobjdump' './usr/bin/cu++filt' \
			'./usr/bin/nvdisasm'

	# NVIDIA-style tree: bin/ include/ lib64/stubs/ nvvm/{bin,libdevice}
	mkdir -p "$(dirname "$CUDA_PREFIX")"
	new=$(mktemp -d "${CUDA_PREFIX}.new.XXXXXX")
	chmod 755 "$new"
	mkdir -p "$new/bin" "$new/nvvm/bin" "$new/nvvm/libdevice" "$new/lib64/stubs"
	tk=$root/usr/lib/nvidia-cuda-toolkit
	cp -a "$tk/bin/nvcc" "$tk/bin/crt" "$new/bin/"
	cp -a "$tk/bin/gcc" "$tk/bin/g++" "$new/bin/" # Debian's wrappers select gcc-11/g++-11
	cp -a "$tk/bin/cicc" "$new/nvvm/bin/"
	cp -a "$tk/libdevice/." "$new/nvvm/libdevice/"
	for b in ptxas fatbinary nvlink cudafe++ bin2c cuobjdump cu++filt nvdisasm; do cp -a "$root/usr/bin/$b" "$new/bin/"; done
	cp -a "$root/usr/include" "$new/include"
	cp -a "$root/usr/lib/x86_64-linux-gnu/stubs/." "$new/lib64/stubs/"
	# Link-time-only names: the stub's SONAME is libcuda.so.1, resolved on the GPU machine.
	for l in libcuda libcublas libcublasLt libnvrtc; do
		if [ -e "$new/lib64/stubs/$l.so" ]; then ln -s "stubs/$l.so" "$new/lib64/$l.so"; fi
	done
	# nvcc finds nvcc.profile next to its own binary (not through symlinks).
	cat >"$new/bin/nvcc.profile" <<'EOF'
TOP              = $(_HERE_)/..
NVVMIR_LIBRARY_DIR = $(TOP)/nvvm/libdevice
PATH            += $(TOP)/nvvm/bin:$(_HERE_):
INCLUDES        +=  "-I$(TOP)/include" $(_SPACE_)
LIBRARIES        =+ $(_SPACE_) "-L$(TOP)/lib64/stubs" "-L$(TOP)/lib64"
CUDAFE_FLAGS    +=
PTXAS_FLAGS     +=
EOF
	cat >"$new/env.sh" <<EOF
# Source to build nag's cuda-tagged code against this toolkit explicitly.
export PATH="$CUDA_PREFIX/bin:\$PATH"
export CGO_CFLAGS="-I$CUDA_PREFIX/include \${CGO_CFLAGS:-}"
export CGO_LDFLAGS="-L$CUDA_PREFIX/lib64/stubs \${CGO_LDFLAGS:-}"
EOF
	echo "$STAMP" >"$new/.nag-cuda-deps-stamp"

	# The self-test runs against the final path's layout (nvcc.profile is relative).
	selftest "$new" || die "self-test of the unpacked toolkit failed"
	if [ -e "$CUDA_PREFIX" ]; then
		rm -rf "$CUDA_PREFIX.old"
		mv "$CUDA_PREFIX" "$CUDA_PREFIX.old"
	fi
	mv "$new" "$CUDA_PREFIX"
	new=
	rm -rf "$CUDA_PREFIX.old"
	log "unpacked into $CUDA_PREFIX ($(du -sh "$CUDA_PREFIX" | cut -f1))"
fi

# --- 4. conveniences (never clobber what is not ours) ---------------------------------
if [ ! -e /usr/local/cuda ] && [ ! -L /usr/local/cuda ]; then
	ln -s "$CUDA_PREFIX" /usr/local/cuda
	log "linked /usr/local/cuda -> $CUDA_PREFIX"
elif [ "$(readlink -f /usr/local/cuda)" != "$(readlink -f "$CUDA_PREFIX")" ]; then
	log "NOTE: /usr/local/cuda is another toolkit; for cgo use: . $CUDA_PREFIX/env.sh"
fi
WRAP=/usr/local/bin/nvcc
if [ ! -e "$WRAP" ] || grep -qs 'nag install-cuda-build-deps' "$WRAP"; then
	printf '#!/bin/sh\n# nag install-cuda-build-deps wrapper\nexec "%s/bin/nvcc" "$@"\n' "$CUDA_PREFIX" >"$WRAP"
	chmod 755 "$WRAP"
else
	log "NOTE: $WRAP exists and is not ours; use $CUDA_PREFIX/bin/nvcc"
fi

log "OK in $((SECONDS - T0)) s: $("$CUDA_PREFIX/bin/nvcc" --version | tail -1)"
