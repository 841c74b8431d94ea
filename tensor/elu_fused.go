package tensor

import "math"

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

// expm1Neg32 is e^x - 1 for x <= 0 (and NaN), in float32: a degree-10
// Taylor polynomial on (-0.5, 0] (truncation below 1e-11, so the result
// keeps full relative precision as x -> 0), expf32(x) - 1 below, where
// |e^x - 1| >= 0.39 makes the subtraction harmless.
func expm1Neg32(x float32) float32 {
	if x > -0.5 {
		p := float32(1.0 / 39916800)
		p = p*x + 1.0/3628800
		p = p*x + 1.0/362880
		p = p*x + 1.0/40320
		p = p*x + 1.0/5040
		p = p*x + 1.0/720
		p = p*x + 1.0/120
		p = p*x + 1.0/24
		p = p*x + 1.0/6
		p = p*x + 0.5
		p = p*x + 1
		return p * x
	}
	return expf32(x) - 1
}

// expf32 is e^x in float32 arithmetic (Cephes expf): x = n·ln2 + r with
// |r| <= ln2/2, e^r = 1 + r + r²·P(r), scaled by 2^n through the exponent
// bits. Arguments are clamped to [-87.33, 88.37] (results stay normal
// floats); NaN stays NaN. Relative error about 2e-7.
func expf32(x float32) float32 {
	if x != x {
		return x
	}
	x = min(max(x, -87.33654), 88.37626)
	const (
		log2e = 1.44269504088896341
		c1    = 0.693359375
		c2    = -2.12194440e-4
	)
	fx := x*log2e + 0.5
	n := float32(int32(fx))
	if n > fx { // floor for negative arguments
		n--
	}
	r := x - n*c1
	r -= n * c2
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	p = p*(r*r) + r + 1
	return p * math.Float32frombits(uint32(int32(n)+127)<<23)
}
