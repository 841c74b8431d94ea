#!/usr/bin/env bash
# gpu-check.sh - correctness tests, microbenchmarks and `nag bench` of the CUDA
# backend on a GPU machine that has the NVIDIA driver but no Go toolchain.
#
# Two halves:
#   scripts/gpu-check.sh              HERE (with Go and the CUDA build deps from
#                                     scripts/install-cuda-build-deps.sh): build
#                                     .gpu/kernels.test and a cuda-tagged .gpu/nag,
#                                     then print the device-tool command to run.
#   scripts/gpu-check.sh --on-device  THERE (the device tool's machine, in the repo
#                                     root, with .gpu carried): run the tests, then
#                                     the benchmarks, then `nag bench --device cuda`
#                                     if nag has that flag; results go to
#                                     $OUT/gpu-results.txt (and stdout).
# Budget: every step has its own cap (sum ~9 min); a run with NAG_GPU_TRAIN=0
# took 115 s on an H200 (2026-11-28), the paper-size training run adds ~1 min.
# The session's whole device budget is 15 min, machine start included.
# NAG_GPU_QUICK=1 skips the end-to-end runs; NAG_GPU_TRAIN=0 skips only the
# paper-size training run (~2.5 min) and the sampling of its checkpoint.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" != --on-device ]; then
	set -e
	if ! command -v nvcc >/dev/null || [ ! -e /usr/local/cuda/include/cuda.h ]; then
		echo "gpu-check: CUDA build deps missing; run (as root) scripts/install-cuda-build-deps.sh" >&2
		exit 1
	fi
	if [ -f /usr/local/cuda-11.8/env.sh ]; then . /usr/local/cuda-11.8/env.sh; fi
	mkdir -p .gpu
	# Keep the binaries out of git without touching .gitignore.
	if [ -d .git ] && ! grep -qsx '/.gpu/' .git/info/exclude; then echo '/.gpu/' >>.git/info/exclude; fi
	echo "== go test -c -tags cuda -o .gpu/kernels.test ./kernels"
	go test -c -tags cuda -o .gpu/kernels.test ./kernels
	echo "== go test -c -tags cuda -o .gpu/gpu.test ./nag/gpu"
	go test -c -tags cuda -o .gpu/gpu.test ./nag/gpu
	echo "== go build -tags cuda -o .gpu/nag ./cmd/nag"
	go build -tags cuda -o .gpu/nag ./cmd/nag
	# The official meta-training labels (4.5 MB, not part of the project) for
	# train-predictor --device cuda on the GPU machine, which has no data.
	off="${NAG_DATA:-../shared/data}/diffusionnag-official"
	if [ -f "$off/meta_train_tasks_predictor.pt" ]; then
		mkdir -p .gpu/official
		cp "$off"/*.pt .gpu/official/
	fi
	ls -la .gpu
	cat <<'MSG'

Built. Run on the GPU machine with the device tool (one call, capped at 540 s):
  run(command="bash scripts/gpu-check.sh --on-device", carry=[".gpu"], timeout_s=540)
Results: $OUT/gpu-results.txt (comes back under the reply's files_at).
MSG
	exit 0
fi

# ---- on the GPU machine --------------------------------------------------------------
OUTDIR=${OUT:-/tmp/gpu-check-out}
mkdir -p "$OUTDIR"
R=$OUTDIR/gpu-results.txt
: >"$R"
log() { echo "$*" | tee -a "$R"; }
run() { # run <seconds> <cmd...>: run with a time cap, output to stdout and $R
	local t=$1
	shift
	log "== $*"
	timeout "$t" "$@" 2>&1 | tee -a "$R"
	local rc=${PIPESTATUS[0]}
	log "== exit $rc"
	return 0
}
[ -x .gpu/kernels.test ] || { log "gpu-check: .gpu/kernels.test missing: run scripts/gpu-check.sh here first and carry .gpu"; exit 1; }
log "gpu-check on $(hostname) at $(date -u +%FT%TZ)"
run 20 nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
# The tests read kernels/*.cu and kernels/ptx (op codes, PTX freshness): run from kernels/.
# -test.short skips the CPU-emulator test (already run in CI) to save device time.
(cd kernels && run 90 ../.gpu/kernels.test -test.short -test.count=1 -test.timeout=85s)
# Device model runners against the CPU models (score, predictor gradient, training step, guided PC).
[ -x .gpu/gpu.test ] && run 150 .gpu/gpu.test -test.v -test.run=Test -test.count=1 -test.timeout=145s
(cd kernels && run 90 ../.gpu/kernels.test -test.run='^$' -test.bench=. -test.benchtime=50x -test.timeout=85s)
# GEMM kernels side by side per shape, fastest first (the 50 %-of-peak question).
log "== GEMM summary: shape, kernel, GFLOP/s, fraction of peak (FP32; TF32 for sgemm_tf32)"
awk '/^BenchmarkGemm\// {
	split($1, p, "/"); shape = p[3]; sub(/-[0-9]+$/, "", shape); g = ""; f = ""
	for (i = 2; i < NF; i++) { if ($(i+1) == "GFLOP/s") g = $i; if ($(i+1) == "frac_peak") f = $i }
	if (g != "") print shape, p[2], g, f
}' "$R" | sort -k1,1 -k3,3gr | tee -a "$R"
[ -x .gpu/gpu.test ] && run 60 .gpu/gpu.test -test.run='^$' -test.bench='Parts|ScoreForward|TrainStep' -test.benchtime=100x -test.timeout=55s
[ -x .gpu/gpu.test ] && run 90 .gpu/gpu.test -test.run='^$' -test.bench=GuidedSampling -test.benchtime=1x -test.timeout=85s
if [ -x .gpu/nag ] && .gpu/nag bench -h 2>&1 | grep -q -- '-device'; then
	run 90 .gpu/nag bench --device cuda --reps 5 --json --full-run=false
	# A/B: the scalar-load GEMM kernels instead of the default k-16 float4-load ones.
	if .gpu/nag bench -h 2>&1 | grep -q -- '-vec-gemm'; then
		run 90 .gpu/nag bench --device cuda --reps 5 --json --full-run=false --vec-gemm=false
	fi
	# Where the device time goes: kernel profile of each workload (stderr table).
	if .gpu/nag bench -h 2>&1 | grep -q -- '-profile'; then
		run 90 .gpu/nag bench --device cuda --reps 3 --json --full-run=false --profile
	fi
else
	log "== nag bench --device cuda: skipped (this nag has no -device flag yet)"
fi
# PyTorch on the same GPU, same shapes (the issue's baseline; the image's python3 has torch).
if [ -f scripts/bench_pytorch.py ] && python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
	run 90 python3 scripts/bench_pytorch.py --device cuda --reps 5
else
	log "== PyTorch CUDA baseline: skipped (no scripts/bench_pytorch.py or no CUDA PyTorch)"
fi
if [ "${NAG_GPU_QUICK:-0}" != 1 ] && [ -x .gpu/nag ]; then
	T=$(mktemp -d)
	# End to end: sampling with the embedded checkpoint, guided generation, and
	# training the paper-size score network on the novelty protocol, then sampling it.
	run 60 .gpu/nag sample --device cuda --n 1000 --steps 1000 --seed 1 --out "$T/s.jsonl"
	run 60 .gpu/nag generate --device cuda --n 10 --seed 1 --out "$T/g.jsonl"
	# transfer's generation on the device (no NB201 table there: a dummy evaluator).
	.gpu/nag transfer -h 2>&1 | grep -q -- '-device' &&
		run 60 .gpu/nag transfer --device cuda --n 10 --seed 1 --top-k 3 --evaluate cmd --evaluate-cmd 'echo 0'
	if [ -f .gpu/official/meta_train_tasks_predictor.pt ]; then
		run 90 .gpu/nag train-predictor --device cuda --source official --data .gpu/official --iters 1000 --warmup 100 --seed 42 --out "$T/pred.ckpt"
		run 60 .gpu/nag train-predictor --source official --data .gpu/official --iters 100 --warmup 100 --seed 42 --out "$T/pred_cpu.ckpt"
	fi
	[ "${NAG_GPU_TRAIN:-1}" = 1 ] && run 150 .gpu/nag train-score --device cuda --config paper --split 0.5 --iters "${NAG_GPU_ITERS:-4000}" --lr 5e-4 --ckpt-every 0 --out "$T/paper.ckpt"
	[ -f "$T/paper.ckpt" ] && [ "${NAG_GPU_TRAIN:-1}" = 1 ] && run 60 .gpu/nag sample --device cuda --ckpt "$T/paper.ckpt" --n 1000 --steps 1000 --seed 1 --out "$T/p.jsonl"
fi
log "results in $R"
