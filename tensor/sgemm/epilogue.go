package sgemm

import (
	"math"

	"gonum.org/v1/gonum/blas"
)

// Activation selects the element-wise function SgemmBiasAct applies.
type Activation int

// Activations supported by the fused epilogue.
const (
	// None applies no activation.
	None Activation = iota
	// ReLU is max(x, 0).
	ReLU
	// ELU is x for x > 0 and exp(x)-1 otherwise (alpha = 1, PyTorch's default).
	ELU
	// SiLU is x*sigmoid(x) (a.k.a. swish).
	SiLU
)

// String returns the activation's name.
func (a Activation) String() string {
	switch a {
	case None:
		return "none"
	case ReLU:
		return "relu"
	case ELU:
		return "elu"
	case SiLU:
		return "silu"
	}
	return "Activation(?)"
}

// SgemmBiasAct computes
//
//	C = act(alpha * op(A) * op(B) + beta * C + bias)
//
// with the arguments of Sgemm; bias (length >= n, or nil for none) is added
// to every row of C. The bias and activation are applied to each tile of C
// right after its last K block is accumulated, while the tile is in cache,
// so a Linear layer y = act(x·Wᵀ + b) with x [rows, in] and W [out, in] is
//
//	impl.SgemmBiasAct(blas.NoTrans, blas.Trans, rows, out, in, 1, x, in, W, in, 0, y, out, b, act)
//
// in a single pass over y. With alpha == 0 or k == 0, C = act(beta*C + bias).
// An unknown activation or a short bias panics.
func (impl Implementation) SgemmBiasAct(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, bias []float32, act Activation) {
	impl.gemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, act)
}

// epilogueGo applies row = act(row + bias) in place; bias may be nil.
func epilogueGo(row, bias []float32, act Activation) {
	if bias != nil {
		bias = bias[:len(row)]
		for j := range row {
			row[j] += bias[j]
		}
	}
	switch act {
	case ReLU:
		for j, v := range row {
			if v < 0 {
				row[j] = 0
			}
		}
	case ELU:
		for j, v := range row {
			if v <= 0 {
				row[j] = expm1f(v)
			}
		}
	case SiLU:
		for j, v := range row {
			row[j] = v / (1 + expf(-v))
		}
	}
}

// expf is exp for float32 arguments to about 2 ulp, the same algorithm as
// the vector epilogue (Cephes): 2^n * e^r with n = floor(x*log2e + 1/2),
// r = x - n*ln2 in two parts, e^r = 1 + r + r^2*P(r). Arguments are clamped
// to [-87.34, 88.38], so results stay within [1.2e-38, 2.4e38] (normal
// floats; the activations only need exp of non-positive arguments or of
// arguments where 1+exp(-x) saturates anyway). NaN stays NaN.
func expf(x float32) float32 {
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

// expm1f is exp(x)-1 for x <= 0, accurate near zero: a series above -0.5,
// expf(x)-1 below (the same split as the vector epilogue).
func expm1f(x float32) float32 {
	if x > -0.5 {
		p := float32(1.0 / 3628800)
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
	return expf(x) - 1
}
