package autograd

import (
	"fmt"

	"github.com/nagml/nag/tensor"
)

// MSE returns the scalar mean squared error mean((pred − target)²) over all
// elements (torch.nn.functional.mse_loss with reduction 'mean'). pred and
// target must have the same shape; both may require gradients.
func (tp *Tape) MSE(pred, target *Var) *Var {
	if !tensor.EqualInts(pred.Shape(), target.Shape()) {
		panic(fmt.Sprintf("autograd: MSE shapes %v and %v differ", pred.Shape(), target.Shape()))
	}
	pd, td := pred.Value.Contiguous().Data(), target.Value.Contiguous().Data()
	n := len(pd)
	var s float64
	for i, p := range pd {
		d := float64(p) - float64(td[i])
		s += d * d
	}
	loss := float32(0)
	if n > 0 {
		loss = float32(s / float64(n))
	}
	return tp.Record(tensor.Scalar(loss), func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		c := 2 * g.Item() / float32(n)
		diff := tensor.Zeros(pred.Shape()...)
		dd := diff.Data()
		for i, p := range pd {
			dd[i] = c * (p - td[i])
		}
		res := make([]*tensor.Tensor, 2)
		if needs[0] {
			res[0] = diff
		}
		if needs[1] {
			res[1] = tensor.Scale(diff, -1)
		}
		return res
	}, pred, target)
}
