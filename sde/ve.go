package sde

import (
	"fmt"
	"math"
)

// VE is the variance-exploding SDE of SMLD / NCSN (score_sde's VESDE):
// σ(t) = σ_min·(σ_max/σ_min)^t, drift 0, diffusion
// g(t) = σ(t)·sqrt(2·ln(σ_max/σ_min)), marginal x_t = x_0 + σ(t)·z, prior
// N(0, σ_max²·I).
type VE struct {
	sigmaMin, sigmaMax float64
	n                  int
	logRatio           float64   // ln(σ_max/σ_min)
	sigmas             []float64 // exp(linspace(ln σ_min, ln σ_max, n))
}

// NewVE returns a VE-SDE with 0 < sigmaMin < sigmaMax discretised into n ≥ 1
// steps.
func NewVE(sigmaMin, sigmaMax float64, n int) (*VE, error) {
	if !finitePositive(sigmaMin) || !finitePositive(sigmaMax) || sigmaMin >= sigmaMax {
		return nil, fmt.Errorf("sde: VE needs 0 < sigma_min < sigma_max, got sigma_min %g, sigma_max %g", sigmaMin, sigmaMax)
	}
	if n < 1 {
		return nil, fmt.Errorf("sde: VE needs N >= 1 steps, got %d", n)
	}
	s := &VE{sigmaMin: sigmaMin, sigmaMax: sigmaMax, n: n, logRatio: math.Log(sigmaMax / sigmaMin)}
	s.sigmas = make([]float64, n)
	lo, hi := math.Log(sigmaMin), math.Log(sigmaMax)
	for i := range s.sigmas {
		s.sigmas[i] = math.Exp(linspaceAt(lo, hi, n, i))
	}
	return s, nil
}

// DefaultVE is the NB201 VE-SDE: σ 0.1 → 5.0, N = 1000.
func DefaultVE() *VE {
	s, err := NewVE(0.1, 5.0, 1000)
	if err != nil {
		panic(err) // constant arguments
	}
	return s
}

// linspaceAt is element i of linspace(lo, hi, n) (n = 1 gives lo).
func linspaceAt(lo, hi float64, n, i int) float64 {
	if n == 1 {
		return lo
	}
	if i == n-1 {
		return hi
	}
	return lo + (hi-lo)*float64(i)/float64(n-1)
}

// N is the number of discretisation steps.
func (s *VE) N() int { return s.n }

// WithN returns the same VE-SDE discretised into n steps.
func (s *VE) WithN(n int) (SDE, error) { return NewVE(s.sigmaMin, s.sigmaMax, n) }

// SigmaMin is σ(0).
func (s *VE) SigmaMin() float64 { return s.sigmaMin }

// SigmaMax is σ(1), also the prior standard deviation.
func (s *VE) SigmaMax() float64 { return s.sigmaMax }

// Sigma is σ(t) = σ_min·(σ_max/σ_min)^t.
func (s *VE) Sigma(t float64) float64 { return s.sigmaMin * math.Exp(t*s.logRatio) }

// DiscreteSigmas returns the SMLD noise levels exp(linspace(ln σ_min,
// ln σ_max, N)) (a copy).
func (s *VE) DiscreteSigmas() []float64 { return append([]float64(nil), s.sigmas...) }

// Coefficients returns drift coefficient 0 and g(t) = σ(t)·sqrt(2·ln(σ_max/σ_min)).
func (s *VE) Coefficients(t float64) (a, g float64) {
	return 0, s.Sigma(t) * math.Sqrt(2*s.logRatio)
}

// Marginal returns mean coefficient 1 and std σ(t).
func (s *VE) Marginal(t float64) (mean, std float64) { return 1, s.Sigma(t) }

// PriorStd is σ_max.
func (s *VE) PriorStd() float64 { return s.sigmaMax }

// Discretize is the SMLD step at index i = floor(t·(N−1)): f = 0 and
// G = sqrt(σ_i² − σ_{i−1}²) with σ_{−1} = 0.
func (s *VE) Discretize(t float64) (fa, G float64) {
	i := stepIndex(t, s.n)
	sig := s.sigmas[i]
	adj := 0.0
	if i > 0 {
		adj = s.sigmas[i-1]
	}
	return 0, math.Sqrt(sig*sig - adj*adj)
}

// LangevinAlpha is 1 for VE.
func (s *VE) LangevinAlpha(float64) float64 { return 1 }

// Cond is σ(t): the VE score network is conditioned on the noise level.
func (s *VE) Cond(t float64) float32 { return float32(s.Sigma(t)) }

// Config describes the SDE.
func (s *VE) Config() Config {
	return Config{Kind: KindVE, SigmaMin: s.sigmaMin, SigmaMax: s.sigmaMax, N: s.n}
}

// String names the SDE.
func (s *VE) String() string {
	return fmt.Sprintf("VE-SDE(sigma %g..%g, N=%d)", s.sigmaMin, s.sigmaMax, s.n)
}
