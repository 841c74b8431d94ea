package autograd

import "github.com/nagml/nag/tensor"

// Dropout zeroes each element of a with probability p and scales the rest by
// 1/(1-p) when train is set (inverted dropout, drawing from rng). In eval
// mode, or with p == 0, it returns a unchanged.
func (tp *Tape) Dropout(a *Var, p float32, rng *tensor.RNG, train bool) *Var {
	if !train || p == 0 {
		return a
	}
	mask := tensor.DropoutMask(rng, p, a.Shape()...)
	return tp.Record(tensor.Mul(a.Value, mask), func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Mul(g, mask)}
	}, a)
}
