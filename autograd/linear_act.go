package autograd

import (
	"fmt"

	"github.com/nagml/nag/tensor"
)

// LinearAct is act(x·wᵀ + b) as one op: the forward runs a single GEMM with a
// fused bias-and-activation epilogue (tensor.LinearAct). ReLU and ELU
// backpropagate from the output alone; SiLU keeps the pre-activation.
func (tp *Tape) LinearAct(x, w, b *Var, act tensor.Act) *Var {
	var bt *tensor.Tensor
	if b != nil {
		bt = b.Value
	}
	var y, z *tensor.Tensor
	if act == tensor.ActSiLU {
		z = tensor.Linear(x.Value, w.Value, bt)
		y = tensor.SiLU(z)
	} else {
		y = tensor.LinearAct(x.Value, w.Value, bt, act)
	}
	inputs := []*Var{x, w}
	if b != nil {
		inputs = append(inputs, b)
	}
	return tp.Record(y, func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		var gz *tensor.Tensor
		switch act {
		case tensor.ActNone:
			gz = g
		case tensor.ActReLU:
			gz = tensor.ReLUGrad(y, g) // y > 0 exactly where the pre-activation is > 0
		case tensor.ActELU:
			gz = eluGradFromOutput(y, g)
		case tensor.ActSiLU:
			gz = tensor.SiLUGrad(z, g)
		default:
			panic(fmt.Sprintf("autograd: LinearAct with unknown activation %d", act))
		}
		return linearBackward(gz, x, w, b, needs)
	}, inputs...)
}

// eluGradFromOutput is g·dELU/dz written in terms of y = ELU(z) (alpha 1):
// 1 where y > 0, y + 1 = exp(z) elsewhere.
func eluGradFromOutput(y, g *tensor.Tensor) *tensor.Tensor {
	out := tensor.Zeros(y.Shape()...)
	tensor.ELUGradFromOutput(out.Data(), y.Contiguous().Data(), g.Contiguous().Data())
	return out
}

// linearBackward returns the gradients of y = x·wᵀ + b for upstream gz.
func linearBackward(gz *tensor.Tensor, x, w, b *Var, needs []bool) []*tensor.Tensor {
	out := make([]*tensor.Tensor, len(needs))
	in, o := w.Value.Dim(1), w.Value.Dim(0)
	g2 := gz.Contiguous().Reshape(-1, o)
	if needs[0] {
		out[0] = tensor.MatMul(g2, w.Value).Reshape(x.Shape()...)
	}
	if needs[1] {
		x2 := x.Value.Contiguous().Reshape(-1, in)
		out[1] = tensor.MatMulT(g2, x2, true, false)
	}
	if b != nil && needs[2] {
		out[2] = tensor.Sum(g2, 0, false)
	}
	return out
}
