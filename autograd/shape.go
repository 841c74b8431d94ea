package autograd

import "github.com/nagml/nag/tensor"

// Reshape returns a with a new shape (one dimension may be -1).
func (tp *Tape) Reshape(a *Var, shape ...int) *Var {
	return tp.Record(a.Value.Reshape(shape...), func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		return []*tensor.Tensor{g.Reshape(a.Shape()...)}
	}, a)
}

// Permute reorders the axes of a (out.shape[i] = a.shape[axes[i]]); the
// value is a view.
func (tp *Tape) Permute(a *Var, axes ...int) *Var {
	out := a.Value.Permute(axes...)
	return tp.Record(out, func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		inv := make([]int, len(axes))
		for i, ax := range axes {
			if ax < 0 {
				ax += len(axes)
			}
			inv[ax] = i
		}
		return []*tensor.Tensor{g.Permute(inv...).Contiguous()}
	}, a)
}

// Transpose swaps axes i and j of a (a view).
func (tp *Tape) Transpose(a *Var, i, j int) *Var {
	return tp.Record(a.Value.Transpose(i, j), func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		return []*tensor.Tensor{g.Transpose(i, j).Contiguous()}
	}, a)
}

// Slice returns a[..., start:end, ...] along axis (a view).
func (tp *Tape) Slice(a *Var, axis, start, end int) *Var {
	return tp.Record(a.Value.Slice(axis, start, end), func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		r := tensor.Zeros(a.Shape()...)
		tensor.Assign(r.Slice(axis, start, end), g)
		return []*tensor.Tensor{r}
	}, a)
}

// Concat joins the inputs along axis.
func (tp *Tape) Concat(axis int, vs ...*Var) *Var {
	ts := make([]*tensor.Tensor, len(vs))
	for i, v := range vs {
		ts[i] = v.Value
	}
	out := tensor.Concat(axis, ts...)
	axis = opAxis(axis, out.Rank())
	return tp.Record(out, func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		res := make([]*tensor.Tensor, len(vs))
		pos := 0
		for i, v := range vs {
			w := v.Shape()[axis]
			if needs[i] {
				res[i] = g.Slice(axis, pos, pos+w).Contiguous()
			}
			pos += w
		}
		return res
	}, vs...)
}

// Stack joins equally shaped inputs along a new axis.
func (tp *Tape) Stack(axis int, vs ...*Var) *Var {
	ts := make([]*tensor.Tensor, len(vs))
	for i, v := range vs {
		ts[i] = v.Value
	}
	out := tensor.Stack(axis, ts...)
	axis = opAxis(axis, out.Rank())
	return tp.Record(out, func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		res := make([]*tensor.Tensor, len(vs))
		for i, v := range vs {
			if needs[i] {
				res[i] = g.Slice(axis, i, i+1).Reshape(v.Shape()...)
			}
		}
		return res
	}, vs...)
}
