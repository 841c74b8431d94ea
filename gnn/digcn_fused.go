package gnn

import (
	"fmt"
	"math"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/tensor"
)

// digcnNodeMajor is the DiGCN layer without dropout as one taped op on
// node-major activations, out = (ReLU(Â·H·W1ᵀ) + ReLU(Âᵀₙ·H·W2ᵀ))/2 for
// h [N, B, in], w1/w2 [out, in] and the normalised adjacencies fwd, bwd
// [N, N]; the result is [N, B, out].
//
// Both aggregations are one product S·H with S = [fwd; bwd] stacked [2N, N]
// over H viewed as [N, B·in] (the adjacency is tiny and B·in wide, so the
// product is bound by memory traffic and one pass over H beats two). The
// two linear layers run with the ReLU fused into the GEMM epilogue into the
// two halves of one buffer. The backward forms both pre-activation
// gradients ½·g·[R > 0] in one pass, the weight gradients with two GEMMs and
// the input gradient as the single product Sᵀ·[G1·W1; G2·W2] (K = 2N),
// which also does the sum of the two branches.
func digcnNodeMajor(tp *autograd.Tape, h, w1, w2 *autograd.Var, fwd, bwd *tensor.Tensor) *autograd.Var {
	sh := h.Shape()
	if len(sh) != 3 {
		panic(fmt.Sprintf("gnn: DiGCN expects node-major h [N, B, in], got %v", sh))
	}
	n, b, in := sh[0], sh[1], sh[2]
	out := w1.Value.Dim(0)
	if w1.Value.Dim(1) != in || !tensor.EqualInts(w1.Shape(), w2.Shape()) {
		panic(fmt.Sprintf("gnn: DiGCN weights %v, %v for input width %d", w1.Shape(), w2.Shape(), in))
	}
	if fwd.Len() != n*n || bwd.Len() != n*n {
		panic(fmt.Sprintf("gnn: DiGCN adjacencies %v, %v for %d nodes", fwd.Shape(), bwd.Shape(), n))
	}
	s := tensor.Concat(0, fwd.Contiguous().Reshape(n, n), bwd.Contiguous().Reshape(n, n)) // [2N, N]
	hv := h.Value.Contiguous().Reshape(n, b*in)
	p := tensor.MatMul(s, hv) // [2N, B·in]: rows [0, N) the forward, [N, 2N) the backward aggregation
	rows := n * b
	p1 := p.Slice(0, 0, n).Reshape(rows, in)
	p2 := p.Slice(0, n, 2*n).Reshape(rows, in)
	r := tensor.Zeros(2, rows, out) // ReLU outputs of both branches
	tensor.LinearActInto(r.Slice(0, 0, 1).Reshape(rows, out), p1, w1.Value, nil, tensor.ActReLU)
	tensor.LinearActInto(r.Slice(0, 1, 2).Reshape(rows, out), p2, w2.Value, nil, tensor.ActReLU)
	rd := r.Data()
	y := tensor.Zeros(n, b, out)
	yd := y.Data()
	half := len(yd)
	parallelRows(half, 1<<14, func(lo, hi int) {
		a, c, o := rd[lo:hi], rd[half+lo:half+hi], yd[lo:hi]
		c, o = c[:len(a)], o[:len(a)]
		for i, v := range a {
			o[i] = 0.5 * (v + c[i])
		}
	})
	return tp.Record(y, func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		gd := g.Contiguous().Data()
		// G = ½·g·[R > 0] for both branches, stacked like r.
		gz := make([]float32, 2*half)
		parallelRows(half, 1<<14, func(lo, hi int) {
			halfMasked(gz[lo:hi], rd[lo:hi], gd[lo:hi])
			halfMasked(gz[half+lo:half+hi], rd[half+lo:half+hi], gd[lo:hi])
		})
		g1 := tensor.FromSlice(gz[:half], rows, out)
		g2 := tensor.FromSlice(gz[half:], rows, out)
		res := make([]*tensor.Tensor, 3)
		if needs[0] {
			dp := tensor.Zeros(2*n, b*in) // [G1·W1; G2·W2], stacked like p
			tensor.MatMulInto(dp.Slice(0, 0, n).Reshape(rows, in), g1, w1.Value)
			tensor.MatMulInto(dp.Slice(0, n, 2*n).Reshape(rows, in), g2, w2.Value)
			res[0] = tensor.MatMulT(s, dp, true, false).Reshape(n, b, in)
		}
		if needs[1] {
			res[1] = tensor.MatMulT(g1, p1, true, false)
		}
		if needs[2] {
			res[2] = tensor.MatMulT(g2, p2, true, false)
		}
		return res
	}, h, w1, w2)
}

// halfMasked sets dst[i] = g[i]/2 where r[i] > 0 and 0 elsewhere (r a ReLU
// output), with a bit mask instead of a branch.
func halfMasked(dst, r, g []float32) {
	r, g = r[:len(dst)], g[:len(dst)]
	for i, v := range r {
		var m uint32
		if v > 0 {
			m = ^uint32(0)
		}
		dst[i] = 0.5 * math.Float32frombits(math.Float32bits(g[i])&m)
	}
}
