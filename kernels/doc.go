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
//   - GEMM: tiled shared-memory FP32 SGEMM and a TF32 tensor-core variant
//     (mma.sync.m16n8k8), both batched with strides (gemm.cu);
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
// # Device-resident model runner (plan; not implemented or validated yet)
//
// `--device cuda` for training and guided sampling needs the score network and
// the predictor to run with all weights, activations, gradients and optimiser
// state in DeviceTensors, not through the host-slice Backend. The plan:
//
//  1. Weights: one flat DeviceTensor holding every parameter (the order of
//     Module.Params), with per-parameter views (DeviceTensor.Rows / Reshape);
//     the same layout for gradients, Adam moments and the EMA shadow, so a
//     whole optimiser step is one AdamEMA launch.
//  2. Forward/backward: a small explicit "program" per model (a list of layer
//     records built once from the gnn module tree) whose forward calls the
//     launchers (Linear = Gemm + BiasAct, LayerNorm, Attention, GraphAdj2,
//     DiGCNCombine, ...) into preallocated activation buffers and whose
//     backward calls the matching *Backward launchers in reverse order,
//     accumulating into the flat gradient buffer. No autograd tape on the
//     device: the two models are fixed stacks, so hand-written backward order
//     is simpler and avoids per-op host bookkeeping.
//  3. Sampling: the PC loop calls the score program, LangevinCorrector and
//     SDEPredictor with (seed, step) Philox offsets, so no noise is uploaded;
//     guidance adds the predictor program's input gradient. With fixed shapes
//     the whole timestep is a fixed launch sequence: capture it once as a CUDA
//     graph (cuStreamBeginCapture/cuGraphLaunch, not wrapped by
//     gorgonia.org/cu v0.9.6; needs a small cgo shim) to cut launch overhead.
//  4. Validation (needs a GPU): one training step and one guided PC step
//     against the CPU path with the same weights, inputs and seed; the CPU
//     path must then draw its noise from NormalsRef to match.
package kernels

//go:generate bash gen_ptx.sh
