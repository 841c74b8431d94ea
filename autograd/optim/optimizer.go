package optim

import (
	"fmt"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/tensor"
)

// Optimizer runs the reference training step: warm-up learning rate,
// global-norm clipping, Adam and (optionally) the EMA update.
type Optimizer struct {
	cfg  Config
	adam *Adam
	ema  *EMA
}

// StepStats describes one optimiser step.
type StepStats struct {
	// Step is the index of the step just taken (0 for the first).
	Step int64
	// LR is the learning rate used (after warm-up).
	LR float64
	// GradNorm is the global gradient norm before clipping.
	GradNorm float64
	// Clipped tells whether the gradients were scaled down.
	Clipped bool
}

// New returns an optimiser over params (unique non-empty names, contiguous
// values) configured by cfg. The EMA shadow, if cfg.EMADecay > 0, starts as
// a copy of the current parameter values.
func New(params []*autograd.Var, cfg Config) (*Optimizer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a, err := NewAdam(params, cfg.Beta1, cfg.Beta2, cfg.Eps, cfg.WeightDecay)
	if err != nil {
		return nil, err
	}
	o := &Optimizer{cfg: cfg, adam: a}
	if cfg.EMADecay > 0 {
		if o.ema, err = NewEMA(params, cfg.EMADecay); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// Config returns the optimiser's configuration.
func (o *Optimizer) Config() Config { return o.cfg }

// Adam returns the underlying Adam optimiser.
func (o *Optimizer) Adam() *Adam { return o.adam }

// EMA returns the parameter average, or nil when the EMA is disabled.
func (o *Optimizer) EMA() *EMA { return o.ema }

// Steps is the number of steps taken.
func (o *Optimizer) Steps() int64 { return o.adam.steps }

// Params returns the parameters being optimised.
func (o *Optimizer) Params() []*autograd.Var { return o.adam.params }

// ZeroGrad drops the gradients of all parameters.
func (o *Optimizer) ZeroGrad() {
	for _, p := range o.adam.params {
		p.ZeroGrad()
	}
}

// LR returns the learning rate the next step will use.
func (o *Optimizer) LR() float64 { return WarmupLR(o.cfg.LR, o.adam.steps, o.cfg.Warmup) }

// Step clips the gradients, applies Adam with the warm-up learning rate and
// updates the EMA. On a NaN or infinite gradient norm it changes nothing and
// returns an error wrapping ErrNonFinite that names the step.
func (o *Optimizer) Step() (StepStats, error) {
	st := StepStats{Step: o.adam.steps, LR: o.LR()}
	if o.ema != nil && o.ema.swapped {
		return st, fmt.Errorf("optim: step %d: the EMA weights are swapped in; swap them back first", st.Step)
	}
	norm, err := ClipGradNorm(o.adam.params, o.cfg.GradClip)
	st.GradNorm = norm
	if err != nil {
		return st, fmt.Errorf("step %d: %w", st.Step, err)
	}
	st.Clipped = o.cfg.GradClip > 0 && o.cfg.GradClip/(norm+1e-6) < 1
	if err := o.adam.step(st.LR, o.ema); err != nil {
		return st, fmt.Errorf("step %d: %w", st.Step, err)
	}
	return st, nil
}

// NamedTensor is a tensor with a name, the unit of optimiser state.
type NamedTensor struct {
	Name   string
	Tensor *tensor.Tensor
}

// State is the optimiser's complete mutable state. Tensors are named
// "adam.m.<param>", "adam.v.<param>" and "ema.<param>" (parameter names as
// given to New), in parameter order.
type State struct {
	// Steps is the number of Adam steps taken.
	Steps int64
	// EMAUpdates is the number of EMA updates (0 without an EMA).
	EMAUpdates int64
	// Tensors holds the moments and the EMA shadow.
	Tensors []NamedTensor
}

// State returns the optimiser state. The tensors are the live ones (not
// copies): write them out before the next step. While the EMA is swapped in,
// State reports the averaged weights under "ema.*" all the same.
func (o *Optimizer) State() State {
	s := State{Steps: o.adam.steps}
	for i, p := range o.adam.params {
		s.Tensors = append(s.Tensors, NamedTensor{"adam.m." + p.Name, o.adam.m[i]}, NamedTensor{"adam.v." + p.Name, o.adam.v[i]})
	}
	if o.ema != nil {
		s.EMAUpdates = o.ema.updates
		for i, p := range o.ema.params {
			t := o.ema.shadow[i]
			if o.ema.swapped {
				t = p.Value
			}
			s.Tensors = append(s.Tensors, NamedTensor{"ema." + p.Name, t})
		}
	}
	return s
}

// StateNames lists the tensor names State reports, in order.
func (o *Optimizer) StateNames() []string {
	var names []string
	for _, nt := range o.State().Tensors {
		names = append(names, nt.Name)
	}
	return names
}

// LoadState restores a state produced by State (possibly from a checkpoint).
// The tensor set must match exactly (same names and shapes); nothing is
// changed when it does not. The EMA must not be swapped in.
func (o *Optimizer) LoadState(s State) error {
	if o.ema != nil && o.ema.swapped {
		return fmt.Errorf("optim: load state while the EMA weights are swapped in")
	}
	if s.Steps < 0 || s.EMAUpdates < 0 {
		return fmt.Errorf("optim: negative step counts in state (%d, %d)", s.Steps, s.EMAUpdates)
	}
	if o.ema == nil && s.EMAUpdates != 0 {
		return fmt.Errorf("optim: state has %d EMA updates but this optimiser has no EMA", s.EMAUpdates)
	}
	want := o.State().Tensors
	got := make(map[string]*tensor.Tensor, len(s.Tensors))
	for _, nt := range s.Tensors {
		if _, dup := got[nt.Name]; dup {
			return fmt.Errorf("optim: state tensor %q appears twice", nt.Name)
		}
		got[nt.Name] = nt.Tensor
	}
	for _, w := range want {
		g, ok := got[w.Name]
		if !ok {
			return fmt.Errorf("optim: state lacks tensor %q", w.Name)
		}
		if g == nil || !tensor.EqualInts(g.Shape(), w.Tensor.Shape()) {
			var sh []int
			if g != nil {
				sh = g.Shape()
			}
			return fmt.Errorf("optim: state tensor %q has shape %v, want %v", w.Name, sh, w.Tensor.Shape())
		}
		delete(got, w.Name)
	}
	for name := range got {
		return fmt.Errorf("optim: state has unexpected tensor %q (not a parameter of this optimiser)", name)
	}
	byName := make(map[string]*tensor.Tensor, len(s.Tensors))
	for _, nt := range s.Tensors {
		byName[nt.Name] = nt.Tensor
	}
	for _, w := range want {
		w.Tensor.CopyFrom(byName[w.Name])
	}
	o.adam.steps = s.Steps
	if o.ema != nil {
		o.ema.updates = s.EMAUpdates
	}
	return nil
}
