package bo

import (
	"math"
	"testing"
)

func TestAcquisitionValues(t *testing.T) {
	tests := []struct {
		name              string
		acq               Acquisition
		mu, sd, best, eps float64
		want              float64
	}{
		{"ucb", Acquisition{Kind: AcqUCB, Beta: 0.5}, 1.0, 2.0, 0, 0, 2.0},
		{"ucb-beta2", Acquisition{Kind: AcqUCB, Beta: 2}, -1.0, 0.25, 5, 0, -0.5},
		{"its", Acquisition{Kind: AcqITS}, 1.0, 2.0, 0, -0.75, -0.5},
		// EI at z = 0: σ·φ(0) = σ/sqrt(2π).
		{"ei-z0", Acquisition{Kind: AcqEI}, 3, 2, 3, 0, 2 / math.Sqrt(2*math.Pi)},
		// EI with d = 1, σ = 1: Φ(1) + φ(1) = 0.8413447460685429 + 0.24197072451914337.
		{"ei-z1", Acquisition{Kind: AcqEI}, 2, 1, 1, 0, 0.8413447460685429 + 0.24197072451914337},
		// EI with margin ξ = 1 moves z to 0.
		{"ei-xi", Acquisition{Kind: AcqEI, Xi: 1}, 2, 1, 1, 0, 1 / math.Sqrt(2*math.Pi)},
		{"ei-sd0-above", Acquisition{Kind: AcqEI}, 2, 0, 1, 0, 1},
		{"ei-sd0-below", Acquisition{Kind: AcqEI}, 0, 0, 1, 0, 0},
	}
	for _, tc := range tests {
		got := tc.acq.Value(tc.mu, tc.sd, tc.best, tc.eps)
		if math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: value %.15g, want %.15g", tc.name, got, tc.want)
		}
	}
}

func TestAcquisitionPartialsMatchFiniteDifferences(t *testing.T) {
	acqs := []Acquisition{{Kind: AcqEI}, {Kind: AcqEI, Xi: 0.3}, {Kind: AcqUCB, Beta: 0.7}, {Kind: AcqITS}}
	points := [][3]float64{{0.2, 0.5, 0.1}, {-1, 0.3, 0.5}, {2, 1.5, 0}, {0.4, 0.05, 0.5}}
	const h = 1e-6
	for _, a := range acqs {
		for _, p := range points {
			mu, sd, best, eps := p[0], p[1], p[2], -0.4
			dMu, dSd := a.Partials(mu, sd, best, eps)
			nMu := (a.Value(mu+h, sd, best, eps) - a.Value(mu-h, sd, best, eps)) / (2 * h)
			nSd := (a.Value(mu, sd+h, best, eps) - a.Value(mu, sd-h, best, eps)) / (2 * h)
			if math.Abs(dMu-nMu) > 1e-6 || math.Abs(dSd-nSd) > 1e-6 {
				t.Errorf("%s at %v: partials (%g, %g), numeric (%g, %g)", a, p, dMu, dSd, nMu, nSd)
			}
		}
	}
}

func TestParseAcquisition(t *testing.T) {
	good := map[string]Acquisition{
		"ei": {Kind: AcqEI}, "ITS": {Kind: AcqITS}, "ucb": {Kind: AcqUCB, Beta: 0.5}, "ucb:2": {Kind: AcqUCB, Beta: 2},
	}
	for in, want := range good {
		got, err := ParseAcquisition(in)
		if err != nil || got != want {
			t.Errorf("ParseAcquisition(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "pi", "ucb:-1", "ucb:x", "ei:3"} {
		if _, err := ParseAcquisition(bad); err == nil {
			t.Errorf("ParseAcquisition(%q): no error", bad)
		}
	}
}
