// Package guide implements DiffusionNAG's predictor-guided sampling
// (reference §4.4) and the round-based generation of transferable NAS
// (reference §7.1 step 5) for NAS-Bench-201.
//
// The guided score is
//
//	S(x, t) = score(x, σ(t)) + scale · ∂(Σ_b ŷ_b)/∂x
//
// where ŷ is a differentiable regressor (the noise-aware meta-predictor for
// a fixed dataset vector) evaluated at the same noisy x and the same time
// input σ(t) as the score network; each sample gets the gradient of its own
// prediction. The gradient is taken with autograd's Tape.Grad w.r.t. x; the
// predictor's parameters are frozen for the run so that no weight gradients
// are computed. The same S serves the Langevin corrector and the
// Euler–Maruyama predictor step.
package guide

import (
	"fmt"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/nag/predictor"
	"github.com/nagml/nag/sde"
	"github.com/nagml/nag/tensor"
)

// Regressor is a differentiable predictor ŷ(x, σ) of one value per sample,
// x [B, N, V] in model space, sigma [B] the noise levels.
type Regressor interface {
	Predict(c gnn.Ctx, x *autograd.Var, sigma []float32) *autograd.Var
	// Params lists the parameters to freeze while guiding.
	Params() []*autograd.Var
}

// ModelRegressor adapts a trained predictor with a fixed dataset vector
// (predictor.Model.DatasetVector, computed once) to a Regressor. Its output
// is the normalised prediction y, as in the reference (so the guidance
// scale has the reference's meaning).
type ModelRegressor struct {
	M  *predictor.Model
	DS *autograd.Var
}

// Predict implements Regressor.
func (r ModelRegressor) Predict(c gnn.Ctx, x *autograd.Var, sigma []float32) *autograd.Var {
	return r.M.Forward(c, x, sigma, r.DS)
}

// Params implements Regressor.
func (r ModelRegressor) Params() []*autograd.Var { return r.M.Net.Params() }

// Freeze marks params as not requiring gradients and returns a function
// that restores their previous state.
func Freeze(params []*autograd.Var) (restore func()) {
	prev := make([]bool, len(params))
	for i, p := range params {
		prev[i] = p.RequiresGrad()
		p.SetRequiresGrad(false)
	}
	return func() {
		for i, p := range params {
			p.SetRequiresGrad(prev[i])
		}
	}
}

// InputGrad returns ∂(Σ_b ŷ_b)/∂x for x [B, N, V] (a new tensor) and the
// predictions ŷ [B].
func InputGrad(r Regressor, x *tensor.Tensor, sigma []float32) (grad *tensor.Tensor, pred []float32, err error) {
	tp := autograd.NewTape()
	xv := autograd.NewVar(x.Contiguous().Clone(), true)
	y := r.Predict(gnn.Ctx{Tape: tp}, xv, sigma)
	g, err := tp.Grad(tp.SumAll(y), xv)
	if err != nil {
		return nil, nil, fmt.Errorf("guidance gradient: %w", err)
	}
	if g[0] == nil {
		return tensor.Zeros(x.Shape()...), y.Value.Data(), nil
	}
	return g[0].Contiguous(), y.Value.Data(), nil
}

// Hook returns the guided score function score + scale(t)·∂ŷ/∂x. cond is
// the time input the sampler passes (σ(t) for the VE-SDE), given to both
// networks. scale may depend on t (nil schedule: constant scale). With a
// zero scale the hook is the base score. The regressor's parameters should
// be frozen (Freeze) while the hook is used.
func Hook(base sde.ScoreFn, r Regressor, scale float64, schedule func(t float64) float64) sde.ScoreFn {
	return func(x *tensor.Tensor, t float64, cond []float32) (*tensor.Tensor, error) {
		s, err := base(x, t, cond)
		if err != nil {
			return nil, err
		}
		w := scale
		if schedule != nil {
			w *= schedule(t)
		}
		if w == 0 || r == nil {
			return s, nil
		}
		g, _, err := InputGrad(r, x, cond)
		if err != nil {
			return nil, err
		}
		out := s.Contiguous().Clone()
		od, gd := out.Data(), g.Data()
		if len(od) != len(gd) {
			return nil, fmt.Errorf("guidance: score has %d values, gradient %d", len(od), len(gd))
		}
		fw := float32(w)
		for i := range od {
			od[i] += fw * gd[i]
		}
		return out, nil
	}
}
