package hwaware

import (
	"fmt"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/gnn"
)

// Model is a differentiable per-sample function of the node matrix: x [B,
// N, V] in model space and the noise levels σ [B] give [B] values. It is
// the same method set as nag/guide's Regressor, so every Model (and the
// Objective built from them) can be passed to guide.Hook.
type Model interface {
	Predict(c gnn.Ctx, x *autograd.Var, sigma []float32) *autograd.Var
	Params() []*autograd.Var
}

// Constraint is one hardware budget: cost(x) ≤ Budget, in Cost's unit.
type Constraint struct {
	// Name labels the constraint in logs ("edgegpu latency").
	Name string
	Cost Model
	// Budget is the largest allowed cost (> 0).
	Budget float64
	// Scale weighs the penalty relu(cost/Budget − 1) (the relative
	// violation, so one scale fits any unit and device).
	Scale float64
}

// Objective is the multi-objective guidance target
//
//	f(x, σ) = AccScale·acc(x, σ) − Σ_k Scale_k·relu(cost_k(x, σ)/Budget_k − 1)
//
// whose input gradient, added to the score (guide.Hook with scale 1), is
// scale_acc·∂acc/∂x − Σ scale_k·∂relu(cost_k/budget_k − 1)/∂x. With Acc nil
// it only pushes samples under the budgets; with no constraints it is
// accuracy-only guidance with scale AccScale.
type Objective struct {
	Acc         Model
	AccScale    float64
	Constraints []Constraint
}

// Validate checks budgets and scales.
func (o *Objective) Validate() error {
	if o.Acc == nil && len(o.Constraints) == 0 {
		return fmt.Errorf("objective: no accuracy term and no constraint")
	}
	for _, c := range o.Constraints {
		if c.Cost == nil {
			return fmt.Errorf("objective: constraint %q has no cost model", c.Name)
		}
		if !(c.Budget > 0) {
			return fmt.Errorf("objective: constraint %q: budget %g must be positive", c.Name, c.Budget)
		}
		if !(c.Scale >= 0) {
			return fmt.Errorf("objective: constraint %q: scale %g must be >= 0", c.Name, c.Scale)
		}
	}
	return nil
}

// Predict returns f(x, σ) [B].
func (o *Objective) Predict(c gnn.Ctx, x *autograd.Var, sigma []float32) *autograd.Var {
	tp := c.Tape
	var f *autograd.Var
	if o.Acc != nil && o.AccScale != 0 {
		f = tp.Scale(o.Acc.Predict(c, x, sigma), float32(o.AccScale))
	}
	for _, k := range o.Constraints {
		if k.Scale == 0 {
			continue
		}
		v := tp.ReLU(tp.AddScalar(tp.Scale(k.Cost.Predict(c, x, sigma), float32(1/k.Budget)), -1))
		pen := tp.Scale(v, float32(-k.Scale))
		if f == nil {
			f = pen
		} else {
			f = tp.Add(f, pen)
		}
	}
	if f == nil {
		return autograd.Const(zeros(x.Shape()[0]))
	}
	return f
}

// Params lists the parameters of all terms (to freeze while guiding).
func (o *Objective) Params() []*autograd.Var {
	var ps []*autograd.Var
	if o.Acc != nil {
		ps = append(ps, o.Acc.Params()...)
	}
	for _, k := range o.Constraints {
		ps = append(ps, k.Cost.Params()...)
	}
	return ps
}
