package tensor

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
)

// matOperand describes the last two axes of a tensor as a BLAS matrix: the
// storage, whether it is stored transposed (column-major), and its leading
// dimension. Views whose last two axes are neither row- nor column-major
// are copied.
type matOperand struct {
	t     *Tensor
	trans bool
	ld    int
}

func asMatrix(t *Tensor) matOperand {
	r := len(t.shape)
	rows, cols := t.shape[r-2], t.shape[r-1]
	s0, s1 := t.strides[r-2], t.strides[r-1]
	if (s1 == 1 || cols <= 1) && (rows <= 1 || s0 >= max(cols, 1)) {
		ld := s0
		if rows <= 1 {
			ld = max(cols, 1)
		}
		return matOperand{t: t, ld: ld}
	}
	if (s0 == 1 || rows <= 1) && (cols <= 1 || s1 >= max(rows, 1)) {
		ld := s1
		if cols <= 1 {
			ld = max(rows, 1)
		}
		return matOperand{t: t, trans: true, ld: ld}
	}
	c := t.Clone()
	return matOperand{t: c, ld: max(cols, 1)}
}

func blasT(trans bool) blas.Transpose {
	if trans {
		return blas.Trans
	}
	return blas.NoTrans
}

// MatMul returns the matrix product of a [..., m, k] and b [..., k, n]. The
// batch dimensions broadcast (NumPy rules). Both operands need rank >= 2.
// Transposed views are passed to the backend without copying.
func MatMul(a, b *Tensor) *Tensor { return MatMulInto(nil, a, b) }

// MatMulT returns op(a)·op(b) where op transposes the last two axes when the
// corresponding flag is set.
func MatMulT(a, b *Tensor, transA, transB bool) *Tensor {
	if transA {
		a = a.T()
	}
	if transB {
		b = b.T()
	}
	return MatMulInto(nil, a, b)
}

// MatMulInto stores MatMul(a, b) in dst (allocated when nil; otherwise
// contiguous with the result shape and not aliasing a or b) and returns dst.
func MatMulInto(dst, a, b *Tensor) *Tensor {
	ra, rb := len(a.shape), len(b.shape)
	if ra < 2 || rb < 2 {
		panic(fmt.Sprintf("tensor: MatMul needs rank >= 2 operands, got %v and %v", a.shape, b.shape))
	}
	m, k := a.shape[ra-2], a.shape[ra-1]
	k2, n := b.shape[rb-2], b.shape[rb-1]
	if k != k2 {
		panic(fmt.Sprintf("tensor: MatMul shapes %v and %v: inner dimensions %d and %d differ", a.shape, b.shape, k, k2))
	}
	batch, err := BroadcastShapes(a.shape[:ra-2], b.shape[:rb-2])
	if err != nil {
		panic(fmt.Sprintf("tensor: MatMul shapes %v and %v: batch dimensions do not broadcast", a.shape, b.shape))
	}
	shape := append(cloneInts(batch), m, n)
	if dst == nil {
		dst = Zeros(shape...)
	} else {
		checkDst("MatMul", dst, shape)
	}
	if dst.Len() == 0 {
		return dst
	}
	if k == 0 {
		clear(dst.data[dst.offset : dst.offset+dst.Len()])
		return dst
	}
	be := Default()
	nb := numel(batch)
	// Fold the batch into the rows when b does not vary over the batch and a
	// is a plain row-major stack of matrices.
	bBatchConst := true
	for i := 0; i < rb-2; i++ {
		if b.shape[i] != 1 {
			bBatchConst = false
		}
	}
	if nb > 1 && bBatchConst && a.IsContiguous() && numel(a.shape[:ra-2]) == nb {
		mb := asMatrix(b)
		be.Sgemm(blas.NoTrans, blasT(mb.trans), nb*m, n, k, 1, a.data[a.offset:], k,
			mb.t.data[mb.t.offset:], mb.ld, 0, dst.data[dst.offset:], n)
		return dst
	}
	ma, mb := asMatrix(a), asMatrix(b)
	if nb == 1 {
		be.Sgemm(blasT(ma.trans), blasT(mb.trans), m, n, k, 1, ma.t.data[ma.t.offset:], ma.ld,
			mb.t.data[mb.t.offset:], mb.ld, 0, dst.data[dst.offset:], n)
		return dst
	}
	// Batch strides of each operand over the broadcast batch shape.
	av := &Tensor{shape: ma.t.shape[:ra-2], strides: ma.t.strides[:ra-2]}
	bv := &Tensor{shape: mb.t.shape[:rb-2], strides: mb.t.strides[:rb-2]}
	sa, sb := broadcastStrides(av, batch), broadcastStrides(bv, batch)
	idx := make([]int, len(batch))
	offA, offB := ma.t.offset, mb.t.offset
	ta, tb := blasT(ma.trans), blasT(mb.trans)
	for p := 0; p < nb; p++ {
		c := dst.data[dst.offset+p*m*n:]
		be.Sgemm(ta, tb, m, n, k, 1, ma.t.data[offA:], ma.ld, mb.t.data[offB:], mb.ld, 0, c, n)
		for d := len(batch) - 1; d >= 0; d-- {
			idx[d]++
			offA += sa[d]
			offB += sb[d]
			if idx[d] < batch[d] {
				break
			}
			offA -= idx[d] * sa[d]
			offB -= idx[d] * sb[d]
			idx[d] = 0
		}
	}
	return dst
}

// Linear returns x·wᵀ + b for x [..., in], w [out, in] (PyTorch layout) and
// b [out] or nil. The result has shape [..., out].
func Linear(x, w, b *Tensor) *Tensor { return LinearInto(nil, x, w, b) }

// LinearInto stores Linear(x, w, b) in dst (allocated when nil; otherwise
// contiguous with shape [..., out], not aliasing x or w) and returns dst.
func LinearInto(dst, x, w, b *Tensor) *Tensor {
	if len(x.shape) < 1 || len(w.shape) != 2 || x.shape[len(x.shape)-1] != w.shape[1] {
		panic(fmt.Sprintf("tensor: Linear input %v with weight %v (want [..., in] and [out, in])", x.shape, w.shape))
	}
	in, out := w.shape[1], w.shape[0]
	if b != nil && (len(b.shape) != 1 || b.shape[0] != out) {
		panic(fmt.Sprintf("tensor: Linear bias %v for weight %v (want [%d])", b.shape, w.shape, out))
	}
	shape := append(cloneInts(x.shape[:len(x.shape)-1]), out)
	if dst == nil {
		dst = Zeros(shape...)
	} else {
		checkDst("Linear", dst, shape)
	}
	rows := numel(shape[:len(shape)-1])
	if rows == 0 || out == 0 {
		return dst
	}
	od := dst.data[dst.offset : dst.offset+rows*out]
	var beta float32
	if b != nil {
		bd := b.Contiguous()
		bs := bd.data[bd.offset : bd.offset+out]
		for r := 0; r < rows; r++ {
			copy(od[r*out:(r+1)*out], bs)
		}
		beta = 1
	}
	if in == 0 {
		if b == nil {
			clear(od)
		}
		return dst
	}
	x = x.Contiguous()
	mw := asMatrix(w)
	// op(B) must be wᵀ: a row-major w is transposed, a transposed view is not.
	Default().Sgemm(blas.NoTrans, blasT(!mw.trans), rows, out, in, 1, x.data[x.offset:], in,
		mw.t.data[mw.t.offset:], mw.ld, beta, od, out)
	return dst
}
