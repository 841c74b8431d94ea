package tensor

import (
	"math"

	"github.com/nagml/nag/internal/f32math"
)

// ELU with a float32 exponential. The element-wise kernel table computes
// ELU through float64 math.Expm1, which costs more than the GEMM feeding
// it in the score network's readout; this path evaluates e^x - 1 in
// float32 (a short series near zero, a Cephes-style exp elsewhere) with a
// relative error below 4e-7, in parallel over large tensors.

// eluInto stores ELU(a, alpha) in dst (allocated when nil; otherwise
// contiguous with a's shape, may be a) and returns dst.
func eluInto(dst, a *Tensor, alpha float32) *Tensor {
	if dst == nil {
		dst = Zeros(a.shape...)
	} else {
		checkDst("ELU", dst, a.shape)
	}
	n := dst.Len()
	if n == 0 {
		return dst
	}
	src := a
	if !a.IsContiguous() {
		src = a.Clone()
	}
	dd, sd := dst.data[dst.offset:dst.offset+n], src.data[src.offset:src.offset+n]
	parallelFor(n, 4, func(lo, hi int) { eluSlice(dd[lo:hi], sd[lo:hi], alpha) })
	return dst
}

// eluSlice stores x (x > 0) or alpha·(e^x - 1) in dst (len(src); may alias src).
func eluSlice(dst, src []float32, alpha float32) {
	dst = dst[:len(src)]
	for i, x := range src {
		if x <= 0 {
			x = alpha * expm1Neg32(x)
		}
		dst[i] = x
	}
}

// eluGradSlice stores g (x > 0) or g·alpha·e^x in dst (x is the ELU input).
func eluGradSlice(dst, x, g []float32, alpha float32) {
	x, g = x[:len(dst)], g[:len(dst)]
	for i, v := range x {
		if v > 0 {
			dst[i] = g[i]
		} else {
			dst[i] = g[i] * alpha * expf32(v)
		}
	}
}

// ELUGradFromOutput stores g·dELU/dz in dst, written in terms of the ELU
// output y (alpha 1): g where y > 0, g·(y + 1) = g·e^z elsewhere. The factor
// is formed without a branch (y's sign bit selects 1 + y or 1 + 0): the signs
// of a layer's outputs are random, and a branch per element mispredicts
// half the time. The result equals the branching form bit for bit.
func ELUGradFromOutput(dst, y, g []float32) {
	y, g = y[:len(dst)], g[:len(dst)]
	for i, v := range y {
		b := math.Float32bits(v)
		neg := uint32(int32(b) >> 31) // all ones when the sign bit is set
		dst[i] = g[i] * (1 + math.Float32frombits(b&neg))
	}
}

// expm1Neg32 is e^x − 1 for x <= 0 (f32math.Expm1Neg).
func expm1Neg32(x float32) float32 { return f32math.Expm1Neg(x) }

// expf32 is e^x in float32 arithmetic (f32math.Exp, shared with the SGEMM
// epilogue).
func expf32(x float32) float32 { return f32math.Exp(x) }
