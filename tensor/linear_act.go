package tensor

import (
	"fmt"

	"github.com/nagml/nag/tensor/sgemm"
	"gonum.org/v1/gonum/blas"
)

// Act selects the activation fused into LinearAct.
type Act int

// Activations LinearAct can fuse. ELU uses alpha = 1 (PyTorch's default).
const (
	ActNone Act = iota
	ActReLU
	ActELU
	ActSiLU
)

// FusedLinearBackend is implemented by backends that can apply a bias and an
// activation in the GEMM epilogue (one pass over the output instead of three).
type FusedLinearBackend interface {
	SgemmBiasAct(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, bias []float32, act Act)
}

// SgemmBiasAct implements FusedLinearBackend when the CPU backend runs our
// SGEMM; otherwise it falls back to Sgemm plus a separate epilogue pass.
func (c *CPUBackend) SgemmBiasAct(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, cc []float32, ldc int, bias []float32, act Act) {
	if m == 0 || n == 0 {
		return
	}
	if impl, ok := c.BLAS.(sgemm.Implementation); ok {
		impl.SgemmBiasAct(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, cc, ldc, bias, sgemm.Activation(act))
		return
	}
	c.BLAS.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, cc, ldc)
	for r := 0; r < m; r++ {
		row := cc[r*ldc : r*ldc+n]
		if bias != nil {
			for j := range row {
				row[j] += bias[j]
			}
		}
		applyActInPlace(row, act)
	}
}

func applyActInPlace(row []float32, act Act) {
	switch act {
	case ActNone:
	case ActReLU:
		t := FromSlice(row, len(row))
		ReLUInto(t, t)
	case ActELU:
		t := FromSlice(row, len(row))
		ELUInto(t, t, 1)
	case ActSiLU:
		t := FromSlice(row, len(row))
		SiLUInto(t, t)
	default:
		panic(fmt.Sprintf("tensor: unknown activation %d", act))
	}
}

// LinearAct returns act(x·wᵀ + b) for x [..., in], w [out, in], b [out] or
// nil, computed in one GEMM with a fused bias-and-activation epilogue when the
// default backend supports it.
func LinearAct(x, w, b *Tensor, act Act) *Tensor { return LinearActInto(nil, x, w, b, act) }

// LinearActInto is LinearAct writing into dst (allocated when nil).
func LinearActInto(dst, x, w, b *Tensor, act Act) *Tensor {
	if len(x.shape) < 1 || len(w.shape) != 2 || x.shape[len(x.shape)-1] != w.shape[1] {
		panic(fmt.Sprintf("tensor: LinearAct input %v with weight %v (want [..., in] and [out, in])", x.shape, w.shape))
	}
	in, out := w.shape[1], w.shape[0]
	if b != nil && (len(b.shape) != 1 || b.shape[0] != out) {
		panic(fmt.Sprintf("tensor: LinearAct bias %v for weight %v (want [%d])", b.shape, w.shape, out))
	}
	fb, ok := Default().(FusedLinearBackend)
	if !ok || in == 0 {
		dst = LinearInto(dst, x, w, b)
		applyActInPlace(dst.Data(), act)
		return dst
	}
	shape := append(cloneInts(x.shape[:len(x.shape)-1]), out)
	if dst == nil {
		dst = Zeros(shape...)
	} else {
		checkDst("LinearAct", dst, shape)
	}
	rows := numel(shape[:len(shape)-1])
	if rows == 0 || out == 0 {
		return dst
	}
	od := dst.data[dst.offset : dst.offset+rows*out]
	var bias []float32
	if b != nil {
		bc := b.Contiguous()
		bias = bc.data[bc.offset : bc.offset+out]
	}
	x = x.Contiguous()
	mw := asMatrix(w)
	fb.SgemmBiasAct(blas.NoTrans, blasT(!mw.trans), rows, out, in, 1, x.data[x.offset:], in,
		mw.t.data[mw.t.offset:], mw.ld, 0, od, out, bias, act)
	return dst
}
