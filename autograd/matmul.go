package autograd

import "github.com/nagml/nag/tensor"

// MatMul returns the (batched, broadcasting) matrix product a·b; see tensor.MatMul.
func (tp *Tape) MatMul(a, b *Var) *Var { return tp.MatMulT(a, b, false, false) }

// MatMulT returns op(a)·op(b), where op transposes the last two axes when
// the corresponding flag is set.
func (tp *Tape) MatMulT(a, b *Var, transA, transB bool) *Var {
	out := tensor.MatMulT(a.Value, b.Value, transA, transB)
	return tp.Record(out, func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		res := make([]*tensor.Tensor, 2)
		av, bv := a.Value, b.Value
		if needs[0] {
			var ga *tensor.Tensor
			if !transA {
				ga = tensor.MatMulT(g, bv, false, !transB)
			} else {
				ga = tensor.MatMulT(bv, g, transB, true)
			}
			res[0] = tensor.ReduceTo(ga, av.Shape())
		}
		if needs[1] {
			var gb *tensor.Tensor
			if bv.Rank() == 2 && av.Rank() > 2 && !transA {
				// Fold the batch into rows: b was shared by every batch entry.
				k, n := av.Dim(-1), g.Dim(-1)
				a2, g2 := av.Reshape(-1, k), g.Reshape(-1, n)
				if !transB {
					gb = tensor.MatMulT(a2, g2, true, false)
				} else {
					gb = tensor.MatMulT(g2, a2, true, false)
				}
			} else if !transB {
				gb = tensor.MatMulT(av, g, !transA, false)
			} else {
				gb = tensor.MatMulT(g, av, true, transA)
			}
			res[1] = tensor.ReduceTo(gb, bv.Shape())
		}
		return res
	}, a, b)
}

// Linear returns x·wᵀ + b for x [..., in], w [out, in] and b [out] (b may be nil).
func (tp *Tape) Linear(x, w, b *Var) *Var {
	var bt *tensor.Tensor
	inputs := []*Var{x, w}
	if b != nil {
		bt = b.Value
		inputs = append(inputs, b)
	}
	out := tensor.Linear(x.Value, w.Value, bt)
	return tp.Record(out, func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		res := make([]*tensor.Tensor, len(inputs))
		nOut := w.Value.Dim(0)
		g2 := g.Reshape(-1, nOut)
		if needs[0] {
			res[0] = tensor.MatMul(g2, w.Value).Reshape(x.Shape()...)
		}
		if needs[1] {
			res[1] = tensor.MatMulT(g2, x.Value.Reshape(-1, w.Value.Dim(1)), true, false)
		}
		if len(inputs) == 3 && needs[2] {
			res[2] = tensor.Sum(g2, 0, false)
		}
		return res
	}, inputs...)
}
