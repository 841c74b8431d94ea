package sde

import (
	"math"
	"strings"
	"testing"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/tensor"
)

func TestDSMObjectiveGradCheck(t *testing.T) {
	rng := tensor.NewRNG(7)
	s := tensor.RandN(rng, 3, 2, 2)
	z := tensor.RandN(rng, 3, 2, 2)
	std := []float32{0.1, 1.3, 4.0}
	f := func(tp *autograd.Tape, in []*autograd.Var) *autograd.Var {
		out, err := DSMObjective(tp, in[0], std, z)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if err := autograd.CheckGrad(f, []*tensor.Tensor{s}, autograd.GradCheckOptions{Eps: 1e-2, Tol: 1e-2}); err != nil {
		t.Fatal(err)
	}
	// Value: mean over all 12 entries of (std_b·s + z)².
	out, _ := DSMObjective(nil, autograd.Const(s), std, z)
	var want float64
	for i, v := range s.Data() {
		r := float64(std[i/4])*float64(v) + float64(z.Data()[i])
		want += r * r
	}
	want /= 12
	if got := float64(out.Value.Item()); math.Abs(got-want) > 1e-5*want {
		t.Errorf("DSM objective %g, want %g", got, want)
	}
}

// scaleOp is a tiny differentiable op for the tests: θ·x with a scalar
// parameter θ (shape [1]).
func scaleOp(tp *autograd.Tape, theta, x *autograd.Var) *autograd.Var {
	th := theta.Value.Data()[0]
	out := x.Value.Clone()
	for i := range out.Data() {
		out.Data()[i] *= th
	}
	return tp.Record(out, func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		res := make([]*tensor.Tensor, 2)
		gd, xd := g.Data(), x.Value.Contiguous().Data()
		if needs[0] {
			var s float64
			for i := range gd {
				s += float64(gd[i]) * float64(xd[i])
			}
			res[0] = tensor.FromSlice([]float32{float32(s)}, 1)
		}
		if needs[1] {
			gx := tensor.Zeros(x.Shape()...)
			for i := range gd {
				gx.Data()[i] = gd[i] * th
			}
			res[1] = gx
		}
		return res
	}, theta, x)
}

// TestDSMLossAtPlumbing checks that the score sees x_t = mean·x0 + std·z and
// cond = SDE.Cond(t), and that gradients reach the score's parameters.
func TestDSMLossAtPlumbing(t *testing.T) {
	rng := tensor.NewRNG(11)
	x0 := tensor.RandN(rng, 3, 2, 2)
	z := tensor.RandN(rng, 3, 2, 2)
	ts := []float64{1e-5, 0.5, 1}
	for _, s := range []SDE{DefaultVE(), DefaultVP()} {
		score := func(tp *autograd.Tape, xt *autograd.Var, cond []float32) *autograd.Var {
			for b, tt := range ts {
				if cond[b] != s.Cond(tt) {
					t.Errorf("%v: cond[%d] = %g, want %g", s, b, cond[b], s.Cond(tt))
				}
				m, sd := s.Marginal(tt)
				for j := 0; j < 4; j++ {
					i := b*4 + j
					want := m*float64(x0.Data()[i]) + sd*float64(z.Data()[i])
					if got := float64(xt.Value.Data()[i]); math.Abs(got-want) > 1e-5*math.Max(1, math.Abs(want)) {
						t.Errorf("%v: x_t[%d] = %g, want %g", s, i, got, want)
					}
				}
			}
			return autograd.Const(tensor.Zeros(xt.Shape()...))
		}
		// With a zero score the loss is mean(z²).
		l, err := DSMLossAt(nil, s, score, x0, ts, z)
		if err != nil {
			t.Fatal(err)
		}
		var want float64
		for _, v := range z.Data() {
			want += float64(v) * float64(v)
		}
		want /= 12
		if got := float64(l.Value.Item()); math.Abs(got-want) > 1e-5 {
			t.Errorf("%v: loss of zero score %g, want mean(z^2) %g", s, got, want)
		}
		// Gradient to a parameter of the score: s = θ·x_t.
		f := func(tp *autograd.Tape, in []*autograd.Var) *autograd.Var {
			out, err := DSMLossAt(tp, s, func(tp *autograd.Tape, xt *autograd.Var, _ []float32) *autograd.Var {
				return scaleOp(tp, in[0], xt)
			}, x0, ts, z)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		if err := autograd.CheckGrad(f, []*tensor.Tensor{tensor.FromSlice([]float32{-0.3}, 1)}, autograd.GradCheckOptions{Eps: 1e-3}); err != nil {
			t.Errorf("%v: %v", s, err)
		}
	}
}

func TestDSMLossErrors(t *testing.T) {
	s := DefaultVE()
	zero := func(tp *autograd.Tape, xt *autograd.Var, _ []float32) *autograd.Var {
		return autograd.Const(tensor.Zeros(xt.Shape()...))
	}
	bad := func(tp *autograd.Tape, xt *autograd.Var, _ []float32) *autograd.Var {
		return autograd.Const(tensor.Zeros(2, 2))
	}
	x0 := tensor.Zeros(3, 4)
	for _, c := range []struct {
		name string
		err  error
		want string
	}{
		{"empty batch", func() error { _, e := DSMLoss(nil, s, zero, tensor.Zeros(0, 4), tensor.NewRNG(1)); return e }(), "non-empty"},
		{"score shape", func() error { _, e := DSMLoss(nil, s, bad, x0, tensor.NewRNG(1)); return e }(), "score shape"},
		{"times", func() error { _, e := DSMLossAt(nil, s, zero, x0, []float64{0.5}, tensor.Zeros(3, 4)); return e }(), "1 times"},
		{"noise", func() error { _, e := DSMLossAt(nil, s, zero, x0, []float64{1, 1, 1}, tensor.Zeros(4, 3)); return e }(), "noise shape"},
	} {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, c.err, c.want)
		}
	}
}

// gaussScoreVar is c times the exact score of data N(mu, s²·I) under the
// SDE, recovering t from the conditioning value (σ(t) for VE, 999t for VP).
func gaussScoreVar(sd SDE, mu, s, c float64) ScoreVarFn {
	return func(_ *autograd.Tape, xt *autograd.Var, cond []float32) *autograd.Var {
		out := tensor.Zeros(xt.Shape()...)
		b := xt.Shape()[0]
		per := out.Len() / b
		for i := 0; i < b; i++ {
			m, v := gaussMarginal(sd, mu, s, condToT(sd, float64(cond[i])))
			for j := i * per; j < (i+1)*per; j++ {
				out.Data()[j] = float32(-c * (float64(xt.Value.Data()[j]) - m) / v)
			}
		}
		return autograd.Const(out)
	}
}

func condToT(sd SDE, cond float64) float64 {
	switch q := sd.(type) {
	case *VE:
		return math.Log(cond/q.SigmaMin()) / math.Log(q.SigmaMax()/q.SigmaMin())
	default:
		return cond / VPCondScale
	}
}

// gaussMarginal is the mean and variance of p_t for data N(mu, s²).
func gaussMarginal(sd SDE, mu, s, t float64) (mean, v float64) {
	a, std := sd.Marginal(t)
	return a * mu, a*a*s*s + std*std
}

// expectedDSM is E_t E[(std·c·s* + z)²] per entry for data N(mu, s²) and
// the score c·s*: with e = x0 − mu, x_t = a·x0 + std·z and V = a²s² + std²,
//
//	std·c·s* + z = z(1 − c·std²/V) − c·std·a·e/V,
//	E[...²] = (1 − c·std²/V)² + c²·std²·a²·s²/V²,
//
// which for c = 1 is the minimum a²s²/V. Averaged over t ~ U(eps, 1) by
// composite Simpson's rule.
func expectedDSM(sd SDE, s, c float64) float64 {
	const n = 20000
	f := func(t float64) float64 {
		a, std := sd.Marginal(t)
		V := a*a*s*s + std*std
		r := 1 - c*std*std/V
		return r*r + c*c*std*std*a*a*s*s/(V*V)
	}
	h := (1 - TrainEps) / n
	sum := f(TrainEps) + f(1)
	for k := 1; k < n; k++ {
		w := 2.0
		if k%2 == 1 {
			w = 4
		}
		sum += w * f(TrainEps+float64(k)*h)
	}
	return sum * h / 3 / (1 - TrainEps)
}

// TestDSMLossGaussian checks the Monte Carlo DSM loss against its expected
// value for Gaussian data, at the exact score (the minimum) and at 0.8 times
// it, for VE and VP. Bound: 4 standard errors estimated from 20 independent
// batches of 2000×8 entries.
func TestDSMLossGaussian(t *testing.T) {
	const mu, s = 0.3, 0.7
	ve := DefaultVE()
	// Closed form for VE at c = 1: E_t[s²/(s²+σ(t)²)] with
	// ∫ dt/(1 + A·e^{ct}) = t − ln(1 + A·e^{ct})/c, A = σ_min²/s², c = 2 ln(σ_max/σ_min).
	A, cc := 0.01/(s*s), 2*math.Log(50)
	F := func(t float64) float64 { return t - math.Log1p(A*math.Exp(cc*t))/cc }
	closed := (F(1) - F(TrainEps)) / (1 - TrainEps)
	if e := expectedDSM(ve, s, 1); math.Abs(e-closed) > 1e-9 {
		t.Fatalf("quadrature %g disagrees with the closed form %g", e, closed)
	}
	for _, c := range []struct {
		sde   SDE
		scale float64
	}{{ve, 1}, {ve, 0.8}, {DefaultVP(), 1}, {DefaultVP(), 0.8}} {
		rng := tensor.NewRNG(5)
		const K, B, D = 20, 2000, 8
		var m1, m2 float64
		for k := 0; k < K; k++ {
			x0 := tensor.Zeros(B, D)
			rng.FillNormal(x0.Data(), mu, s)
			l, err := DSMLoss(nil, c.sde, gaussScoreVar(c.sde, mu, s, c.scale), x0, rng)
			if err != nil {
				t.Fatal(err)
			}
			v := float64(l.Value.Item())
			m1 += v
			m2 += v * v
		}
		m1 /= K
		se := math.Sqrt((m2/K - m1*m1) / (K - 1))
		want := expectedDSM(c.sde, s, c.scale)
		if math.Abs(m1-want) > 4*se {
			t.Errorf("%v, score×%g: DSM loss %.5f, expected %.5f (4 SE = %.5f)", c.sde, c.scale, m1, want, 4*se)
		}
		t.Logf("%v, score×%g: DSM loss %.5f, expected %.5f, SE %.5f", c.sde, c.scale, m1, want, se)
	}
	// The minimum is strictly below the loss of the scaled score.
	if lo, hi := expectedDSM(ve, s, 1), expectedDSM(ve, s, 0.8); !(lo < hi-0.01) {
		t.Errorf("expected loss at the exact score %g not below the scaled score's %g", lo, hi)
	}
}
