package bo

import (
	"fmt"
	"math"
	"strings"
)

// Acquisition kinds.
const (
	AcqEI  = "ei"  // expected improvement over the incumbent
	AcqUCB = "ucb" // upper confidence bound μ + β·σ
	AcqITS = "its" // independent Thompson sampling: one draw from N(μ, σ²) per candidate
)

// Acquisition scores candidates from the surrogate's mean μ and spread σ
// (maximisation: larger is better). The ensemble forms follow reference §8
// (acq_fn), turned from minimisation into maximisation:
//
//	EI:  (μ − y* − ξ)·Φ(z) + σ·φ(z),  z = (μ − y* − ξ)/σ   (max(μ − y* − ξ, 0) when σ = 0)
//	UCB: μ + β·σ
//	ITS: μ + ε·σ with ε ~ N(0, 1) drawn independently per candidate
//
// For ITS the caller supplies ε (so the same draw can be differentiated
// during guided generation); the other kinds ignore it.
type Acquisition struct {
	Kind string  `json:"kind"`
	Beta float64 `json:"beta,omitempty"` // UCB exploration weight
	Xi   float64 `json:"xi,omitempty"`   // EI improvement margin
}

// ParseAcquisition reads "ei", "ucb", "ucb:BETA" or "its".
func ParseAcquisition(s string) (Acquisition, error) {
	kind, arg, hasArg := strings.Cut(strings.ToLower(strings.TrimSpace(s)), ":")
	a := Acquisition{Kind: kind}
	switch kind {
	case AcqEI, AcqITS:
		if hasArg {
			return a, fmt.Errorf("acquisition %q takes no parameter", s)
		}
	case AcqUCB:
		a.Beta = 0.5 // the reference's default β
		if hasArg {
			var b float64
			if _, err := fmt.Sscanf(arg, "%g", &b); err != nil || b < 0 || math.IsNaN(b) || math.IsInf(b, 0) {
				return a, fmt.Errorf("acquisition %q: β must be a non-negative number", s)
			}
			a.Beta = b
		}
	default:
		return a, fmt.Errorf("unknown acquisition %q (want ei, ucb, ucb:BETA or its)", s)
	}
	return a, nil
}

// String is the form ParseAcquisition reads.
func (a Acquisition) String() string {
	if a.Kind == AcqUCB {
		return fmt.Sprintf("ucb:%g", a.Beta)
	}
	return a.Kind
}

// Value is the acquisition of one candidate with mean mu, spread sd (≥ 0),
// incumbent value best and Thompson draw eps.
func (a Acquisition) Value(mu, sd, best, eps float64) float64 {
	switch a.Kind {
	case AcqUCB:
		return mu + a.Beta*sd
	case AcqITS:
		return mu + eps*sd
	default: // EI
		d := mu - best - a.Xi
		if sd <= 0 {
			return math.Max(d, 0)
		}
		z := d / sd
		return d*normCDF(z) + sd*normPDF(z)
	}
}

// Partials returns ∂Value/∂μ and ∂Value/∂σ, which guided generation chains
// with the surrogate's ∂μ/∂x and ∂σ/∂x.
func (a Acquisition) Partials(mu, sd, best, eps float64) (dMu, dSd float64) {
	switch a.Kind {
	case AcqUCB:
		return 1, a.Beta
	case AcqITS:
		return 1, eps
	default: // EI: ∂/∂μ = Φ(z), ∂/∂σ = φ(z)
		d := mu - best - a.Xi
		if sd <= 0 {
			if d > 0 {
				return 1, 0
			}
			return 0, 0
		}
		z := d / sd
		return normCDF(z), normPDF(z)
	}
}

func normCDF(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }
func normPDF(z float64) float64 { return math.Exp(-0.5*z*z) / math.Sqrt(2*math.Pi) }
