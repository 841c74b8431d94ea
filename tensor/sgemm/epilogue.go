package sgemm

import (
	"github.com/nagml/nag/internal/f32math"

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
// the vector epilogue (Cephes, see f32math.Exp).
func expf(x float32) float32 { return f32math.Exp(x) }

// expm1f is exp(x)-1 for x <= 0, accurate near zero (f32math.Expm1Neg).
func expm1f(x float32) float32 { return f32math.Expm1Neg(x) }
