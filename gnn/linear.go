package gnn

import (
	"fmt"
	"math"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/tensor"
)

// Linear is y = x·Wᵀ + b with W [out, in] (PyTorch layout) and b [out].
type Linear struct {
	// Weight is [Out, In]; Bias is [Out] or nil.
	Weight, Bias *autograd.Var
	In, Out      int
}

// NewLinear returns a Linear layer named name (parameters name.weight and
// name.bias) with PyTorch's default initialisation drawn from rng (weight
// first, then bias).
func NewLinear(name string, in, out int, bias bool, rng *tensor.RNG) *Linear {
	return NewLinearInit(name, in, out, bias, InitTorchDefault, rng)
}

// NewLinearInit is NewLinear with an explicit initialisation scheme.
func NewLinearInit(name string, in, out int, bias bool, init Init, rng *tensor.RNG) *Linear {
	if in <= 0 || out <= 0 {
		panic(fmt.Sprintf("gnn: Linear %q with in=%d out=%d", name, in, out))
	}
	w := tensor.Zeros(out, in)
	switch init {
	case InitTorchDefault:
		KaimingUniform(rng, w, in, math.Sqrt(5))
	case InitXavierUniform:
		XavierUniform(rng, w, in, out)
	default:
		panic(fmt.Sprintf("gnn: Linear %q: unknown init %v", name, init))
	}
	l := &Linear{Weight: autograd.Param(JoinName(name, "weight"), w), In: in, Out: out}
	if bias {
		b := tensor.Zeros(out)
		if init == InitTorchDefault {
			UniformFanIn(rng, b, in)
		}
		l.Bias = autograd.Param(JoinName(name, "bias"), b)
	}
	return l
}

// Params implements Module.
func (l *Linear) Params() []*autograd.Var {
	if l.Bias == nil {
		return []*autograd.Var{l.Weight}
	}
	return []*autograd.Var{l.Weight, l.Bias}
}

// Forward maps x [..., In] to [..., Out].
func (l *Linear) Forward(c Ctx, x *autograd.Var) *autograd.Var {
	if x.Value.Dim(-1) != l.In {
		panic(fmt.Sprintf("gnn: Linear %s expects [..., %d], got %v", l.Weight.Name, l.In, x.Shape()))
	}
	return c.Tape.Linear(x, l.Weight, l.Bias)
}
