package sde

import (
	"fmt"
	"math"
)

// VPCondScale is the factor score_sde applies to t to form the VP network's
// time-conditioning value (labels = 999·t for continuous training). It is a
// property of the network input, so it does not change with N.
const VPCondScale = 999

// VP is the variance-preserving SDE of DDPM (score_sde's VPSDE):
// β(t) = β_min + t·(β_max − β_min), dx = −½β(t)·x dt + sqrt(β(t)) dw,
// marginal mean e^{m(t)}·x_0 and std sqrt(1 − e^{2m(t)}) with
// m(t) = −¼t²(β_max − β_min) − ½t·β_min, prior N(0, I).
type VP struct {
	betaMin, betaMax float64
	n                int
	betas            []float64 // linspace(β_min/N, β_max/N, N)
}

// NewVP returns a VP-SDE with 0 < betaMin ≤ betaMax discretised into n ≥ 1
// steps. score_sde's discrete β_i = linspace(β_min/N, β_max/N, N) must stay
// below 1, so n must exceed β_max.
func NewVP(betaMin, betaMax float64, n int) (*VP, error) {
	if !finitePositive(betaMin) || !finitePositive(betaMax) || betaMin > betaMax {
		return nil, fmt.Errorf("sde: VP needs 0 < beta_min <= beta_max, got beta_min %g, beta_max %g", betaMin, betaMax)
	}
	if n < 1 {
		return nil, fmt.Errorf("sde: VP needs N >= 1 steps, got %d", n)
	}
	if betaMax/float64(n) >= 1 {
		return nil, fmt.Errorf("sde: VP with beta_max %g needs N > %g steps (discrete beta_max/N must be < 1), got %d", betaMax, betaMax, n)
	}
	s := &VP{betaMin: betaMin, betaMax: betaMax, n: n, betas: make([]float64, n)}
	for i := range s.betas {
		s.betas[i] = linspaceAt(betaMin/float64(n), betaMax/float64(n), n, i)
	}
	return s, nil
}

// DefaultVP is the score_sde VP-SDE: β 0.1 → 20, N = 1000.
func DefaultVP() *VP {
	s, err := NewVP(0.1, 20, 1000)
	if err != nil {
		panic(err) // constant arguments
	}
	return s
}

// N is the number of discretisation steps.
func (s *VP) N() int { return s.n }

// WithN returns the same VP-SDE discretised into n steps (n must exceed
// β_max, see NewVP).
func (s *VP) WithN(n int) (SDE, error) { return NewVP(s.betaMin, s.betaMax, n) }

// Beta is β(t) = β_min + t·(β_max − β_min).
func (s *VP) Beta(t float64) float64 { return s.betaMin + t*(s.betaMax-s.betaMin) }

// DiscreteBetas returns linspace(β_min/N, β_max/N, N) (a copy).
func (s *VP) DiscreteBetas() []float64 { return append([]float64(nil), s.betas...) }

// Coefficients returns a(t) = −½β(t) and g(t) = sqrt(β(t)).
func (s *VP) Coefficients(t float64) (a, g float64) {
	b := s.Beta(t)
	return -0.5 * b, math.Sqrt(b)
}

// logMean is m(t) = −¼t²(β_max − β_min) − ½t·β_min.
func (s *VP) logMean(t float64) float64 {
	return -0.25*t*t*(s.betaMax-s.betaMin) - 0.5*t*s.betaMin
}

// Marginal returns e^{m(t)} and sqrt(1 − e^{2m(t)}).
func (s *VP) Marginal(t float64) (mean, std float64) {
	m := s.logMean(t)
	return math.Exp(m), math.Sqrt(-math.Expm1(2 * m))
}

// PriorStd is 1.
func (s *VP) PriorStd() float64 { return 1 }

// Discretize is the DDPM step at index i = floor(t·(N−1)):
// f = (sqrt(α_i) − 1)·x and G = sqrt(β_i), α_i = 1 − β_i.
func (s *VP) Discretize(t float64) (fa, G float64) {
	b := s.betas[stepIndex(t, s.n)]
	return math.Sqrt(1-b) - 1, math.Sqrt(b)
}

// LangevinAlpha is α_i = 1 − β_i at i = floor(t·(N−1)).
func (s *VP) LangevinAlpha(t float64) float64 { return 1 - s.betas[stepIndex(t, s.n)] }

// Cond is 999·t (score_sde's continuous VP labels).
func (s *VP) Cond(t float64) float32 { return float32(VPCondScale * t) }

// Config describes the SDE.
func (s *VP) Config() Config {
	return Config{Kind: KindVP, BetaMin: s.betaMin, BetaMax: s.betaMax, N: s.n}
}

// String names the SDE.
func (s *VP) String() string {
	return fmt.Sprintf("VP-SDE(beta %g..%g, N=%d)", s.betaMin, s.betaMax, s.n)
}
