package autograd

import "github.com/nagml/nag/tensor"

// Gather selects entries idx along axis of a (index_select).
func (tp *Tape) Gather(a *Var, axis int, idx []int) *Var {
	return tp.Record(tensor.Gather(a.Value, axis, idx), func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		r := tensor.Zeros(a.Shape()...)
		tensor.IndexAdd(r, axis, idx, g)
		return []*tensor.Tensor{r}
	}, a)
}

// Embedding returns the rows of w [V, D] selected by ids ([len(ids), D]);
// the gradient accumulates into the selected rows of w.
func (tp *Tape) Embedding(w *Var, ids []int) *Var {
	return tp.Record(tensor.Embedding(w.Value, ids), func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		r := tensor.Zeros(w.Shape()...)
		tensor.IndexAdd(r, 0, ids, g)
		return []*tensor.Tensor{r}
	}, w)
}

// MaskedFill returns a with v wherever mask (broadcast to a) is nonzero; no
// gradient flows to the filled positions.
func (tp *Tape) MaskedFill(a *Var, mask *tensor.Tensor, v float32) *Var {
	return tp.Record(tensor.MaskedFill(a.Value, mask, v), func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.MaskedFill(g, mask, 0)}
	}, a)
}
