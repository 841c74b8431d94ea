// Package sgemm is a fast single-precision matrix multiply (SGEMM) for the
// CPU, in pure Go plus Go assembly (no cgo).
//
// Implementation satisfies gonum's blas.Float32Level3: it embeds
// gonum's blas/gonum.Implementation for every routine and overrides Sgemm
// with a blocked, packed, multi-threaded GEMM in the style of Goto/BLIS:
//
//   - op(B) is packed per (KC x NC) block into NR-wide column panels and
//     op(A) per (MC x KC) block into MR-high row panels, zero-padded, so the
//     micro-kernel streams both operands contiguously;
//   - the micro-kernel keeps an MR x NR tile of C in registers. On amd64 CPUs
//     with AVX2 and FMA (detected at run time with golang.org/x/sys/cpu) it is
//     a 6x16 Go-assembly kernel (12 ymm accumulators); elsewhere a portable Go
//     kernel is used;
//   - the (MC-row block x NR-panel chunk) tasks of each K block are shared
//     out dynamically to a bounded set of goroutines (Implementation.Workers,
//     default GOMAXPROCS); small products run on the calling goroutine.
//
// The portable kernel can be forced with the build tag purego or by setting
// the environment variable NAG_PUREGO=1 (read once at start-up), or per
// value with Implementation.PureGo.
//
// SgemmBiasAct adds a fused epilogue, C = act(alpha*op(A)*op(B) + beta*C +
// bias), applied to each tile of C while it is still in cache.
//
// All matrices are row-major, as in gonum's blas (and nag's tensors).
package sgemm
