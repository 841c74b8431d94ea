package tensor

import "math"

// Transcendental functions for the element-wise kernels. They are several
// times faster than the math package (a short polynomial instead of a
// full-precision one) and, evaluated in float64 and rounded once, accurate
// to about one float32 ulp (exp, sigmoid) or 1.2e-7 relative (the normal
// CDF), below the rounding error of the float32 arithmetic around them.

const (
	log2e    = 1.44269504088896341
	ln2Hi    = 6.93147180369123816490e-01 // ln 2 split for Cody-Waite reduction
	ln2Lo    = 1.90821492927058770002e-10
	roundMag = 6755399441055744.0 // 1.5·2^52: adding it rounds a float64 to an integer
)

// expApprox returns e^x with relative error below 1e-8 for x in
// (-708, 709); outside that range (and for NaN) it defers to math.Exp.
func expApprox(x float64) float64 {
	if !(x > -708 && x < 709) {
		return math.Exp(x)
	}
	k := (x*log2e + roundMag) - roundMag
	r := x - k*ln2Hi - k*ln2Lo
	// Taylor polynomial of degree 7 on |r| <= ln2/2 (truncation < 5e-9).
	p := 1 + r*(1+r*(0.5+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720+r*(1.0/5040)))))))
	return p * math.Float64frombits(uint64(int64(k)+1023)<<52)
}

// expSlice stores e^src[i] in dst[i] (dst may alias src). It is expApprox
// written out inline, which is about a third faster than calling it per
// element.
func expSlice(dst, src []float32) {
	src = src[:len(dst)]
	for i, v := range src {
		x := float64(v)
		if !(x > -708 && x < 709) {
			dst[i] = float32(math.Exp(x))
			continue
		}
		k := (x*log2e + roundMag) - roundMag
		r := x - k*ln2Hi - k*ln2Lo
		p := 1 + r*(1+r*(0.5+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720+r*(1.0/5040)))))))
		dst[i] = float32(p * math.Float64frombits(uint64(int64(k)+1023)<<52))
	}
}

// sigmoidSlice stores sigmoid(src[i]) in dst[i], or src[i]·sigmoid(src[i])
// (SiLU) when silu is set. dst may alias src.
func sigmoidSlice(dst, src []float32, silu bool) {
	var buf [256]float32
	for len(src) > 0 {
		n := min(len(src), len(buf))
		e := buf[:n]
		for i, x := range src[:n] {
			e[i] = -x
		}
		expSlice(e, e)
		d := dst[:n]
		if silu {
			for i, x := range src[:n] {
				d[i] = x / (1 + e[i])
			}
		} else {
			for i := range d {
				d[i] = 1 / (1 + e[i])
			}
		}
		src, dst = src[n:], dst[n:]
	}
}

// expSlice64 is expSlice on float64 values, in place.
func expSlice64(v []float64) {
	for i, x := range v {
		if !(x > -708 && x < 709) {
			v[i] = math.Exp(x)
			continue
		}
		k := (x*log2e + roundMag) - roundMag
		r := x - k*ln2Hi - k*ln2Lo
		p := 1 + r*(1+r*(0.5+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720+r*(1.0/5040)))))))
		v[i] = p * math.Float64frombits(uint64(int64(k)+1023)<<52)
	}
}

// chunk is the block length of the two-pass slice kernels below.
const chunk = 256

// normCDFChunk stores Φ(x[i]) in c[i] for up to chunk elements (the same
// values as normCDF32, computed in two vectorisable passes).
func normCDFChunk(c, x []float32) {
	const invSqrt2 = 0.70710678118654752
	var tb, eb [chunk]float64
	n := len(c)
	t, e := tb[:n], eb[:n]
	x = x[:n]
	for i, v := range x {
		z := math.Abs(float64(v)) * invSqrt2
		ti := 1 / (1 + 0.5*z)
		t[i] = ti
		e[i] = -z*z + (-1.26551223 + ti*(1.00002368+ti*(0.37409196+ti*(0.09678418+ti*(-0.18628806+
			ti*(0.27886807+ti*(-1.13520398+ti*(1.48851587+ti*(-0.82215223+ti*0.17087277)))))))))
	}
	expSlice64(e)
	for i, v := range x {
		h := 0.5 * t[i] * e[i] // 0.5·erfc(|x|/√2)
		if v < 0 {
			c[i] = float32(h)
		} else {
			c[i] = float32(1 - h)
		}
	}
}

// geluSlice stores x·Φ(x) in dst (may alias src).
func geluSlice(dst, src []float32) {
	var cb [chunk]float32
	for len(src) > 0 {
		n := min(len(src), chunk)
		c := cb[:n]
		normCDFChunk(c, src[:n])
		for i, x := range src[:n] {
			dst[i] = x * c[i]
		}
		src, dst = src[n:], dst[n:]
	}
}

// geluGradSlice stores g·(Φ(x) + x·φ(x)) in dst (may alias x or g).
func geluGradSlice(dst, x, g []float32) {
	var cb [chunk]float32
	var pb [chunk]float64
	for len(x) > 0 {
		n := min(len(x), chunk)
		c, p := cb[:n], pb[:n]
		normCDFChunk(c, x[:n])
		for i, v := range x[:n] {
			p[i] = -0.5 * float64(v) * float64(v)
		}
		expSlice64(p)
		for i, v := range x[:n] {
			dst[i] = g[i] * (c[i] + v*float32(invSqrt2Pi*p[i]))
		}
		x, g, dst = x[n:], g[n:], dst[n:]
	}
}

// exp32 returns e^x for float32 x.
func exp32(x float32) float32 { return float32(expApprox(float64(x))) }

// erfcPos returns erfc(z) for z >= 0 with relative error below 1.2e-7 (the
// Chebyshev fit of Numerical Recipes' erfcc).
func erfcPos(z float64) float64 {
	t := 1 / (1 + 0.5*z)
	p := -1.26551223 + t*(1.00002368+t*(0.37409196+t*(0.09678418+t*(-0.18628806+
		t*(0.27886807+t*(-1.13520398+t*(1.48851587+t*(-0.82215223+t*0.17087277))))))))
	return t * expApprox(-z*z+p)
}

// normCDF32 returns Φ(x), the standard normal CDF, with small relative error
// in both tails.
func normCDF32(x float32) float32 {
	const invSqrt2 = 0.70710678118654752
	xf := float64(x)
	if xf < 0 {
		return float32(0.5 * erfcPos(-xf*invSqrt2))
	}
	return float32(1 - 0.5*erfcPos(xf*invSqrt2))
}

// sigmoid32 is the logistic function; it saturates to exactly 0 or 1
// without overflow.
func sigmoid32(x float32) float32 { return float32(1 / (1 + expApprox(-float64(x)))) }
