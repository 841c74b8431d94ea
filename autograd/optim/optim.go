// Package optim trains autograd parameters: Adam with L2 weight decay and
// bias correction, a linear learning-rate warm-up, global-norm gradient
// clipping and an exponential moving average (EMA) of the parameters.
//
// The arithmetic follows torch.optim.Adam, torch.nn.utils.clip_grad_norm_
// and the EMA of the DiffusionNAG reference (score_sde style, with the
// decay warm-up min(decay, (1+n)/(10+n))). Per-step scalars (bias
// corrections, step size, EMA rate) are computed in float64 and rounded to
// float32 once; the element-wise updates run in float32, in one sweep over
// each parameter's memory that also updates its EMA copy.
//
// Optimizer bundles the pieces in the order of the reference training step:
//
//	lr   = WarmupLR(cfg.LR, step, cfg.Warmup)   // step = steps taken so far
//	norm = ClipGradNorm(params, cfg.GradClip)   // error on NaN/Inf norm
//	adam step with lr, then EMA update          // fused
//
// All state (moments, step counters, EMA tensors) is exported by State and
// restored by LoadState, so a resumed run continues bit-identically.
package optim

import (
	"errors"
	"fmt"
	"math"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/tensor"
)

// ErrNonFinite reports a NaN or infinite gradient norm. Training should stop
// with a clear message rather than write NaN into the parameters.
var ErrNonFinite = errors.New("non-finite gradient norm")

// Config holds the optimiser hyper-parameters.
type Config struct {
	// LR is the peak learning rate (reached at the end of the warm-up).
	LR float64 `json:"lr"`
	// Beta1 and Beta2 are Adam's moment decay rates.
	Beta1 float64 `json:"beta1"`
	Beta2 float64 `json:"beta2"`
	// Eps is added to the denominator of the Adam update.
	Eps float64 `json:"eps"`
	// WeightDecay is L2 regularisation added to the gradient (as in
	// torch.optim.Adam, not decoupled AdamW).
	WeightDecay float64 `json:"weight_decay"`
	// Warmup is the number of steps of linear learning-rate warm-up
	// (0 = none): lr(step) = LR * min(step/Warmup, 1), so lr = 0 at step 0.
	Warmup int64 `json:"warmup"`
	// GradClip is the maximum global gradient norm (0 = no clipping).
	GradClip float64 `json:"grad_clip"`
	// EMADecay is the EMA rate (0 = no EMA).
	EMADecay float64 `json:"ema_decay"`
}

// DefaultConfig returns the reference settings of the DiffusionNAG score
// network (reference.md §6): Adam(0.9, 0.999, eps 1e-8, no weight decay),
// lr 2e-5 with 1000 warm-up steps, clipping at norm 1 and EMA 0.9999.
// The meta-predictors use LR 1e-3 and no EMA.
func DefaultConfig() Config {
	return Config{LR: 2e-5, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Warmup: 1000, GradClip: 1, EMADecay: 0.9999}
}

// Validate checks the ranges of the hyper-parameters.
func (c Config) Validate() error {
	switch {
	case !(c.LR >= 0) || math.IsInf(c.LR, 0):
		return fmt.Errorf("optim: learning rate %v must be finite and >= 0", c.LR)
	case !(c.Beta1 >= 0 && c.Beta1 < 1):
		return fmt.Errorf("optim: beta1 %v must be in [0, 1)", c.Beta1)
	case !(c.Beta2 >= 0 && c.Beta2 < 1):
		return fmt.Errorf("optim: beta2 %v must be in [0, 1)", c.Beta2)
	case !(c.Eps > 0):
		return fmt.Errorf("optim: eps %v must be > 0", c.Eps)
	case !(c.WeightDecay >= 0):
		return fmt.Errorf("optim: weight decay %v must be >= 0", c.WeightDecay)
	case c.Warmup < 0:
		return fmt.Errorf("optim: warm-up %d must be >= 0", c.Warmup)
	case !(c.GradClip >= 0):
		return fmt.Errorf("optim: gradient clip %v must be >= 0", c.GradClip)
	case !(c.EMADecay >= 0 && c.EMADecay < 1):
		return fmt.Errorf("optim: EMA decay %v must be in [0, 1)", c.EMADecay)
	}
	return nil
}

// WarmupLR returns the learning rate for the optimiser step with index step
// (the number of steps already taken): lr * min(step/warmup, 1). warmup <= 0
// disables the warm-up.
func WarmupLR(lr float64, step, warmup int64) float64 {
	if warmup <= 0 || step >= warmup {
		return lr
	}
	return lr * float64(step) / float64(warmup)
}

// GradNorm returns the global L2 norm of the gradients of params (params
// without a gradient count as zero), accumulated in float64.
func GradNorm(params []*autograd.Var) float64 {
	var ss float64
	for _, p := range params {
		if p.Grad == nil {
			continue
		}
		for _, g := range p.Grad.Contiguous().Data() {
			ss += float64(g) * float64(g)
		}
	}
	return math.Sqrt(ss)
}

// ClipGradNorm scales all gradients by maxNorm/(norm+1e-6) when that factor
// is below 1 (torch.nn.utils.clip_grad_norm_) and returns the norm before
// clipping. maxNorm <= 0 only measures. A NaN or infinite norm leaves the
// gradients untouched and returns an error wrapping ErrNonFinite.
func ClipGradNorm(params []*autograd.Var, maxNorm float64) (float64, error) {
	norm := GradNorm(params)
	if math.IsNaN(norm) || math.IsInf(norm, 0) {
		return norm, fmt.Errorf("optim: %w (%v)", ErrNonFinite, norm)
	}
	if maxNorm <= 0 {
		return norm, nil
	}
	coef := maxNorm / (norm + 1e-6)
	if coef >= 1 {
		return norm, nil
	}
	c := float32(coef)
	for _, p := range params {
		if p.Grad == nil {
			continue
		}
		if !p.Grad.IsContiguous() {
			p.Grad = p.Grad.Clone()
		}
		d := p.Grad.Data()
		for i := range d {
			d[i] *= c
		}
	}
	return norm, nil
}

// checkParams validates a parameter list: non-empty unique names,
// contiguous values.
func checkParams(params []*autograd.Var) error {
	seen := make(map[string]bool, len(params))
	for i, p := range params {
		if p == nil || p.Value == nil {
			return fmt.Errorf("optim: parameter %d is nil", i)
		}
		if p.Name == "" {
			return fmt.Errorf("optim: parameter %d (shape %v) has no name; names key the optimiser state", i, p.Shape())
		}
		if seen[p.Name] {
			return fmt.Errorf("optim: duplicate parameter name %q", p.Name)
		}
		seen[p.Name] = true
		if !p.Value.IsContiguous() {
			return fmt.Errorf("optim: parameter %q is a non-contiguous view", p.Name)
		}
	}
	return nil
}

// gradData returns p's gradient as a flat slice, or nil if p has none.
func gradData(p *autograd.Var) ([]float32, error) {
	if p.Grad == nil {
		return nil, nil
	}
	if p.Grad.Len() != p.Value.Len() || !tensor.EqualInts(p.Grad.Shape(), p.Value.Shape()) {
		return nil, fmt.Errorf("optim: parameter %q has shape %v but gradient shape %v", p.Name, p.Value.Shape(), p.Grad.Shape())
	}
	return p.Grad.Contiguous().Data(), nil
}
