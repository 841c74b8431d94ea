package optim

import (
	"fmt"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/tensor"
)

// EMA keeps an exponential moving average ("shadow") of parameters. Each
// update n = 1, 2, ... uses decay d = min(Decay, (1+n)/(10+n)) and sets
// s = s - (1-d)*(s - p), as the reference does. The shadow starts as a copy
// of the parameters.
//
// For evaluation either Swap the shadow into the parameters (and Swap back
// before training continues) or CopyTo a separate model.
type EMA struct {
	// Decay is the asymptotic decay rate (0.9999 in the reference).
	Decay float64

	params  []*autograd.Var
	shadow  []*tensor.Tensor
	updates int64
	swapped bool
}

// NewEMA returns an EMA of params with the shadow initialised to their
// current values.
func NewEMA(params []*autograd.Var, decay float64) (*EMA, error) {
	if err := checkParams(params); err != nil {
		return nil, err
	}
	if !(decay >= 0 && decay < 1) {
		return nil, fmt.Errorf("optim: EMA decay %v must be in [0, 1)", decay)
	}
	e := &EMA{Decay: decay, params: params}
	for _, p := range params {
		e.shadow = append(e.shadow, p.Value.Clone())
	}
	return e, nil
}

// Updates is the number of updates applied.
func (e *EMA) Updates() int64 { return e.updates }

// Shadow returns the averaged tensors, in parameter order. While swapped in,
// they hold the training weights instead.
func (e *EMA) Shadow() []*tensor.Tensor { return e.shadow }

// nextDecay is the decay the next update uses.
func (e *EMA) nextDecay() float64 {
	n := float64(e.updates + 1)
	d := (1 + n) / (10 + n)
	if e.Decay < d {
		d = e.Decay
	}
	return d
}

// NextDecay returns the decay the next Update will use.
func (e *EMA) NextDecay() float64 { return e.nextDecay() }

// Update moves the shadow toward the current parameters. Optimizer and
// Adam.StepEMA do this inside the Adam sweep; Update is for other training
// loops.
func (e *EMA) Update() error {
	if e.swapped {
		return fmt.Errorf("optim: EMA update while the EMA weights are swapped in")
	}
	rate := float32(1 - e.nextDecay())
	e.updates++
	for i, p := range e.params {
		emaSweep(e.shadow[i].Data(), p.Value.Data(), rate)
	}
	return nil
}

func emaSweep(s, p []float32, rate float32) {
	s = s[:len(p)]
	for j := range p {
		s[j] -= rate * (s[j] - p[j])
	}
}

// Swap exchanges the parameter values and the shadow in place (element by
// element, so every holder of the parameter tensors sees the change). Call it
// once to evaluate with the EMA weights and again to restore the training
// weights.
func (e *EMA) Swap() {
	for i, p := range e.params {
		pd, sd := p.Value.Data(), e.shadow[i].Data()
		sd = sd[:len(pd)]
		for j := range pd {
			pd[j], sd[j] = sd[j], pd[j]
		}
	}
	e.swapped = !e.swapped
}

// Swapped reports whether the EMA weights are currently in the parameters.
func (e *EMA) Swapped() bool { return e.swapped }

// CopyTo copies the EMA weights into dst (for example the parameters of a
// separate evaluation model), matching by position; shapes must agree. It
// copies the averaged weights whether or not they are swapped in.
func (e *EMA) CopyTo(dst []*autograd.Var) error {
	if len(dst) != len(e.params) {
		return fmt.Errorf("optim: EMA has %d tensors, destination %d parameters", len(e.params), len(dst))
	}
	for i, d := range dst {
		src := e.shadow[i]
		if e.swapped {
			src = e.params[i].Value
		}
		if !tensor.EqualInts(d.Value.Shape(), src.Shape()) {
			return fmt.Errorf("optim: EMA tensor %q has shape %v, destination %q has %v", e.params[i].Name, src.Shape(), d.Name, d.Value.Shape())
		}
	}
	for i, d := range dst {
		src := e.shadow[i]
		if e.swapped {
			src = e.params[i].Value
		}
		d.Value.CopyFrom(src)
	}
	return nil
}
