package autograd

import "github.com/nagml/nag/tensor"

// ReLU returns max(a, 0).
func (tp *Tape) ReLU(a *Var) *Var {
	return tp.Record(tensor.ReLU(a.Value), func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.ReLUGrad(a.Value, g)}
	}, a)
}

// ReLU6 returns min(max(a, 0), 6).
func (tp *Tape) ReLU6(a *Var) *Var {
	return tp.Record(tensor.ReLU6(a.Value), func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.ReLU6Grad(a.Value, g)}
	}, a)
}

// SiLU returns a·sigmoid(a).
func (tp *Tape) SiLU(a *Var) *Var {
	return tp.Record(tensor.SiLU(a.Value), func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.SiLUGrad(a.Value, g)}
	}, a)
}

// Tanh returns tanh(a).
func (tp *Tape) Tanh(a *Var) *Var {
	out := tensor.Tanh(a.Value)
	return tp.Record(out, func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.TanhGrad(out, g)}
	}, a)
}

// Sigmoid returns 1/(1+e^-a).
func (tp *Tape) Sigmoid(a *Var) *Var {
	out := tensor.Sigmoid(a.Value)
	return tp.Record(out, func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.SigmoidGrad(out, g)}
	}, a)
}

// GELU returns the exact (erf) GELU of a.
func (tp *Tape) GELU(a *Var) *Var {
	return tp.Record(tensor.GELU(a.Value), func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.GELUGrad(a.Value, g)}
	}, a)
}

// ELU returns a for a > 0 and alpha·(e^a - 1) otherwise.
func (tp *Tape) ELU(a *Var, alpha float32) *Var {
	return tp.Record(tensor.ELU(a.Value, alpha), func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.ELUGrad(a.Value, g, alpha)}
	}, a)
}
