package sde

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/nagml/nag/tensor"
)

// SampleEps is the end of the sampling time grid linspace(1, SampleEps, N)
// (the reference's eps = 1e-5 for VE).
const SampleEps = 1e-5

// ScoreFn is the score hook the samplers call: x is the current batch
// [B, ...] in model space, t the time, cond the per-sample time-conditioning
// values (SDE.Cond(t) repeated B times). It returns the score ∇x log p_t(x),
// the same shape as x. This is the place to add guidance.
//
// The hook must not modify x or cond, and must not keep references to them
// after returning (the sampler updates both in place). The sampler only reads
// the returned tensor before the next call, so a hook may reuse its output
// buffer across calls.
type ScoreFn func(x *tensor.Tensor, t float64, cond []float32) (*tensor.Tensor, error)

// Predictor selects the predictor of the PC sampler.
type Predictor int

// Predictors.
const (
	// EulerMaruyama is the reference's default predictor: dt = −1/N fixed,
	// x_mean = x − (a·x − g²·S)/N, x = x_mean + g·sqrt(1/N)·z.
	EulerMaruyama Predictor = iota
	// ReverseDiffusion is the SMLD/DDPM discretisation (SDE.Discretize):
	// x_mean = x − fa·x + G²·S, x = x_mean + G·z.
	ReverseDiffusion
	// NoPredictor runs the corrector only (x_mean is the corrector's).
	NoPredictor
)

// String names the predictor as ParsePredictor accepts it.
func (p Predictor) String() string {
	switch p {
	case EulerMaruyama:
		return "euler_maruyama"
	case ReverseDiffusion:
		return "reverse_diffusion"
	case NoPredictor:
		return "none"
	}
	return fmt.Sprintf("Predictor(%d)", int(p))
}

// ParsePredictor parses "euler_maruyama" (or "em"), "reverse_diffusion" (or
// "rd") and "none".
func ParsePredictor(s string) (Predictor, error) {
	switch strings.ToLower(s) {
	case "euler_maruyama", "em", "euler-maruyama":
		return EulerMaruyama, nil
	case "reverse_diffusion", "rd", "reverse-diffusion":
		return ReverseDiffusion, nil
	case "none":
		return NoPredictor, nil
	}
	return 0, fmt.Errorf("sde: unknown predictor %q (want euler_maruyama, reverse_diffusion or none)", s)
}

// Corrector selects the corrector of the PC sampler.
type Corrector int

// Correctors.
const (
	// Langevin is the reference's corrector (score_sde LangevinCorrector)
	// with batch-averaged norms: step = 2·α·(snr·mean‖z‖/mean‖S‖)².
	Langevin Corrector = iota
	// NoCorrector skips the corrector.
	NoCorrector
)

// String names the corrector as ParseCorrector accepts it.
func (c Corrector) String() string {
	switch c {
	case Langevin:
		return "langevin"
	case NoCorrector:
		return "none"
	}
	return fmt.Sprintf("Corrector(%d)", int(c))
}

// ParseCorrector parses "langevin" and "none".
func ParseCorrector(s string) (Corrector, error) {
	switch strings.ToLower(s) {
	case "langevin", "ald":
		return Langevin, nil
	case "none":
		return NoCorrector, nil
	}
	return 0, fmt.Errorf("sde: unknown corrector %q (want langevin or none)", s)
}

// ODESolver selects the integrator of the probability-flow ODE sampler.
type ODESolver int

// ODE solvers.
const (
	// Euler takes Steps explicit Euler steps (Steps score evaluations).
	Euler ODESolver = iota
	// Heun takes Steps Heun (explicit trapezoid) steps: second order,
	// 2·Steps score evaluations.
	Heun
)

// String names the solver.
func (s ODESolver) String() string {
	switch s {
	case Euler:
		return "euler"
	case Heun:
		return "heun"
	}
	return fmt.Sprintf("ODESolver(%d)", int(s))
}

// Options configures a sampler run. The zero value (plus a seed) is the
// reference configuration: 1000 steps, Euler–Maruyama predictor, one
// Langevin corrector step with snr 0.16 per timestep, eps 1e-5.
type Options struct {
	// Steps is the number of timesteps (default 1000). The SDE is
	// re-discretised with N = Steps (SDE.WithN), so dt = −1/Steps and the
	// reverse-diffusion grid has Steps levels.
	Steps int
	// Predictor (default EulerMaruyama) and Corrector (default Langevin)
	// select the PC scheme; ignored by SampleODE.
	Predictor Predictor
	Corrector Corrector
	// CorrectorSteps is the number of corrector steps per timestep
	// (score_sde's n_steps_each; default 1).
	CorrectorSteps int
	// SNR is the Langevin corrector's signal-to-noise ratio (default 0.16).
	SNR float64
	// Eps is the last time of the grid (default SampleEps = 1e-5).
	Eps float64
	// Solver selects the probability-flow ODE integrator (default Euler).
	Solver ODESolver
	// Init, if set, starts the sampler from given points instead of the
	// prior (SDEdit, Meng et al. 2022): only the timesteps of the grid at
	// or below Start run, from x(t0) = mean(t0)·Init + std(t0)·z at the
	// first of them, t0 (the largest grid time <= Start), so the samples
	// stay near Init the more the smaller Start is.
	// Init has the sample shape, in the SDE's data space.
	Init *tensor.Tensor
	// Start is the start time with Init, in (Eps, 1]; 0 means 1.
	Start float64
	// RNG supplies all randomness; if nil, a generator seeded with Seed is
	// used.
	RNG  *tensor.RNG
	Seed uint64
	// Progress, if set, is called after each timestep with step in 1..total.
	Progress func(step, total int)
}

func (o *Options) fill() error {
	if o.Steps == 0 {
		o.Steps = 1000
	}
	if o.Steps < 1 {
		return fmt.Errorf("sde: sampling steps must be >= 1, got %d", o.Steps)
	}
	if o.CorrectorSteps == 0 {
		o.CorrectorSteps = 1
	}
	if o.CorrectorSteps < 0 {
		return fmt.Errorf("sde: corrector steps must be >= 0, got %d", o.CorrectorSteps)
	}
	if o.SNR == 0 {
		o.SNR = 0.16
	}
	if !(o.SNR > 0) || math.IsInf(o.SNR, 0) {
		return fmt.Errorf("sde: snr must be a positive number, got %g", o.SNR)
	}
	if o.Eps == 0 {
		o.Eps = SampleEps
	}
	if !(o.Eps > 0 && o.Eps < 1) {
		return fmt.Errorf("sde: eps must lie in (0, 1), got %g", o.Eps)
	}
	switch o.Predictor {
	case EulerMaruyama, ReverseDiffusion, NoPredictor:
	default:
		return fmt.Errorf("sde: unknown predictor %d", int(o.Predictor))
	}
	switch o.Corrector {
	case Langevin, NoCorrector:
	default:
		return fmt.Errorf("sde: unknown corrector %d", int(o.Corrector))
	}
	switch o.Solver {
	case Euler, Heun:
	default:
		return fmt.Errorf("sde: unknown ODE solver %d", int(o.Solver))
	}
	if o.RNG == nil {
		o.RNG = tensor.NewRNG(o.Seed)
	}
	if o.Start == 0 {
		o.Start = 1
	}
	if !(o.Start > o.Eps && o.Start <= 1) {
		return fmt.Errorf("sde: start time must lie in (eps, 1], got %g", o.Start)
	}
	if o.Start != 1 && o.Init == nil {
		return fmt.Errorf("sde: a start time below 1 needs initial points (Init)")
	}
	return nil
}

// startGrid returns the times of grid at or below start (all of them for
// start 1): a run from Start takes the reference grid's last steps, with
// the same spacing.
func startGrid(grid []float64, start float64) []float64 {
	if start >= 1 {
		return grid
	}
	for i, t := range grid {
		if t <= start*(1+1e-12) {
			return grid[i:]
		}
	}
	return grid[len(grid)-1:]
}

// TimeGrid returns linspace(1, eps, n), the PC sampler's timesteps.
func TimeGrid(n int, eps float64) []float64 {
	ts := make([]float64, n)
	for i := range ts {
		ts[i] = linspaceAt(1, eps, n, i)
	}
	return ts
}

// sampler holds the buffers of one run.
type sampler struct {
	sde   SDE
	score ScoreFn
	shape []int
	b     int // batch size
	x     *tensor.Tensor
	xd    []float32
	noise []float32
	cond  []float32
	rng   *tensor.RNG
}

// newSampler checks the options and draws the start: a prior sample, or
// Init perturbed to the first time of the run's grid (grid(opt) after
// startGrid), which is the largest grid time at or below Start.
func newSampler(s SDE, score ScoreFn, shape []int, opt *Options, grid func(*Options) []float64) (*sampler, []float64, error) {
	if score == nil {
		return nil, nil, fmt.Errorf("sde: nil score function")
	}
	if len(shape) < 1 || shape[0] < 1 {
		return nil, nil, fmt.Errorf("sde: sample shape must be [B, ...] with B >= 1, got %v", shape)
	}
	n := 1
	for _, d := range shape {
		if d < 1 {
			return nil, nil, fmt.Errorf("sde: sample shape %v has an empty dimension", shape)
		}
		n *= d
	}
	if err := opt.fill(); err != nil {
		return nil, nil, err
	}
	ds, err := s.WithN(opt.Steps)
	if err != nil {
		return nil, nil, fmt.Errorf("sde: %d sampling steps: %w", opt.Steps, err)
	}
	sp := &sampler{sde: ds, score: score, shape: append([]int(nil), shape...), b: shape[0],
		noise: make([]float32, n), cond: make([]float32, shape[0]), rng: opt.RNG}
	ts := startGrid(grid(opt), opt.Start)
	if opt.Init != nil {
		if !tensor.EqualInts(opt.Init.Shape(), shape) {
			return nil, nil, fmt.Errorf("sde: initial points %v for sample shape %v", opt.Init.Shape(), shape)
		}
		if err := checkFinite(opt.Init.Contiguous().Data()); err != nil {
			return nil, nil, fmt.Errorf("sde: initial points: %w", err)
		}
		// x(t0) = mean·Init + std·z at the grid's first time t0 <= Start:
		// the first draws of the run.
		z := tensor.Zeros(shape...)
		opt.RNG.FillNormal(z.Data(), 0, 1)
		t0 := make([]float64, shape[0])
		for i := range t0 {
			t0[i] = ts[0]
		}
		sp.x, _, _ = Perturb(ds, opt.Init, t0, z)
	} else {
		// Prior sample x ~ N(0, PriorStd²·I): the first draws of the run.
		sp.x = PriorSample(ds, opt.RNG, shape...)
	}
	sp.xd = sp.x.Data()
	return sp, ts, nil
}

// eval calls the score hook at time t and returns the score's flat data.
func (sp *sampler) eval(t float64) ([]float32, error) {
	c := sp.sde.Cond(t)
	for i := range sp.cond {
		sp.cond[i] = c
	}
	g, err := sp.score(sp.x, t, sp.cond)
	if err != nil {
		return nil, fmt.Errorf("sde: score at t=%.6g: %w", t, err)
	}
	if g == nil || g.Len() != len(sp.xd) {
		got := "nil"
		if g != nil {
			got = fmt.Sprint(g.Shape())
		}
		return nil, fmt.Errorf("sde: score at t=%.6g has shape %s, want %v", t, got, sp.shape)
	}
	return g.Contiguous().Data(), nil
}

// langevinStep applies one Langevin corrector update in place given the
// score grad and the noise (both flattened [B, per]) and returns the step
// size 2·α·(snr·mean_b‖noise_b‖ / mean_b‖grad_b‖)². After it, x holds the
// noisy iterate and xmean (if non-nil) the mean x + step·grad. A zero
// gradient gives step 0 (x unchanged).
func langevinStep(x, xmean, grad, noise []float32, b int, snr, alpha float64) (float64, error) {
	per := len(x) / b
	var gn, nn float64
	for i := 0; i < b; i++ {
		var g2, n2 float64
		for j := i * per; j < (i+1)*per; j++ {
			g2 += float64(grad[j]) * float64(grad[j])
			n2 += float64(noise[j]) * float64(noise[j])
		}
		gn += math.Sqrt(g2)
		nn += math.Sqrt(n2)
	}
	gn /= float64(b)
	nn /= float64(b)
	if math.IsNaN(gn) || math.IsInf(gn, 0) {
		return 0, fmt.Errorf("score norm is %g", gn)
	}
	step := 0.0
	if gn > 0 {
		r := snr * nn / gn
		step = 2 * alpha * r * r
	}
	sf, nf := float32(step), float32(math.Sqrt(2*step))
	for j := range x {
		m := x[j] + sf*grad[j]
		if xmean != nil {
			xmean[j] = m
		}
		x[j] = m + nf*noise[j]
	}
	return step, nil
}

// SamplePC runs the predictor-corrector sampler of the reference (score_sde
// pc_sampler with n_steps_each = CorrectorSteps, probability_flow = false,
// noise_removal = true) and returns a batch of the given shape [B, ...] in
// model space:
//
//	x ~ N(0, PriorStd²·I)
//	for t in linspace(1, eps, Steps): corrector(x, t); predictor(x, t)
//	return x_mean of the last predictor step
//
// The SDE is re-discretised with N = Steps. The same score hook serves the
// corrector and the predictor. ctx is checked before every timestep.
// Random draws come from opt.RNG in this order: the prior sample, then per
// timestep one noise tensor per corrector step and one for the predictor.
// With Init the run starts from the perturbed Init at Start instead (see
// Options.Init) and runs the grid's timesteps t <= Start.
func SamplePC(ctx context.Context, s SDE, score ScoreFn, shape []int, opt Options) (*tensor.Tensor, error) {
	sp, ts, err := newSampler(s, score, shape, &opt, func(o *Options) []float64 { return TimeGrid(o.Steps, o.Eps) })
	if err != nil {
		return nil, err
	}
	dt := 1 / float64(opt.Steps) // |dt| of Euler–Maruyama, the fixed 1/N of the reference
	n := len(ts)
	xmean := tensor.Zeros(shape...)
	md := xmean.Data()
	for i, t := range ts {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("sde: sampling stopped at step %d/%d: %w", i, n, err)
		}
		if opt.Corrector == Langevin {
			alpha := sp.sde.LangevinAlpha(t)
			for k := 0; k < opt.CorrectorSteps; k++ {
				g, err := sp.eval(t)
				if err != nil {
					return nil, err
				}
				sp.rng.FillNormal(sp.noise, 0, 1)
				if _, err := langevinStep(sp.xd, md, g, sp.noise, sp.b, opt.SNR, alpha); err != nil {
					return nil, fmt.Errorf("sde: Langevin corrector at t=%.6g: %w", t, err)
				}
			}
		}
		switch opt.Predictor {
		case EulerMaruyama:
			g, err := sp.eval(t)
			if err != nil {
				return nil, err
			}
			a, diff := sp.sde.Coefficients(t)
			// x_mean = x + (a·x − g²·S)·(−dt) ; x = x_mean + g·sqrt(dt)·z
			ca, cs := float32(1-a*dt), float32(diff*diff*dt)
			sp.rng.FillNormal(sp.noise, 0, 1)
			nz := float32(diff * math.Sqrt(dt))
			for j, v := range sp.xd {
				m := ca*v + cs*g[j]
				md[j] = m
				sp.xd[j] = m + nz*sp.noise[j]
			}
		case ReverseDiffusion:
			g, err := sp.eval(t)
			if err != nil {
				return nil, err
			}
			fa, G := sp.sde.Discretize(t)
			// x_mean = x − (fa·x − G²·S) ; x = x_mean + G·z
			ca, cs, nz := float32(1-fa), float32(G*G), float32(G)
			sp.rng.FillNormal(sp.noise, 0, 1)
			for j, v := range sp.xd {
				m := ca*v + cs*g[j]
				md[j] = m
				sp.xd[j] = m + nz*sp.noise[j]
			}
		}
		if opt.Progress != nil {
			opt.Progress(i+1, n)
		}
	}
	if opt.Predictor == NoPredictor && opt.Corrector == NoCorrector {
		copy(md, sp.xd)
	}
	if err := checkFinite(md); err != nil {
		return nil, err
	}
	return xmean, nil
}

// SampleODE integrates the probability-flow ODE dx/dt = a(t)·x − ½g(t)²·S
// from t = 1 to t = eps with Steps uniform steps (grid linspace(1, eps,
// Steps+1)), starting from a prior sample, and returns the final x (no
// denoising step). Options.Solver picks Euler (Steps score evaluations) or
// Heun (2·Steps). Only Steps, Eps, Solver, Init/Start, RNG/Seed and
// Progress are used; the only randomness is the prior sample (or the
// perturbation of Init).
func SampleODE(ctx context.Context, s SDE, score ScoreFn, shape []int, opt Options) (*tensor.Tensor, error) {
	sp, ts, err := newSampler(s, score, shape, &opt, func(o *Options) []float64 { return TimeGrid(o.Steps+1, o.Eps) })
	if err != nil {
		return nil, err
	}
	n := len(ts) - 1
	var x0, k1 []float32
	if opt.Solver == Heun {
		x0 = make([]float32, len(sp.xd))
		k1 = make([]float32, len(sp.xd))
	}
	// drift writes dt·(a·x − ½g²·S) for the current sp.x into dst.
	drift := func(dst []float32, t, dt float64) error {
		g, err := sp.eval(t)
		if err != nil {
			return err
		}
		a, diff := sp.sde.Coefficients(t)
		ca, cs := float32(a*dt), float32(-0.5*diff*diff*dt)
		for j, v := range sp.xd {
			dst[j] = ca*v + cs*g[j]
		}
		return nil
	}
	d := sp.noise // reuse as the increment buffer (no noise in the ODE)
	for i := 0; i < n; i++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("sde: sampling stopped at step %d/%d: %w", i, n, err)
		}
		t, tn := ts[i], ts[i+1]
		dt := tn - t // negative
		if err := drift(d, t, dt); err != nil {
			return nil, err
		}
		if opt.Solver == Heun {
			copy(x0, sp.xd)
			copy(k1, d)
			for j := range sp.xd {
				sp.xd[j] += d[j]
			}
			if err := drift(d, tn, dt); err != nil {
				return nil, err
			}
			for j := range sp.xd {
				sp.xd[j] = x0[j] + 0.5*(k1[j]+d[j])
			}
		} else {
			for j := range sp.xd {
				sp.xd[j] += d[j]
			}
		}
		if opt.Progress != nil {
			opt.Progress(i+1, n)
		}
	}
	if err := checkFinite(sp.xd); err != nil {
		return nil, err
	}
	return sp.x, nil
}

func checkFinite(d []float32) error {
	for j, v := range d {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("sde: sampling diverged (element %d is %g)", j, v)
		}
	}
	return nil
}
