// Package f32math holds the scalar float32 exponentials shared by the CPU
// kernels (the SGEMM epilogue and the tensor activations), so both compute
// exactly the same values.
package f32math

import "math"

// Exp is e^x in float32 arithmetic (Cephes expf): 2^n·e^r with
// n = floor(x·log2e + 1/2), r = x − n·ln2 in two parts, e^r = 1 + r + r²·P(r).
// Arguments are clamped to [−87.34, 88.38] so results stay normal floats;
// NaN stays NaN. Relative error about 2e-7.
func Exp(x float32) float32 {
	if x != x {
		return x
	}
	x = min(max(x, -87.33654), 88.3762626647949)
	const (
		log2e = 1.44269504088896341
		c1    = 0.693359375
		c2    = -2.12194440e-4
	)
	fx := float32(math.Floor(float64(x*log2e + 0.5)))
	r := x - fx*c1
	r -= fx * c2
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	p = p*(r*r) + r + 1
	return p * math.Float32frombits(uint32(int32(fx)+127)<<23)
}

// Expm1Neg is e^x − 1 for x <= 0 (and NaN): a degree-10 Taylor polynomial on
// (−0.5, 0] (truncation below 1e-11, so the result keeps full relative
// precision as x → 0), Exp(x) − 1 below, where |e^x − 1| >= 0.39 makes the
// subtraction harmless.
func Expm1Neg(x float32) float32 {
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
	return Exp(x) - 1
}
