// Package sde implements the score-based diffusion machinery of DiffusionNAG:
// the variance-exploding (VE) and variance-preserving (VP) stochastic
// differential equations, the denoising score-matching training loss, and
// the samplers (predictor-corrector with Euler–Maruyama or reverse-diffusion
// predictors and a Langevin corrector, and the probability-flow ODE).
//
// The package knows nothing about networks or search spaces. Training takes
// a score function on autograd Vars (ScoreVarFn); sampling takes a plain
// score hook on tensors (ScoreFn), which is where predictor guidance is added
// by the caller without touching the samplers.
//
// Conventions follow score_sde / DiffusionNAG (reference.md §3–§4): T = 1,
// data scaled to [-1, 1] with x ↦ 2x−1, per-sample time t ~ U(1e-5, 1) in
// training, sampling grid linspace(1, 1e-5, N), and the network receives
// σ(t) (VE) as its time-conditioning value.
//
// Every SDE here has a linear drift f(x, t) = a(t)·x, so coefficients are
// exchanged as scalars and the samplers update buffers in place.
package sde

import (
	"fmt"
	"math"
	"strings"

	"github.com/nagml/nag/tensor"
)

// SDE is a forward diffusion dx = a(t)·x dt + g(t) dw on t ∈ [0, 1] together
// with its discretisation into N steps.
type SDE interface {
	// N is the number of discretisation steps (the length of the discrete
	// σ / β grids).
	N() int
	// WithN returns a copy of the SDE discretised into n steps (a sampler
	// run with a step count different from the training N uses it).
	WithN(n int) (SDE, error)
	// Coefficients returns the drift coefficient a(t) (f(x, t) = a(t)·x) and
	// the diffusion g(t) of the forward SDE.
	Coefficients(t float64) (a, g float64)
	// Marginal returns the perturbation kernel p_t(x_t | x_0) =
	// N(mean·x_0, std²·I).
	Marginal(t float64) (mean, std float64)
	// PriorStd is the standard deviation of the prior N(0, PriorStd²·I).
	PriorStd() float64
	// Discretize returns the discrete forward step at time t (SMLD for VE,
	// DDPM for VP): x_{i+1} = x_i + fa·x_i + G·z. The step index is
	// floor(t·(N−1)) as in score_sde.
	Discretize(t float64) (fa, G float64)
	// LangevinAlpha is the α factor of the Langevin corrector's step size
	// (1 for VE, the discrete α_i for VP).
	LangevinAlpha(t float64) float64
	// Cond is the time-conditioning value the score network receives at
	// time t (σ(t) for VE, 999·t for VP, as in score_sde).
	Cond(t float64) float32
	// Config returns the serialisable description of this SDE.
	Config() Config
	// String names the SDE and its parameters.
	String() string
}

// Kinds of SDE accepted by Config.Kind.
const (
	KindVE = "ve"
	KindVP = "vp"
)

// Config is the serialisable description of an SDE (for checkpoints and
// flags). Fields that do not apply to Kind are ignored.
type Config struct {
	// Kind is "ve" or "vp".
	Kind string `json:"kind"`
	// SigmaMin and SigmaMax are the VE noise range.
	SigmaMin float64 `json:"sigma_min,omitempty"`
	SigmaMax float64 `json:"sigma_max,omitempty"`
	// BetaMin and BetaMax are the VP linear β schedule.
	BetaMin float64 `json:"beta_min,omitempty"`
	BetaMax float64 `json:"beta_max,omitempty"`
	// N is the number of discretisation steps.
	N int `json:"n"`
}

// DefaultVEConfig is the NB201 VE-SDE of the reference: σ 0.1 → 5.0, N 1000.
func DefaultVEConfig() Config {
	return Config{Kind: KindVE, SigmaMin: 0.1, SigmaMax: 5.0, N: 1000}
}

// DefaultVPConfig is the score_sde VP-SDE: β 0.1 → 20, N 1000.
func DefaultVPConfig() Config {
	return Config{Kind: KindVP, BetaMin: 0.1, BetaMax: 20, N: 1000}
}

// New builds the SDE described by cfg, validating its parameters.
func New(cfg Config) (SDE, error) {
	switch strings.ToLower(cfg.Kind) {
	case KindVE:
		return NewVE(cfg.SigmaMin, cfg.SigmaMax, cfg.N)
	case KindVP:
		return NewVP(cfg.BetaMin, cfg.BetaMax, cfg.N)
	default:
		return nil, fmt.Errorf("sde: unknown kind %q (want %q or %q)", cfg.Kind, KindVE, KindVP)
	}
}

// stepIndex is score_sde's discrete index (t·(N−1)/T).long(), clamped to
// the grid.
func stepIndex(t float64, n int) int {
	i := int(t * float64(n-1))
	if i < 0 {
		return 0
	}
	if i > n-1 {
		return n - 1
	}
	return i
}

func finitePositive(v float64) bool { return v > 0 && !math.IsInf(v, 0) && !math.IsNaN(v) }

// ScaleData maps data in [0, 1] to the model space [-1, 1]: x ↦ 2x − 1
// (score_sde's data scaler with centered=True). It returns a new tensor.
func ScaleData(x *tensor.Tensor) *tensor.Tensor {
	out := x.Clone()
	d := out.Data()
	for i, v := range d {
		d[i] = 2*v - 1
	}
	return out
}

// UnscaleData maps model-space values back to the data range: x ↦ (x + 1)/2.
// It returns a new tensor.
func UnscaleData(x *tensor.Tensor) *tensor.Tensor {
	out := x.Clone()
	d := out.Data()
	for i, v := range d {
		d[i] = (v + 1) / 2
	}
	return out
}

// PriorSample draws a batch of the given shape from the prior
// N(0, PriorStd²·I) of s.
func PriorSample(s SDE, rng *tensor.RNG, shape ...int) *tensor.Tensor {
	x := tensor.Zeros(shape...)
	rng.FillNormal(x.Data(), 0, float32(s.PriorStd()))
	return x
}
