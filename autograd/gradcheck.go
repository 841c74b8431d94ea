package autograd

import (
	"fmt"
	"math"

	"github.com/nagml/nag/tensor"
)

// GradCheckOptions controls CheckGrad.
type GradCheckOptions struct {
	// Eps is the central-difference step (default 1e-2; the function is
	// evaluated in float32, so the step must not be tiny).
	Eps float64
	// Tol is the bound on |analytic - numeric| / max(1, |analytic|, |numeric|)
	// (default 2e-2). Central differences on float32 with eps 1e-2 give
	// errors around 1e-3 for smooth ops, so 2e-2 catches every real bug
	// (wrong sign, missing factor, wrong axis) while tolerating rounding.
	Tol float64
}

// CheckGrad compares the gradients computed by the tape with central finite
// differences. f builds a scalar-valued computation from the inputs on the
// given tape (it is called with a nil tape for the numeric evaluations); the
// check perturbs every element of every input. It returns an error naming the
// first input and element whose gradient disagrees.
//
// To turn a non-scalar op into a scalar, f should take a weighted sum with
// fixed random weights (see WeightedSum), which exercises every output
// element with a distinct upstream gradient.
func CheckGrad(f func(tp *Tape, in []*Var) *Var, inputs []*tensor.Tensor, opt GradCheckOptions) error {
	if opt.Eps == 0 {
		opt.Eps = 1e-2
	}
	if opt.Tol == 0 {
		opt.Tol = 2e-2
	}
	tp := NewTape()
	vars := make([]*Var, len(inputs))
	for i, t := range inputs {
		vars[i] = NewVar(t.Clone(), true)
	}
	out := f(tp, vars)
	if out.Value.Len() != 1 {
		return fmt.Errorf("gradcheck: f must return a scalar, got shape %v", out.Shape())
	}
	grads, err := tp.Grad(out, vars...)
	if err != nil {
		return err
	}
	eval := func() float64 {
		cv := make([]*Var, len(vars))
		for i, v := range vars {
			cv[i] = Const(v.Value)
		}
		return float64(f(nil, cv).Value.Item())
	}
	for i, v := range vars {
		d := v.Value.Data()
		for j := range d {
			orig := d[j]
			d[j] = orig + float32(opt.Eps)
			fp := eval()
			d[j] = orig - float32(opt.Eps)
			fm := eval()
			d[j] = orig
			num := (fp - fm) / (2 * opt.Eps)
			var ana float64
			if grads[i] != nil {
				ana = float64(grads[i].Contiguous().Data()[j])
			}
			scale := math.Max(1, math.Max(math.Abs(ana), math.Abs(num)))
			if e := math.Abs(ana-num) / scale; e > opt.Tol || math.IsNaN(e) {
				return fmt.Errorf("gradcheck: input %d element %d: analytic %.6g, numeric %.6g (rel err %.3g > %.3g)", i, j, ana, num, e, opt.Tol)
			}
		}
	}
	return nil
}
