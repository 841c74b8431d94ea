package sde

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/nagml/nag/tensor"
)

// gaussScore is the exact score of p_t for data N(mu, s²·I).
func gaussScore(sd SDE, mu, s float64) ScoreFn {
	return func(x *tensor.Tensor, t float64, _ []float32) (*tensor.Tensor, error) {
		m, v := gaussMarginal(sd, mu, s, t)
		out := tensor.Zeros(x.Shape()...)
		od := out.Data()
		for i, xv := range x.Data() {
			od[i] = float32(-(float64(xv) - m) / v)
		}
		return out, nil
	}
}

func moments(d []float32) (mean, variance float64) {
	for _, v := range d {
		mean += float64(v)
	}
	mean /= float64(len(d))
	for _, v := range d {
		variance += (float64(v) - mean) * (float64(v) - mean)
	}
	return mean, variance / float64(len(d)-1)
}

// predictorCoeffs returns the update coefficients of a predictor step at
// time t, x_mean = c·x + d·S and x = x_mean + n·z, as documented on
// EulerMaruyama (dt = 1/steps) and ReverseDiffusion.
func predictorCoeffs(sd SDE, p Predictor, t float64, steps int) (c, d, n float64) {
	if p == ReverseDiffusion {
		fa, G := sd.Discretize(t)
		return 1 - fa, G * G, G
	}
	a, g := sd.Coefficients(t)
	dt := 1 / float64(steps)
	return 1 - a*dt, g * g * dt, g * math.Sqrt(dt)
}

// pcMoments propagates the mean and variance of the PC sampler without a
// corrector exactly through its discrete updates for data N(mu, s²): with
// the linear score S = −(x − m_t)/v_t a predictor step is
// x' = (c − d/v_t)·x + d·m_t/v_t + n·z, starting from N(0, P²) and ending
// with the noise-free x_mean of the last step.
func pcMoments(sd SDE, p Predictor, steps int, mu, s float64) (mean, variance float64) {
	ds, err := sd.WithN(steps)
	if err != nil {
		panic(err)
	}
	return pcMomentsFrom(sd, p, steps, mu, s, 0, ds.PriorStd()*ds.PriorStd(), 1)
}

// pcMomentsFrom is pcMoments for a run that starts at time start with
// samples of the given mean and variance (the SDEdit start of Options.Init).
func pcMomentsFrom(sd SDE, p Predictor, steps int, mu, s, mean, variance, start float64) (float64, float64) {
	ds, err := sd.WithN(steps)
	if err != nil {
		panic(err)
	}
	ts := startGrid(TimeGrid(steps, SampleEps), start)
	for k, t := range ts {
		m, v := gaussMarginal(ds, mu, s, t)
		c, d, n := predictorCoeffs(ds, p, t, steps)
		kk := c - d/v
		mean = kk*mean + d*m/v
		variance = kk * kk * variance
		if k < len(ts)-1 {
			variance += n * n
		}
	}
	return mean, variance
}

// idealMoments is what an exact sampler of the reverse process delivers
// before its final noise-free predictor step, pushed through that step's
// mean map (for reverse diffusion at σ_min that step is Tweedie's denoiser
// x + σ_min²·S; for Euler–Maruyama it is nearly the identity):
//
//   - without a corrector, the exact reverse SDE from the prior N(0, P²)
//     (instead of p_1) ends at the marginal at eps corrected for that prior
//     mismatch; for VE the moment equations of the reverse SDE give mean
//     m_eps − m_1·v_eps/v_1 and variance v_eps + (P² − v_1)·v_eps²/v_1²; for
//     VP the mismatch (a mean offset a_1·mu ≈ 0.0066·mu) is returned as
//     slack;
//   - with the Langevin corrector (snr r), which is unadjusted: on a
//     Gaussian of variance v its batch-averaged step h = 2r²·v²/V has the
//     stationary variance V = v·(1 + r²) (2.6 % at r = 0.16); the corrector
//     also pulls the mean to m_eps, so the mismatch becomes slack.
func idealMoments(sd SDE, opt Options, mu, s float64) (mean, variance, slack float64) {
	ds, _ := sd.WithN(opt.Steps)
	me, ve := gaussMarginal(ds, mu, s, SampleEps)
	m1, v1 := gaussMarginal(ds, mu, s, 1)
	P := ds.PriorStd()
	_, isVE := sd.(*VE)
	mean, variance = me, ve
	switch {
	case opt.Corrector == Langevin:
		r := opt.SNR
		if r == 0 {
			r = 0.16
		}
		variance = ve * (1 + r*r)
		slack = math.Abs(m1) * ve / v1
	case isVE:
		mean = me - m1*ve/v1
		variance = ve + (P*P-v1)*ve*ve/(v1*v1)
	default:
		slack = math.Abs(m1)
	}
	c, d, _ := predictorCoeffs(ds, opt.Predictor, SampleEps, opt.Steps)
	kk := c - d/ve
	return kk*mean + d*me/ve, kk * kk * variance, slack
}

// TestPCGaussian drives the PC sampler with the exact score of Gaussian
// data N(mu, s²) (n = 5000×4 scalars, 500 steps) and checks the sample mean
// and variance twice:
//
//  1. without a corrector, against the exact moments of the discrete scheme
//     (pcMoments) within 4 standard errors (s_mean = sqrt(V/n),
//     s_var = V·sqrt(2/n)): this pins the implementation to the update
//     formulas;
//  2. against the ideal result (idealMoments: the marginal at eps, i.e. mu
//     and s² (+σ_min² for VE), with the stated prior-mismatch and Langevin
//     corrections) within 4 standard errors plus the slack plus a
//     discretisation allowance of 0.005 on the mean and 1.5 % on the
//     variance (500 steps); this pins the scheme to the continuous math.
func TestPCGaussian(t *testing.T) {
	const mu, s, B, D, steps = 0.5, 0.6, 5000, 4, 500
	n := float64(B * D)
	for _, c := range []struct {
		name string
		sde  SDE
		opt  Options
	}{
		{"VE EM", DefaultVE(), Options{Corrector: NoCorrector}},
		{"VE EM+Langevin", DefaultVE(), Options{}},
		{"VE RD", DefaultVE(), Options{Predictor: ReverseDiffusion, Corrector: NoCorrector}},
		{"VE RD+Langevin", DefaultVE(), Options{Predictor: ReverseDiffusion}},
		{"VE EM+Langevin snr0.05", DefaultVE(), Options{SNR: 0.05}},
		{"VP EM", DefaultVP(), Options{Corrector: NoCorrector}},
		{"VP EM+Langevin", DefaultVP(), Options{}},
		{"VP RD", DefaultVP(), Options{Predictor: ReverseDiffusion, Corrector: NoCorrector}},
		{"VP RD+Langevin", DefaultVP(), Options{Predictor: ReverseDiffusion}},
	} {
		t.Run(c.name, func(t *testing.T) {
			opt := c.opt
			opt.Steps, opt.Seed = steps, 2
			x, err := SamplePC(context.Background(), c.sde, gaussScore(c.sde, mu, s), []int{B, D}, opt)
			if err != nil {
				t.Fatal(err)
			}
			gotM, gotV := moments(x.Data())
			if opt.Corrector == NoCorrector {
				wm, wv := pcMoments(c.sde, opt.Predictor, steps, mu, s)
				tm, tv := 4*math.Sqrt(wv/n), 4*wv*math.Sqrt(2/n)
				if math.Abs(gotM-wm) > tm || math.Abs(gotV-wv) > tv {
					t.Errorf("vs discrete scheme: mean %.4f (want %.4f ± %.4f), variance %.4f (want %.4f ± %.4f)", gotM, wm, tm, gotV, wv, tv)
				}
				t.Logf("discrete scheme: mean %.4f variance %.4f", wm, wv)
			}
			wm, wv, slack := idealMoments(c.sde, opt, mu, s)
			tm := 4*math.Sqrt(wv/n) + slack + 0.005
			tv := 4*wv*math.Sqrt(2/n) + 0.015*wv
			if math.Abs(gotM-wm) > tm || math.Abs(gotV-wv) > tv {
				t.Errorf("vs ideal: mean %.4f (want %.4f ± %.4f), variance %.4f (want %.4f ± %.4f)", gotM, wm, tm, gotV, wv, tv)
			}
			t.Logf("samples: mean %.4f variance %.4f; ideal: mean %.4f ± %.4f, variance %.4f ± %.4f", gotM, gotV, wm, tm, wv, tv)
		})
	}
}

// TestODEGaussian checks the probability-flow ODE sampler against the exact
// flow: for Gaussian data the PF ODE maps each prior sample x_1 to
// a_eps·mu + (x_1 − a_1·mu)·sqrt(v_eps/v_1) (the deviation from the mean
// obeys e' = ½(v'/v)·e for VE and VP alike). The prior sample is the
// sampler's first draw, so the same seed reproduces it. The bound is on the
// RMS per-sample error relative to sqrt(v_eps): Heun 200 steps < 0.2 %,
// Euler 1000 steps < 2 % (first-order error, about 0.5 % measured). The
// sample moments must also match mu and s² (+σ_min² for VE) within 4 SE plus
// the prior-mismatch offset.
func TestODEGaussian(t *testing.T) {
	const mu, s, B, D = 0.5, 0.6, 2000, 4
	for _, c := range []struct {
		name  string
		sde   SDE
		opt   Options
		bound float64
	}{
		{"VE Heun", DefaultVE(), Options{Solver: Heun, Steps: 200}, 0.002},
		{"VE Euler", DefaultVE(), Options{Solver: Euler, Steps: 1000}, 0.02},
		{"VP Heun", DefaultVP(), Options{Solver: Heun, Steps: 200}, 0.002},
		{"VP Euler", DefaultVP(), Options{Solver: Euler, Steps: 1000}, 0.02},
	} {
		t.Run(c.name, func(t *testing.T) {
			opt := c.opt
			opt.Seed = 9
			x, err := SampleODE(context.Background(), c.sde, gaussScore(c.sde, mu, s), []int{B, D}, opt)
			if err != nil {
				t.Fatal(err)
			}
			prior := PriorSample(c.sde, tensor.NewRNG(9), B, D)
			me, ve := gaussMarginal(c.sde, mu, s, SampleEps)
			m1, v1 := gaussMarginal(c.sde, mu, s, 1)
			r := math.Sqrt(ve / v1)
			var se float64
			for i, x1 := range prior.Data() {
				want := me + (float64(x1)-m1)*r
				d := float64(x.Data()[i]) - want
				se += d * d
			}
			rel := math.Sqrt(se/float64(B*D)) / math.Sqrt(ve)
			if rel > c.bound {
				t.Errorf("RMS error against the exact flow %.3g of sqrt(v), bound %.3g", rel, c.bound)
			}
			gotM, gotV := moments(x.Data())
			n := float64(B * D)
			P := c.sde.PriorStd()
			// Prior mismatch: the flow maps N(0, P²) to mean me − m1·r and
			// variance P²·r².
			tolM := 4*math.Sqrt(ve/n) + math.Abs(m1*r) + c.bound*math.Sqrt(ve)
			tolV := 4*ve*math.Sqrt(2/n) + math.Abs(P*P*r*r-ve) + 2*c.bound*ve
			if math.Abs(gotM-me) > tolM || math.Abs(gotV-ve) > tolV {
				t.Errorf("mean %.4f (want %.4f ± %.4f), variance %.4f (want %.4f ± %.4f)", gotM, me, tolM, gotV, ve, tolV)
			}
			t.Logf("RMS rel error %.2g; mean %.4f (want %.4f ± %.4f), variance %.4f (want %.4f ± %.4f)", rel, gotM, me, tolM, gotV, ve, tolV)
		})
	}
}

// TestLangevinStepHand checks one corrector step on a hand-made batch of 2:
// grad rows (3,4) and (0,1) have norms 5 and 1 (mean 3), noise rows (1,0)
// and (0,2) norms 1 and 2 (mean 1.5), so with snr 0.16 and α 1
// step = 2·(0.16·1.5/3)² = 0.0128 and the noise scale is sqrt(2·step) = 0.16.
func TestLangevinStepHand(t *testing.T) {
	x := []float32{1, 2, 3, 4}
	grad := []float32{3, 4, 0, 1}
	noise := []float32{1, 0, 0, 2}
	xm := make([]float32, 4)
	step, err := langevinStep(x, xm, grad, noise, 2, 0.16, 1)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(step-0.0128) > 1e-12 {
		t.Fatalf("step %g, want 0.0128", step)
	}
	wantM := []float64{1 + 0.0128*3, 2 + 0.0128*4, 3, 4 + 0.0128}
	wantX := []float64{wantM[0] + 0.16, wantM[1], wantM[2], wantM[3] + 0.32}
	for i := range x {
		if math.Abs(float64(xm[i])-wantM[i]) > 1e-6 || math.Abs(float64(x[i])-wantX[i]) > 1e-6 {
			t.Fatalf("x_mean %v (want %v), x %v (want %v)", xm, wantM, x, wantX)
		}
	}
	// α scales the step (VP); a zero score gives step 0.
	x = []float32{1, 2, 3, 4}
	if step, _ := langevinStep(x, xm, grad, noise, 2, 0.16, 0.5); math.Abs(step-0.0064) > 1e-12 {
		t.Errorf("step with alpha 0.5: %g, want 0.0064", step)
	}
	x = []float32{1, 2, 3, 4}
	if step, _ := langevinStep(x, nil, []float32{0, 0, 0, 0}, noise, 2, 0.16, 1); step != 0 || x[0] != 1 || x[3] != 4 {
		t.Errorf("zero score: step %g, x %v; want 0 and x unchanged", step, x)
	}
	if _, err := langevinStep(x, nil, []float32{float32(math.NaN()), 0, 0, 0}, noise, 2, 0.16, 1); err == nil {
		t.Error("NaN score: no error")
	}
}

// TestPCStepsGrid checks that a Steps count different from the SDE's N
// re-discretises the SDE: the hook sees t = linspace(1, eps, Steps), once for
// the corrector and once for the predictor, with cond = σ(t); progress is
// reported 1..Steps; and the EM drift uses dt = 1/Steps.
func TestPCStepsGrid(t *testing.T) {
	const steps = 7
	ve := DefaultVE()
	var ts []float64
	score := func(x *tensor.Tensor, tt float64, cond []float32) (*tensor.Tensor, error) {
		ts = append(ts, tt)
		for _, c := range cond {
			if c != ve.Cond(tt) {
				t.Errorf("cond %g at t=%g, want %g", c, tt, ve.Cond(tt))
			}
		}
		return tensor.Zeros(x.Shape()...), nil
	}
	var prog []int
	_, err := SamplePC(context.Background(), ve, score, []int{3, 2}, Options{Steps: steps, Seed: 1, Progress: func(i, n int) {
		if n != steps {
			t.Errorf("progress total %d, want %d", n, steps)
		}
		prog = append(prog, i)
	}})
	if err != nil {
		t.Fatal(err)
	}
	grid := TimeGrid(steps, SampleEps)
	if len(ts) != 2*steps || len(prog) != steps {
		t.Fatalf("%d score calls (want %d), %d progress calls (want %d)", len(ts), 2*steps, len(prog), steps)
	}
	for i := 0; i < steps; i++ {
		if ts[2*i] != grid[i] || ts[2*i+1] != grid[i] || prog[i] != i+1 {
			t.Fatalf("step %d: t %g, %g, progress %d; want %g, %d", i, ts[2*i], ts[2*i+1], prog[i], grid[i], i+1)
		}
	}
	if grid[0] != 1 || grid[steps-1] != SampleEps {
		t.Errorf("grid ends %g..%g", grid[0], grid[steps-1])
	}

	// One EM step (Steps = 1) with a constant score S = 1 and no corrector:
	// the result is x_mean = prior + g(1)²·S·(1/1) (noise removed).
	one := func(x *tensor.Tensor, _ float64, _ []float32) (*tensor.Tensor, error) {
		return tensor.Full(1, x.Shape()...), nil
	}
	x, err := SamplePC(context.Background(), ve, one, []int{2, 3}, Options{Steps: 1, Seed: 4, Corrector: NoCorrector})
	if err != nil {
		t.Fatal(err)
	}
	prior := PriorSample(ve, tensor.NewRNG(4), 2, 3)
	_, g := ve.Coefficients(1)
	for i, v := range x.Data() {
		want := float64(prior.Data()[i]) + g*g
		if math.Abs(float64(v)-want) > 1e-4*math.Abs(want) {
			t.Fatalf("one EM step: %g, want prior + g^2 = %g", v, want)
		}
	}
}

// TestReverseDiffusionTwoSteps checks the SMLD predictor with Steps = 2
// (grid t = 1, eps; σ levels σ_min, σ_max) and a constant score S = ½:
// step 1 uses G² = σ_max² − σ_min², step 2 (index 0) G² = σ_min², and the
// result is the noise-free x_mean = prior + ½G₁² + G₁·z₁ + ½σ_min². The
// draws are, in order, the prior and then one noise tensor per predictor
// step.
func TestReverseDiffusionTwoSteps(t *testing.T) {
	ve := DefaultVE()
	half := func(x *tensor.Tensor, _ float64, _ []float32) (*tensor.Tensor, error) {
		return tensor.Full(0.5, x.Shape()...), nil
	}
	x, err := SamplePC(context.Background(), ve, half, []int{4}, Options{Steps: 2, Seed: 8, Predictor: ReverseDiffusion, Corrector: NoCorrector})
	if err != nil {
		t.Fatal(err)
	}
	rng := tensor.NewRNG(8)
	prior := PriorSample(ve, rng, 4)
	z1 := tensor.RandN(rng, 4)
	g1 := 25 - 0.01
	for i, v := range x.Data() {
		want := float64(prior.Data()[i]) + 0.5*g1 + math.Sqrt(g1)*float64(z1.Data()[i]) + 0.5*0.01
		if math.Abs(float64(v)-want) > 1e-4*math.Max(1, math.Abs(want)) {
			t.Fatalf("reverse diffusion: %g, want %g", v, want)
		}
	}
}

// TestEulerMaruyamaTwoSteps checks the EM predictor with Steps = 2 and a
// constant score S = ½: both steps use the reference's fixed dt = 1/Steps
// (not the grid spacing 1 − eps), x₁ = prior + ½g(1)²·dt + g(1)·sqrt(dt)·z₁
// and the result is the noise-free x_mean = x₁ + ½g(eps)²·dt.
func TestEulerMaruyamaTwoSteps(t *testing.T) {
	ve := DefaultVE()
	half := func(x *tensor.Tensor, _ float64, _ []float32) (*tensor.Tensor, error) {
		return tensor.Full(0.5, x.Shape()...), nil
	}
	x, err := SamplePC(context.Background(), ve, half, []int{4}, Options{Steps: 2, Seed: 8, Corrector: NoCorrector})
	if err != nil {
		t.Fatal(err)
	}
	rng := tensor.NewRNG(8)
	prior := PriorSample(ve, rng, 4)
	z1 := tensor.RandN(rng, 4)
	_, g1 := ve.Coefficients(1)
	_, g2 := ve.Coefficients(SampleEps)
	for i, v := range x.Data() {
		want := float64(prior.Data()[i]) + 0.5*g1*g1*0.5 + g1*math.Sqrt(0.5)*float64(z1.Data()[i]) + 0.5*g2*g2*0.5
		if math.Abs(float64(v)-want) > 1e-4*math.Max(1, math.Abs(want)) {
			t.Fatalf("Euler-Maruyama: %g, want %g", v, want)
		}
	}
}

func TestDeterminism(t *testing.T) {
	ve := DefaultVE()
	score := gaussScore(ve, 0.2, 0.5)
	run := func(seed uint64, ode bool) []float32 {
		opt := Options{Steps: 50, Seed: seed}
		var x *tensor.Tensor
		var err error
		if ode {
			x, err = SampleODE(context.Background(), ve, score, []int{8, 3}, opt)
		} else {
			x, err = SamplePC(context.Background(), ve, score, []int{8, 3}, opt)
		}
		if err != nil {
			t.Fatal(err)
		}
		return x.Data()
	}
	for _, ode := range []bool{false, true} {
		a, b, c := run(1, ode), run(1, ode), run(2, ode)
		same, diff := true, true
		for i := range a {
			same = same && a[i] == b[i]
			diff = diff && a[i] != c[i]
		}
		if !same {
			t.Errorf("ode=%v: same seed gave different samples", ode)
		}
		if !diff {
			t.Errorf("ode=%v: different seeds gave a shared value", ode)
		}
	}
	// An explicit RNG takes precedence over Seed.
	x1, _ := SamplePC(context.Background(), ve, score, []int{8, 3}, Options{Steps: 50, Seed: 99, RNG: tensor.NewRNG(1)})
	x2 := run(1, false)
	for i := range x2 {
		if x1.Data()[i] != x2[i] {
			t.Fatal("explicit RNG seeded 1 differs from Seed 1")
		}
	}
}

func TestSamplerErrors(t *testing.T) {
	ve := DefaultVE()
	zero := func(x *tensor.Tensor, _ float64, _ []float32) (*tensor.Tensor, error) {
		return tensor.Zeros(x.Shape()...), nil
	}
	failing := func(x *tensor.Tensor, _ float64, _ []float32) (*tensor.Tensor, error) {
		return nil, errors.New("boom")
	}
	wrong := func(x *tensor.Tensor, _ float64, _ []float32) (*tensor.Tensor, error) {
		return tensor.Zeros(1), nil
	}
	nan := func(x *tensor.Tensor, _ float64, _ []float32) (*tensor.Tensor, error) {
		return tensor.Full(float32(math.Inf(1)), x.Shape()...), nil
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	bg := context.Background()
	for _, c := range []struct {
		name string
		err  error
		want string
	}{
		{"negative steps", pcErr(bg, ve, zero, []int{2}, Options{Steps: -1}), "steps must be >= 1"},
		{"bad snr", pcErr(bg, ve, zero, []int{2}, Options{SNR: -1}), "snr"},
		{"bad eps", pcErr(bg, ve, zero, []int{2}, Options{Eps: 2}), "eps"},
		{"bad predictor", pcErr(bg, ve, zero, []int{2}, Options{Predictor: 9}), "unknown predictor"},
		{"bad solver", odeErr(bg, ve, zero, []int{2}, Options{Solver: 9}), "unknown ODE solver"},
		{"empty shape", pcErr(bg, ve, zero, []int{}, Options{}), "shape"},
		{"zero dim", pcErr(bg, ve, zero, []int{2, 0}, Options{}), "empty dimension"},
		{"nil score", pcErr(bg, ve, nil, []int{2}, Options{}), "nil score"},
		{"hook error", pcErr(bg, ve, failing, []int{2}, Options{Steps: 3}), "boom"},
		{"hook error ode", odeErr(bg, ve, failing, []int{2}, Options{Steps: 3}), "boom"},
		{"wrong shape", pcErr(bg, ve, wrong, []int{2, 2}, Options{Steps: 3}), "has shape [1]"},
		{"non-finite", pcErr(bg, ve, nan, []int{2, 2}, Options{Steps: 3}), "score norm"},
		{"non-finite ode", odeErr(bg, ve, nan, []int{2, 2}, Options{Steps: 3}), "diverged"},
		{"cancelled", pcErr(cancelled, ve, zero, []int{2}, Options{Steps: 3}), "context canceled"},
		{"VP too few steps", pcErr(bg, DefaultVP(), zero, []int{2}, Options{Steps: 10}), "10 sampling steps"},
	} {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, c.err, c.want)
		}
	}
}

func pcErr(ctx context.Context, s SDE, f ScoreFn, shape []int, o Options) error {
	_, err := SamplePC(ctx, s, f, shape, o)
	return err
}

func odeErr(ctx context.Context, s SDE, f ScoreFn, shape []int, o Options) error {
	_, err := SampleODE(ctx, s, f, shape, o)
	return err
}

func TestParse(t *testing.T) {
	for _, p := range []Predictor{EulerMaruyama, ReverseDiffusion, NoPredictor} {
		if q, err := ParsePredictor(p.String()); err != nil || q != p {
			t.Errorf("ParsePredictor(%q) = %v, %v", p.String(), q, err)
		}
	}
	for _, c := range []Corrector{Langevin, NoCorrector} {
		if q, err := ParseCorrector(c.String()); err != nil || q != c {
			t.Errorf("ParseCorrector(%q) = %v, %v", c.String(), q, err)
		}
	}
	if _, err := ParsePredictor("ddim"); err == nil || !strings.Contains(err.Error(), "ddim") {
		t.Errorf("ParsePredictor(ddim) error %v", err)
	}
	if _, err := ParseCorrector("ald2"); err == nil {
		t.Error("ParseCorrector(ald2): no error")
	}
}

// TestPCSchemeConverges compares the exact moments of the discrete PC
// schemes without a corrector (pcMoments, no sampling error) with the ideal
// continuous result (idealMoments): the discretisation error must be below
// 0.2 % of the mean and 1 % of the variance at 500 steps and shrink at 2000.
func TestPCSchemeConverges(t *testing.T) {
	const mu, s = 0.5, 0.6
	for _, sd := range []SDE{DefaultVE(), DefaultVP()} {
		for _, p := range []Predictor{EulerMaruyama, ReverseDiffusion} {
			var prev float64
			for _, steps := range []int{500, 2000} {
				opt := Options{Steps: steps, Predictor: p, Corrector: NoCorrector}
				gm, gv := pcMoments(sd, p, steps, mu, s)
				wm, wv, slack := idealMoments(sd, opt, mu, s)
				em, ev := math.Abs(gm-wm), math.Abs(gv-wv)/wv
				t.Logf("%v %v steps %d: scheme %.5f %.5f, ideal %.5f %.5f (slack %.4f)", sd, p, steps, gm, gv, wm, wv, slack)
				if em > 0.001+slack || ev > 0.01 {
					t.Errorf("%v %v steps %d: scheme mean %.5f var %.5f, ideal %.5f %.5f", sd, p, steps, gm, gv, wm, wv)
				}
				if steps == 2000 && ev > prev {
					t.Errorf("%v %v: variance error %.3g at 2000 steps not below %.3g at 500", sd, p, ev, prev)
				}
				prev = ev
			}
		}
	}
}

// TestPCFromInit: a run started from fixed points x0 at time Start (SDEdit)
// with the exact score of Gaussian data has the moments of the discrete
// scheme started from N(a(t0)·x0, std(t0)²) on the grid's steps from t0, the
// largest grid time <= Start, within 4 standard errors; it ends near x0's posterior, between x0
// and the data mean, and the closer to x0 the earlier it starts.
func TestPCFromInit(t *testing.T) {
	const mu, s, x0, B, D, steps = 0.5, 0.6, 1.5, 5000, 4, 500
	n := float64(B * D)
	init := tensor.Full(x0, B, D)
	var prevM float64
	for i, c := range []struct {
		name  string
		sde   SDE
		pred  Predictor
		start float64
	}{
		{"VE EM t0=0.4", DefaultVE(), EulerMaruyama, 0.4},
		{"VE RD t0=0.4", DefaultVE(), ReverseDiffusion, 0.4},
		{"VP EM t0=0.4", DefaultVP(), EulerMaruyama, 0.4},
		{"VE EM t0=0.2", DefaultVE(), EulerMaruyama, 0.2},
	} {
		opt := Options{Steps: steps, Seed: 3, Predictor: c.pred, Corrector: NoCorrector, Init: init, Start: c.start}
		x, err := SamplePC(context.Background(), c.sde, gaussScore(c.sde, mu, s), []int{B, D}, opt)
		if err != nil {
			t.Fatal(err)
		}
		gotM, gotV := moments(x.Data())
		ds, _ := c.sde.WithN(steps)
		t0 := startGrid(TimeGrid(steps, SampleEps), c.start)[0] // the grid's first time <= Start
		a, std := ds.Marginal(t0)
		wm, wv := pcMomentsFrom(c.sde, c.pred, steps, mu, s, a*x0, std*std, c.start)
		tm, tv := 4*math.Sqrt(wv/n), 4*wv*math.Sqrt(2/n)
		t.Logf("%s: mean %.4f variance %.4f; scheme %.4f ± %.4f, %.4f ± %.4f", c.name, gotM, gotV, wm, tm, wv, tv)
		if math.Abs(gotM-wm) > tm || math.Abs(gotV-wv) > tv {
			t.Errorf("%s: mean %.4f (want %.4f ± %.4f), variance %.4f (want %.4f ± %.4f)", c.name, gotM, wm, tm, gotV, wv, tv)
		}
		if !(gotM > mu && gotM < x0) {
			t.Errorf("%s: mean %.4f not between the data mean %g and the start %g", c.name, gotM, mu, x0)
		}
		if i == 3 && !(gotM > prevM) {
			t.Errorf("starting later (t0 0.2) gave mean %.4f, not closer to x0 than t0 0.4 (%.4f)", gotM, prevM)
		}
		if i == 0 {
			prevM = gotM
		}
	}
}

// TestInitErrors: bad SDEdit starts are errors that name the problem.
func TestInitErrors(t *testing.T) {
	score := gaussScore(DefaultVE(), 0, 1)
	nan := tensor.Full(1, 2, 3)
	nan.Data()[4] = float32(math.NaN())
	for _, c := range []struct {
		opt  Options
		want string
	}{
		{Options{Start: 0.5}, "needs initial points"},
		{Options{Start: 1.5, Init: tensor.Zeros(2, 3)}, "start time"},
		{Options{Start: 1e-6, Init: tensor.Zeros(2, 3)}, "start time"},
		{Options{Start: 0.5, Init: tensor.Zeros(3, 2)}, "initial points [3 2]"},
		{Options{Start: 0.5, Init: nan}, "initial points"},
	} {
		c.opt.Steps = 10
		for _, f := range []func(context.Context, SDE, ScoreFn, []int, Options) error{pcErr, odeErr} {
			if err := f(context.Background(), DefaultVE(), score, []int{2, 3}, c.opt); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%+v: error %v, want %q", c.opt, err, c.want)
			}
		}
	}
}

// TestODEFromInit: the probability-flow ODE started from Init maps each
// start x(t0) = a(t0)·x0 + std(t0)·z (z the run's first draws) onto the exact
// flow of Gaussian data, m_eps + (x(t0) − m_t0)·sqrt(v_eps/v_t0), to 0.2 %
// of sqrt(v_eps) (Heun, 400 steps).
func TestODEFromInit(t *testing.T) {
	const mu, s, x0, B, D, steps, start = 0.5, 0.6, 1.5, 500, 4, 400, 0.45
	for _, sd := range []SDE{DefaultVE(), DefaultVP()} {
		opt := Options{Solver: Heun, Steps: steps, Seed: 4, Init: tensor.Full(x0, B, D), Start: start}
		x, err := SampleODE(context.Background(), sd, gaussScore(sd, mu, s), []int{B, D}, opt)
		if err != nil {
			t.Fatal(err)
		}
		ds, _ := sd.WithN(steps)
		t0 := startGrid(TimeGrid(steps+1, SampleEps), start)[0]
		a, std := ds.Marginal(t0)
		z := tensor.Zeros(B, D)
		tensor.NewRNG(4).FillNormal(z.Data(), 0, 1)
		m0, v0 := gaussMarginal(ds, mu, s, t0)
		me, ve := gaussMarginal(ds, mu, s, SampleEps)
		var se float64
		for i, zv := range z.Data() {
			xt := a*x0 + std*float64(zv)
			want := me + (xt-m0)*math.Sqrt(ve/v0)
			d := float64(x.Data()[i]) - want
			se += d * d
		}
		if rel := math.Sqrt(se/float64(B*D)) / math.Sqrt(ve); rel > 0.002 {
			t.Errorf("%T: RMS error against the exact flow from t0 %.4f: %.3g of sqrt(v)", sd, t0, rel)
		}
	}
}
