// Package kernels is nag's CUDA backend: hand-written CUDA C kernels
// (kernels/*.cu), compiled to PTX for compute_80 and embedded, and the Go code
// that loads and launches them through gorgonia.org/cu (files with the build
// tag cuda).
//
// # Build
//
// The default build never imports gorgonia.org/cu (its package init calls
// cuInit and exits the process on a machine without a GPU); untagged files
// here hold only documentation, op codes and CPU references (Philox4x32-10,
// see philox.go). With `-tags cuda`:
//
//	go build -tags cuda ./...            (needs cuda.h and libcuda.so to link:
//	                                      scripts/install-cuda-build-deps.sh)
//	go test -c -tags cuda ./kernels      (runs only on a machine with the driver)
//
// The PTX in kernels/ptx is generated and committed, so neither users nor the
// GPU machine need nvcc:
//
//	go generate ./kernels                (runs gen_ptx.sh: nvcc 11.8 -ptx -arch=compute_80)
//
// The PTX is deterministic (CI regenerates it and diffs) and JIT-compiles on
// A100 (sm_80), H100/H200 (sm_90) and newer.
//
// # Kernel argument convention
//
// gorgonia.org/cu's Function.Launch copies 8 bytes from each argument pointer.
// The launch wrappers therefore hold every argument in its own 8-byte slot
// (kargs): device pointers and long long / unsigned long long values fill the
// slot; int and float values occupy its low 4 bytes (the driver reads exactly
// the parameter's declared size from the start of the slot on little-endian
// hosts). Kernels declare scalar parameters only as int, float, long long or
// unsigned long long, and each wrapper must use the kargs helper of the
// declared type (i, f, i64, u64, p); a mismatch silently passes garbage.
//
// # What runs on the device
//
//   - element-wise ops, bias-row / per-row / scalar broadcasts, activations
//     (ReLU, ReLU6, SiLU, Tanh, Sigmoid, GELU (erf), ELU) and their backward,
//     fused bias+activation, counter-based dropout (elementwise.cu);
//   - reductions along the last axis and along a middle axis, softmax and
//     log-softmax with backward (reduce.cu); layer norm forward and backward
//     (layernorm.cu);
//   - GEMM: FP32 64x64 and 128x128 / 128x64 (double-buffered) SGEMMs and a
//     TF32 tensor-core variant (mma.sync.m16n8k8), all batched with strides
//     and with a fused bias + activation epilogue (gemm.cu, gemm.cuh); float4-
//     load variants with k tiles of 16 and check-free interior loops, run by
//     name only until timed (gemm_fast.cu, a module loaded on first use);
//   - the DiGCN node mixing Â·H / Âᵀₙ·H for a batch of graphs over one small
//     adjacency, and its ReLU/average epilogue (graphconv.cu);
//   - fused masked multi-head attention for graphs of N <= 32 nodes, one block
//     per graph, forward and backward (attention.cu);
//   - Philox4x32-10 normals and the reverse-SDE updates with in-kernel noise:
//     Euler–Maruyama / reverse-diffusion predictor, Langevin corrector with
//     batch-averaged norms (sde.cu);
//   - strided 2-D copies (concat/slice on the last axis), row gather and
//     atomic scatter-add (embedding and its backward) (index.cu);
//   - fused Adam + EMA update (adam.cu).
//
// Without a GPU, TestKernelsOnCPUEmulator (untagged) compiles the .cu files as
// host C++ against emu/cuda_emu.h, a small emulator of the CUDA execution model,
// and checks every kernel's indexing, tiling and synchronisation against naive
// references; the cuda-tagged tests check the real device against the Go CPU
// reference.
//
// Device also implements tensor.Backend (registered as "cuda"): Sgemm on host
// slices uploads the operands, runs the GEMM and downloads C. That path is
// correct but bound by PCIe transfers and is only useful for large products;
// speed comes from keeping tensors on the device (DeviceTensor and the
// launchers on *Device).
//
// # Device-resident models and CUDA graphs
//
// Package nag/gpu builds the models on these launchers: parameters,
// gradients, Adam moments and the EMA shadow in one ParamSet (one AdamEMA
// launch per step), an explicit forward into preallocated buffers and a
// hand-written backward (no device tape), checked against the CPU models on
// a GPU. Capture records a fixed launch sequence (an eval forward) as a CUDA
// graph through a small cgo shim over the driver API (stream capture is not
// wrapped by gorgonia.org/cu v0.9.6); Graph.Launch replays it.
package kernels

//go:generate bash gen_ptx.sh
