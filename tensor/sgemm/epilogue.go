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

// epilogue applies row = act(row + bias) in place; bias may be nil.
func epilogue(row, bias []float32, act Activation) {
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

// expf is exp for float32 arguments, accurate to a few ulp: 2^n * e^r with
// |r| <= ln2/2 and a degree-6 polynomial for e^r.
func expf(x float32) float32 {
	switch {
	case x > 88.72283:
		return float32(math.Inf(1))
	case x < -103.97208:
		return 0
	case x != x:
		return x
	}
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375
		ln2lo = -2.12194440e-4
	)
	n := float32(math.Floor(float64(x*log2e + 0.5)))
	r := x - n*ln2hi - n*ln2lo
	p := float32(1.0 / 720)
	p = p*r + 1.0/120
	p = p*r + 1.0/24
	p = p*r + 1.0/6
	p = p*r + 0.5
	p = p*r + 1
	p = p*r + 1
	ni := int32(n)
	if ni > 127 {
		return p * 2 * math.Float32frombits(uint32(ni-1+127)<<23)
	}
	if ni < -126 {
		// Subnormal result: scale in two steps.
		return p * math.Float32frombits(uint32(ni+126+127)<<23) * math.Float32frombits(1<<23)
	}
	return p * math.Float32frombits(uint32(ni+127)<<23)
}

// expm1f is exp(x)-1 for x <= 0, accurate near zero.
func expm1f(x float32) float32 {
	if x > -0.5 {
		// Taylor series; |x| < 0.5 needs terms up to x^10 for float32.
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
