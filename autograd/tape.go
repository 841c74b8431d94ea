// Package autograd is a define-by-run reverse-mode automatic differentiation
// engine over tensor operations.
//
// A Tape records every operation applied to Vars while it is live. Backward
// walks the record in reverse and accumulates gradients into the Grad field
// of every leaf that requires one (parameters); Grad returns gradients with
// respect to arbitrary Vars (for example the input x of a predictor, which is
// what predictor guidance needs) without touching parameter gradients.
//
// A nil *Tape is the no-grad mode: every op still computes its value but
// nothing is recorded, so sampling code passes nil and pays nothing.
//
// Each op lives in its own file with its forward and backward side by side,
// and every op has a finite-difference gradient check (gradcheck.go).
package autograd

import (
	"fmt"

	"github.com/nagml/nag/tensor"
)

// Var is a tensor value in a computation, optionally requiring a gradient.
type Var struct {
	// Value is the forward value.
	Value *tensor.Tensor
	// Grad is the gradient accumulated by Tape.Backward (leaves only). It is
	// nil until the first backward pass that reaches this Var.
	Grad *tensor.Tensor
	// Name is an optional label (parameter name in checkpoints, debugging).
	Name string

	requiresGrad bool
	node         *node
}

// node records how a Var was computed.
type node struct {
	inputs []*Var
	// backward maps the gradient of the output to gradients of the inputs.
	// needs[i] tells whether input i needs a gradient; entries of the result
	// for inputs that do not need one may be nil.
	backward func(gout *tensor.Tensor, needs []bool) []*tensor.Tensor
}

// NewVar wraps a tensor as a leaf. requiresGrad marks it as a parameter or an
// input whose gradient is wanted.
func NewVar(t *tensor.Tensor, requiresGrad bool) *Var {
	return &Var{Value: t, requiresGrad: requiresGrad}
}

// Param wraps a tensor as a named leaf that requires a gradient.
func Param(name string, t *tensor.Tensor) *Var {
	return &Var{Value: t, Name: name, requiresGrad: true}
}

// Const wraps a tensor as a leaf without gradient.
func Const(t *tensor.Tensor) *Var { return &Var{Value: t} }

// RequiresGrad reports whether gradients flow to or through this Var.
func (v *Var) RequiresGrad() bool { return v.requiresGrad }

// SetRequiresGrad changes whether a leaf requires a gradient.
func (v *Var) SetRequiresGrad(b bool) { v.requiresGrad = b }

// Shape is v.Value.Shape().
func (v *Var) Shape() []int { return v.Value.Shape() }

// ZeroGrad drops the accumulated gradient.
func (v *Var) ZeroGrad() { v.Grad = nil }

// Detach returns a leaf sharing v's value, cut off from the graph.
func (v *Var) Detach() *Var { return &Var{Value: v.Value, Name: v.Name} }

// Tape records operations for reverse-mode differentiation. A nil *Tape
// records nothing (no-grad mode). A Tape is not safe for concurrent use.
type Tape struct {
	record []*Var
}

// NewTape returns an empty tape.
func NewTape() *Tape { return &Tape{} }

// Len is the number of recorded operations.
func (tp *Tape) Len() int {
	if tp == nil {
		return 0
	}
	return len(tp.record)
}

// Reset forgets all recorded operations so the tape can be reused.
func (tp *Tape) Reset() {
	if tp != nil {
		for i := range tp.record {
			tp.record[i] = nil
		}
		tp.record = tp.record[:0]
	}
}

// Record creates the output Var of an op. When the tape is nil or no input
// requires a gradient, the output is a plain constant and backward is
// dropped. Op implementations (also outside this package, for fused ops)
// call Record with their forward value and a backward closure.
func (tp *Tape) Record(value *tensor.Tensor, backward func(gout *tensor.Tensor, needs []bool) []*tensor.Tensor, inputs ...*Var) *Var {
	out := &Var{Value: value}
	if tp == nil {
		return out
	}
	any := false
	for _, in := range inputs {
		if in.requiresGrad {
			any = true
			break
		}
	}
	if !any {
		return out
	}
	out.requiresGrad = true
	out.node = &node{inputs: inputs, backward: backward}
	tp.record = append(tp.record, out)
	return out
}

// Backward computes the gradient of out (which must hold a single element,
// e.g. a loss) with respect to every leaf that requires a gradient and adds
// it to the leaf's Grad. Gradients accumulate across calls until ZeroGrad.
func (tp *Tape) Backward(out *Var) error {
	if out.Value.Len() != 1 {
		return fmt.Errorf("autograd: Backward needs a scalar output, got shape %v", out.Shape())
	}
	return tp.BackwardWith(out, tensor.Full(1, out.Shape()...))
}

// BackwardWith is Backward with an explicit output gradient (same shape as out).
func (tp *Tape) BackwardWith(out *Var, gout *tensor.Tensor) error {
	grads, err := tp.propagate(out, gout)
	if err != nil {
		return err
	}
	for v, g := range grads {
		if v.node != nil || !v.requiresGrad {
			continue
		}
		if v.Grad == nil {
			v.Grad = g.Clone()
		} else {
			tensor.AddInPlace(v.Grad, g)
		}
	}
	return nil
}

// Grad returns d(sum of out)/d(input) for each input (a nil entry if the
// input does not influence out). Leaf Grad fields are left untouched, so
// Grad can be used for input gradients in the middle of training.
func (tp *Tape) Grad(out *Var, inputs ...*Var) ([]*tensor.Tensor, error) {
	return tp.GradWith(out, tensor.Full(1, out.Shape()...), inputs...)
}

// GradWith is Grad with an explicit output gradient.
//
// Only the part of the tape between the inputs and out is differentiated:
// gradients of parameters and of other leaves that do not lead to an input
// are not computed (the input gradient of a predictor with trainable weights
// costs no weight gradients).
func (tp *Tape) GradWith(out *Var, gout *tensor.Tensor, inputs ...*Var) ([]*tensor.Tensor, error) {
	grads, err := tp.propagateTo(out, gout, tp.dependents(inputs))
	if err != nil {
		return nil, err
	}
	res := make([]*tensor.Tensor, len(inputs))
	for i, in := range inputs {
		res[i] = grads[in]
	}
	return res, nil
}

// dependents returns the set of the inputs and of every recorded Var
// computed from one of them (the record is in topological order, so one pass
// suffices).
func (tp *Tape) dependents(inputs []*Var) map[*Var]bool {
	dep := make(map[*Var]bool, len(inputs))
	for _, in := range inputs {
		if in != nil {
			dep[in] = true
		}
	}
	if tp == nil {
		return dep
	}
	for _, v := range tp.record {
		for _, in := range v.node.inputs {
			if dep[in] {
				dep[v] = true
				break
			}
		}
	}
	return dep
}

func (tp *Tape) propagate(out *Var, gout *tensor.Tensor) (map[*Var]*tensor.Tensor, error) {
	return tp.propagateTo(out, gout, nil)
}

// propagateTo runs the backward pass from out. With only non-nil, gradients
// flow only into the Vars of that set (the dependents of the wanted inputs);
// nil means every Var that requires a gradient.
func (tp *Tape) propagateTo(out *Var, gout *tensor.Tensor, only map[*Var]bool) (map[*Var]*tensor.Tensor, error) {
	if tp == nil {
		return nil, fmt.Errorf("autograd: backward on a nil (no-grad) tape")
	}
	if !tensor.EqualInts(gout.Shape(), out.Shape()) {
		return nil, fmt.Errorf("autograd: output gradient shape %v, output shape %v", gout.Shape(), out.Shape())
	}
	grads := map[*Var]*tensor.Tensor{}
	if !out.requiresGrad {
		return grads, nil
	}
	grads[out] = gout
	// The record is in creation order, which is a topological order; walk it
	// backwards from out.
	start := -1
	for i := len(tp.record) - 1; i >= 0; i-- {
		if tp.record[i] == out {
			start = i
			break
		}
	}
	if start < 0 && out.node != nil {
		return nil, fmt.Errorf("autograd: output was not recorded on this tape")
	}
	for i := start; i >= 0; i-- {
		v := tp.record[i]
		g, ok := grads[v]
		if !ok {
			continue
		}
		if only != nil && !only[v] {
			continue
		}
		needs := make([]bool, len(v.node.inputs))
		anyNeed := false
		for j, in := range v.node.inputs {
			needs[j] = in.requiresGrad && (only == nil || only[in])
			anyNeed = anyNeed || needs[j]
		}
		if !anyNeed {
			continue // e.g. an input of GradWith that is itself computed
		}
		gin := v.node.backward(g, needs)
		for j, in := range v.node.inputs {
			if !needs[j] || gin[j] == nil {
				continue
			}
			if !tensor.EqualInts(gin[j].Shape(), in.Shape()) {
				return nil, fmt.Errorf("autograd: internal error: gradient shape %v for input shape %v", gin[j].Shape(), in.Shape())
			}
			if prev, ok := grads[in]; ok {
				// Never mutate a gradient we did not allocate ourselves.
				grads[in] = tensor.Add(prev, gin[j])
			} else {
				grads[in] = gin[j]
			}
		}
	}
	return grads, nil
}
