package sde

import (
	"math"
	"strings"
	"testing"

	"github.com/nagml/nag/tensor"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// TestVEClosedForm checks σ(t), g(t), the marginal and the discrete σ grid
// of the NB201 VE-SDE against the reference's closed forms (§3).
func TestVEClosedForm(t *testing.T) {
	s := DefaultVE()
	for _, c := range []struct{ t, sigma float64 }{
		{0, 0.1}, {0.5, math.Sqrt(0.1 * 5.0)}, {1, 5}, {0.25, 0.1 * math.Pow(50, 0.25)},
	} {
		if got := s.Sigma(c.t); !near(got, c.sigma, 1e-12) {
			t.Errorf("sigma(%g) = %.15g, want %.15g", c.t, got, c.sigma)
		}
		mean, std := s.Marginal(c.t)
		if mean != 1 || !near(std, c.sigma, 1e-12) {
			t.Errorf("marginal(%g) = (%g, %g), want (1, %g)", c.t, mean, std, c.sigma)
		}
		a, g := s.Coefficients(c.t)
		// sqrt(2 ln 50) = 2.79715... (reference §3)
		if a != 0 || !near(g, c.sigma*2.797149, 1e-5*c.sigma) {
			t.Errorf("coefficients(%g) = (%g, %g), want (0, %g)", c.t, a, g, c.sigma*2.797149)
		}
		if got := float64(s.Cond(c.t)); !near(got, c.sigma, 1e-6*c.sigma) {
			t.Errorf("cond(%g) = %g, want sigma %g", c.t, got, c.sigma)
		}
	}
	if s.PriorStd() != 5 {
		t.Errorf("prior std %g, want 5", s.PriorStd())
	}
	ds := s.DiscreteSigmas()
	if len(ds) != 1000 || !near(ds[0], 0.1, 1e-12) || !near(ds[999], 5, 1e-12) {
		t.Fatalf("discrete sigmas: len %d, ends %g..%g; want 1000, 0.1..5", len(ds), ds[0], ds[len(ds)-1])
	}
	ratio := math.Pow(50, 1.0/999)
	for i := 1; i < len(ds); i++ {
		if !near(ds[i]/ds[i-1], ratio, 1e-12) {
			t.Fatalf("discrete sigmas not geometric at %d: ratio %g, want %g", i, ds[i]/ds[i-1], ratio)
		}
	}
	// SMLD discretisation: G_i² = σ_i² − σ_{i−1}², so the G² telescope to σ_max².
	var sum float64
	for i := 0; i < 1000; i++ {
		ti := float64(i) / 999
		if i > 0 && i < 999 {
			ti += 1e-9 // stay inside bucket i despite rounding
		}
		fa, G := s.Discretize(ti)
		if fa != 0 {
			t.Fatalf("VE discretize f = %g, want 0", fa)
		}
		sum += G * G
	}
	if !near(sum, 25, 1e-9) {
		t.Errorf("sum of SMLD G^2 = %.12g, want sigma_max^2 = 25", sum)
	}
	if _, G := s.Discretize(0); !near(G, 0.1, 1e-12) {
		t.Errorf("G at t=0 is %g, want sigma_min 0.1 (sigma_{-1} = 0)", G)
	}
	if _, G := s.Discretize(1); !near(G, math.Sqrt(25-ds[998]*ds[998]), 1e-12) {
		t.Errorf("G at t=1 is %g", G)
	}
	if s.LangevinAlpha(0.3) != 1 {
		t.Errorf("VE Langevin alpha %g, want 1", s.LangevinAlpha(0.3))
	}
}

// TestVPClosedForm checks the VP schedule, marginal and discretisation.
func TestVPClosedForm(t *testing.T) {
	s := DefaultVP()
	for _, tt := range []float64{0, 0.3, 1} {
		beta := 0.1 + tt*19.9
		a, g := s.Coefficients(tt)
		if !near(a, -beta/2, 1e-12) || !near(g, math.Sqrt(beta), 1e-12) {
			t.Errorf("coefficients(%g) = (%g, %g), want (%g, %g)", tt, a, g, -beta/2, math.Sqrt(beta))
		}
		m := -0.25*tt*tt*19.9 - 0.5*tt*0.1
		mean, std := s.Marginal(tt)
		if !near(mean, math.Exp(m), 1e-12) || !near(std*std, 1-math.Exp(2*m), 1e-12) {
			t.Errorf("marginal(%g) = (%g, %g)", tt, mean, std)
		}
		if got := float64(s.Cond(tt)); !near(got, 999*tt, 1e-4) {
			t.Errorf("cond(%g) = %g, want %g", tt, got, 999*tt)
		}
	}
	b := s.DiscreteBetas()
	if len(b) != 1000 || !near(b[0], 0.1/1000, 1e-15) || !near(b[999], 0.02, 1e-15) {
		t.Fatalf("discrete betas: len %d, ends %g..%g", len(b), b[0], b[len(b)-1])
	}
	fa, G := s.Discretize(1)
	if !near(fa, math.Sqrt(0.98)-1, 1e-12) || !near(G, math.Sqrt(0.02), 1e-12) {
		t.Errorf("discretize(1) = (%g, %g)", fa, G)
	}
	if got := s.LangevinAlpha(1); !near(got, 0.98, 1e-12) {
		t.Errorf("Langevin alpha(1) = %g, want 0.98", got)
	}
	// The product of the DDPM α_i approximates the continuous mean
	// coefficient squared, exp(−∫β): log difference is Σβ_i²/2 ≈ 0.067.
	logProd := 0.0
	for _, bi := range b {
		logProd += math.Log(1 - bi)
	}
	m1, _ := s.Marginal(1)
	if d := math.Abs(logProd - 2*math.Log(m1)); d > 0.1 {
		t.Errorf("log prod(alpha_i) = %g, 2 log mean(1) = %g", logProd, 2*math.Log(m1))
	}
}

// TestMarginalMatchesSDE integrates the moment equations of the linear SDE
// dx = a(t)x dt + g(t) dw (mean' = a·mean, var' = 2a·var + g²) with RK4 and
// compares them with Marginal: this ties Coefficients and Marginal together.
func TestMarginalMatchesSDE(t *testing.T) {
	for _, s := range []SDE{DefaultVE(), DefaultVP(), mustVE(t, 0.1, 1.0, 1000), mustVP(t, 1, 5, 100)} {
		m0, s0 := s.Marginal(0)
		m, v := m0, s0*s0
		const steps = 4000
		h := 1.0 / steps
		f := func(tt, m, v float64) (float64, float64) {
			a, g := s.Coefficients(tt)
			return a * m, 2*a*v + g*g
		}
		for k := 0; k < steps; k++ {
			tt := float64(k) * h
			k1m, k1v := f(tt, m, v)
			k2m, k2v := f(tt+h/2, m+h/2*k1m, v+h/2*k1v)
			k3m, k3v := f(tt+h/2, m+h/2*k2m, v+h/2*k2v)
			k4m, k4v := f(tt+h, m+h*k3m, v+h*k3v)
			m += h / 6 * (k1m + 2*k2m + 2*k3m + k4m)
			v += h / 6 * (k1v + 2*k2v + 2*k3v + k4v)
			if k+1 == steps/2 || k+1 == steps {
				wm, ws := s.Marginal(tt + h)
				if !near(m, wm, 1e-9) || !near(v, ws*ws, 1e-8*math.Max(1, ws*ws)) {
					t.Errorf("%v at t=%g: integrated mean %g var %g, marginal %g %g", s, tt+h, m, v, wm, ws*ws)
				}
			}
		}
	}
}

func mustVE(t *testing.T, lo, hi float64, n int) *VE {
	t.Helper()
	s, err := NewVE(lo, hi, n)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustVP(t *testing.T, lo, hi float64, n int) *VP {
	t.Helper()
	s, err := NewVP(lo, hi, n)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConfig(t *testing.T) {
	for _, cfg := range []Config{DefaultVEConfig(), DefaultVPConfig(), {Kind: "VE", SigmaMin: 0.1, SigmaMax: 20, N: 500}} {
		s, err := New(cfg)
		if err != nil {
			t.Fatalf("New(%+v): %v", cfg, err)
		}
		got := s.Config()
		want := cfg
		want.Kind = strings.ToLower(want.Kind)
		if got != want {
			t.Errorf("Config round trip: got %+v, want %+v", got, want)
		}
		s2, err := s.WithN(37 + int(cfg.BetaMax))
		if err != nil || s2.N() != 37+int(cfg.BetaMax) {
			t.Errorf("WithN: %v, N %d", err, s2.N())
		}
	}
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Kind: "ddpm", N: 10}, "unknown kind"},
		{Config{Kind: "ve", SigmaMin: 1, SigmaMax: 0.5, N: 10}, "sigma_min < sigma_max"},
		{Config{Kind: "ve", SigmaMin: 0, SigmaMax: 5, N: 10}, "sigma_min"},
		{Config{Kind: "ve", SigmaMin: 0.1, SigmaMax: math.NaN(), N: 10}, "sigma_max"},
		{Config{Kind: "ve", SigmaMin: 0.1, SigmaMax: 5, N: 0}, "N >= 1"},
		{Config{Kind: "vp", BetaMin: -1, BetaMax: 20, N: 1000}, "beta_min"},
		{Config{Kind: "vp", BetaMin: 0.1, BetaMax: 20, N: 20}, "needs N > 20"},
	} {
		if _, err := New(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v) error %v, want one containing %q", c.cfg, err, c.want)
		}
	}
}

func TestScaleData(t *testing.T) {
	x := tensor.FromSlice([]float32{0, 1, 0.5, 0.25}, 2, 2)
	y := ScaleData(x)
	want := []float32{-1, 1, 0, -0.5}
	for i, v := range y.Data() {
		if v != want[i] {
			t.Fatalf("ScaleData = %v, want %v", y.Data(), want)
		}
	}
	if x.Data()[0] != 0 {
		t.Fatal("ScaleData modified its input")
	}
	z := UnscaleData(y)
	for i, v := range z.Data() {
		if v != x.Data()[i] {
			t.Fatalf("UnscaleData(ScaleData(x)) = %v, want %v", z.Data(), x.Data())
		}
	}
}

func TestPriorSample(t *testing.T) {
	x := PriorSample(DefaultVE(), tensor.NewRNG(3), 4000, 5)
	var s2 float64
	for _, v := range x.Data() {
		s2 += float64(v) * float64(v)
	}
	// E[x²] = 25; the estimate over 20000 draws has SE 25·sqrt(2/20000) = 0.25.
	if v := s2 / float64(x.Len()); !near(v, 25, 1.0) {
		t.Errorf("prior second moment %g, want 25 ± 1", v)
	}
}
