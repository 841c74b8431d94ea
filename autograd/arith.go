package autograd

import "github.com/nagml/nag/tensor"

// Add returns a + b with broadcasting.
func (tp *Tape) Add(a, b *Var) *Var {
	return tp.Record(tensor.Add(a.Value, b.Value), func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		res := make([]*tensor.Tensor, 2)
		if needs[0] {
			res[0] = tensor.ReduceTo(g, a.Shape())
		}
		if needs[1] {
			res[1] = tensor.ReduceTo(g, b.Shape())
		}
		return res
	}, a, b)
}

// Sub returns a - b with broadcasting.
func (tp *Tape) Sub(a, b *Var) *Var {
	return tp.Record(tensor.Sub(a.Value, b.Value), func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		res := make([]*tensor.Tensor, 2)
		if needs[0] {
			res[0] = tensor.ReduceTo(g, a.Shape())
		}
		if needs[1] {
			res[1] = tensor.ReduceTo(tensor.Neg(g), b.Shape())
		}
		return res
	}, a, b)
}

// Mul returns the element-wise product a * b with broadcasting.
func (tp *Tape) Mul(a, b *Var) *Var {
	return tp.Record(tensor.Mul(a.Value, b.Value), func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		res := make([]*tensor.Tensor, 2)
		if needs[0] {
			res[0] = tensor.ReduceTo(tensor.Mul(g, b.Value), a.Shape())
		}
		if needs[1] {
			res[1] = tensor.ReduceTo(tensor.Mul(g, a.Value), b.Shape())
		}
		return res
	}, a, b)
}

// Div returns the element-wise quotient a / b with broadcasting.
func (tp *Tape) Div(a, b *Var) *Var {
	out := tensor.Div(a.Value, b.Value)
	return tp.Record(out, func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		res := make([]*tensor.Tensor, 2)
		gb := tensor.Div(g, b.Value) // g / b
		if needs[0] {
			res[0] = tensor.ReduceTo(gb, a.Shape())
		}
		if needs[1] {
			// d(a/b)/db = -(a/b)/b
			t := tensor.Mul(gb, out)
			res[1] = tensor.ReduceTo(tensor.ScaleInto(t, t, -1), b.Shape())
		}
		return res
	}, a, b)
}

// Scale returns a * s.
func (tp *Tape) Scale(a *Var, s float32) *Var {
	return tp.Record(tensor.Scale(a.Value, s), func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Scale(g, s)}
	}, a)
}

// AddScalar returns a + s.
func (tp *Tape) AddScalar(a *Var, s float32) *Var {
	return tp.Record(tensor.AddScalar(a.Value, s), func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		return []*tensor.Tensor{g}
	}, a)
}

// Neg returns -a.
func (tp *Tape) Neg(a *Var) *Var {
	return tp.Record(tensor.Neg(a.Value), func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Neg(g)}
	}, a)
}

// Exp returns e^a.
func (tp *Tape) Exp(a *Var) *Var {
	out := tensor.Exp(a.Value)
	return tp.Record(out, func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Mul(g, out)}
	}, a)
}

// Log returns the natural logarithm of a.
func (tp *Tape) Log(a *Var) *Var {
	return tp.Record(tensor.Log(a.Value), func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Div(g, a.Value)}
	}, a)
}

// Sqrt returns the square root of a.
func (tp *Tape) Sqrt(a *Var) *Var {
	out := tensor.Sqrt(a.Value)
	return tp.Record(out, func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Div(tensor.Scale(g, 0.5), out)}
	}, a)
}

// Square returns a².
func (tp *Tape) Square(a *Var) *Var {
	return tp.Record(tensor.Square(a.Value), func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		r := tensor.Mul(g, a.Value)
		return []*tensor.Tensor{tensor.ScaleInto(r, r, 2)}
	}, a)
}

// Abs returns |a|; its gradient at 0 is taken as 0.
func (tp *Tape) Abs(a *Var) *Var {
	return tp.Record(tensor.Abs(a.Value), func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		x := a.Value.Contiguous().Data()
		r := g.Clone()
		rd := r.Data()
		for i, v := range x {
			switch {
			case v < 0:
				rd[i] = -rd[i]
			case v == 0:
				rd[i] = 0
			}
		}
		return []*tensor.Tensor{r}
	}, a)
}
