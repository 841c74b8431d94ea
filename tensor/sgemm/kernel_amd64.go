//go:build amd64 && !purego

package sgemm

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// kernelAVX2x6x16 computes the 6x16 tile C = alpha*Ap*Bp + beta*C (beta == 0
// overwrites C without reading it). Ap holds k groups of 6 values, Bp k groups
// of 16; ldc is in elements. Implemented in kernel_amd64.s.
//
//go:noescape
func kernelAVX2x6x16(k int, a, b, c *float32, ldc int, alpha, beta float32)

// kernelAVX2x4x24 is the 4x24 variant of kernelAVX2x6x16.
//
//go:noescape
func kernelAVX2x4x24(k int, a, b, c *float32, ldc int, alpha, beta float32)

var (
	avx2Kernel6x16 = &kernel{name: "avx2-fma-6x16", mr: 6, nr: 16, fn: func(k int, a, b, c []float32, ldc int, alpha, beta float32) {
		_ = a[6*k-1]
		_ = b[16*k-1]
		_ = c[5*ldc+15]
		kernelAVX2x6x16(k, unsafe.SliceData(a), unsafe.SliceData(b), unsafe.SliceData(c), ldc, alpha, beta)
	}}
	avx2Kernel4x24 = &kernel{name: "avx2-fma-4x24", mr: 4, nr: 24, fn: func(k int, a, b, c []float32, ldc int, alpha, beta float32) {
		_ = a[4*k-1]
		_ = b[24*k-1]
		_ = c[3*ldc+23]
		kernelAVX2x4x24(k, unsafe.SliceData(a), unsafe.SliceData(b), unsafe.SliceData(c), ldc, alpha, beta)
	}}
)

func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		asmKernels = []*kernel{avx2Kernel6x16, avx2Kernel4x24}
		if !pureGoEnv {
			defaultKernel = avx2Kernel6x16
		}
	}
}
