package tensor

import (
	"math"
	"testing"
)

func TestFastMathAccuracy(t *testing.T) {
	tests := []struct {
		name   string
		lo, hi float64
		got    func(x float32) float32
		want   func(x float64) float64
		relTol float64
	}{
		{"exp32", -87, 88, exp32, math.Exp, 1.2e-7},
		{"exp32 fallback", -103, -87, exp32, math.Exp, 3e-7},
		{"normCDF32", -12, 8, normCDF32, func(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }, 2.5e-7},
		{"normCDFChunk", -12, 8, func(x float32) float32 {
			c := []float32{0}
			normCDFChunk(c, []float32{x})
			return c[0]
		}, func(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }, 2.5e-7},
		{"sigmoid32", -80, 80, sigmoid32, func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }, 3e-7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const steps = 200001
			worst := 0.0
			for i := 0; i < steps; i++ {
				x := float32(tc.lo + (tc.hi-tc.lo)*float64(i)/(steps-1))
				w := tc.want(float64(x))
				g := float64(tc.got(x))
				if w < 1e-37 { // subnormal results: compare absolutely
					if math.Abs(g-w) > 1e-44 {
						t.Fatalf("%s(%g) = %g, want %g", tc.name, x, g, w)
					}
					continue
				}
				if e := math.Abs(g-w) / w; e > worst {
					worst = e
				}
			}
			if worst > tc.relTol {
				t.Fatalf("%s: worst relative error %.3g > %.3g", tc.name, worst, tc.relTol)
			}
		})
	}
	if v := exp32(float32(math.NaN())); v == v {
		t.Error("exp32(NaN) is not NaN")
	}
	if v := exp32(100); !math.IsInf(float64(v), 1) {
		t.Errorf("exp32(100) = %g, want +Inf", v)
	}
	if v := exp32(-200); v != 0 {
		t.Errorf("exp32(-200) = %g, want 0", v)
	}
}
