package autograd

import "github.com/nagml/nag/tensor"

// Softmax returns the softmax of a along axis.
func (tp *Tape) Softmax(a *Var, axis int) *Var {
	out := tensor.Softmax(a.Value, axis)
	return tp.Record(out, func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.SoftmaxGrad(out, g, axis)}
	}, a)
}

// LogSoftmax returns the log-softmax of a along axis.
func (tp *Tape) LogSoftmax(a *Var, axis int) *Var {
	out := tensor.LogSoftmax(a.Value, axis)
	return tp.Record(out, func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.LogSoftmaxGrad(out, g, axis)}
	}, a)
}
