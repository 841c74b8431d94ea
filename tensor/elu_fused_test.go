package tensor

import (
	"math"
	"testing"
)

// TestExpm1Neg32Accuracy sweeps e^x - 1 over [-90, 0] (dense near zero,
// where the series branch must keep relative precision) against float64.
func TestExpm1Neg32Accuracy(t *testing.T) {
	xs := []float32{0, -1e-30, -1e-7, -1e-3, -0.4999999, -0.5, -0.5000001, -1, -20, -87, -88, -100, float32(math.Inf(-1))}
	for x := float32(-90); x < 0; x += 0.00731 {
		xs = append(xs, x)
	}
	for x := float32(-1e-4); x < 0; x += 3.7e-7 {
		xs = append(xs, x)
	}
	for _, x := range xs {
		want := math.Expm1(float64(x))
		got := float64(expm1Neg32(x))
		if e := math.Abs(got - want); e > 4e-7*math.Abs(want) {
			t.Fatalf("expm1Neg32(%g) = %.9g, want %.9g (rel err %.2g)", x, got, want, e/math.Abs(want))
		}
	}
	if v := expm1Neg32(float32(math.NaN())); v == v {
		t.Fatalf("expm1Neg32(NaN) = %g, want NaN", v)
	}
}

// TestExpf32Accuracy checks e^x over the clamped range against float64 to
// a relative error of 3e-7.
func TestExpf32Accuracy(t *testing.T) {
	for x := float32(-87.3); x <= 88.3; x += 0.00917 {
		want := math.Exp(float64(x))
		if got := float64(expf32(x)); math.Abs(got-want) > 3e-7*want {
			t.Fatalf("expf32(%g) = %.9g, want %.9g", x, got, want)
		}
	}
	for _, x := range []float32{-1, -2, -3, 0, 1, 2} { // integer multiples hit the floor edge
		want := math.Exp(float64(x))
		if got := float64(expf32(x)); math.Abs(got-want) > 3e-7*want {
			t.Fatalf("expf32(%g) = %.9g, want %.9g", x, got, want)
		}
	}
}

// TestELUFastPath compares ELU, ELUInto (in place and strided) and
// ELUGrad with a float64 reference on random data of edge-case and large
// (parallel) sizes: tolerance 4e-7 relative (+1e-30 absolute).
func TestELUFastPath(t *testing.T) {
	rng := NewRNG(3)
	for _, shape := range [][]int{{0}, {1, 1}, {3, 5}, {7}, {33, 17}, {600, 257}} {
		x := Scale(RandN(rng, shape...), 3)
		g := RandN(rng, shape...)
		for _, alpha := range []float32{1, 0.5} {
			y := ELU(x, alpha)
			dx := ELUGrad(x, g, alpha)
			in := x.Clone()
			ELUInto(in, in, alpha)
			for i, v := range x.Data() {
				want, wantG := float64(v), float64(g.Data()[i])
				if v <= 0 {
					want = float64(alpha) * math.Expm1(float64(v))
					wantG *= float64(alpha) * math.Exp(float64(v))
				}
				tol := 4e-7*math.Abs(want) + 1e-30
				if d := math.Abs(float64(y.Data()[i]) - want); d > tol {
					t.Fatalf("%v alpha %g: ELU(%g) = %g, want %g", shape, alpha, v, y.Data()[i], want)
				}
				if in.Data()[i] != y.Data()[i] {
					t.Fatalf("%v: in-place ELU differs at %d", shape, i)
				}
				if d := math.Abs(float64(dx.Data()[i]) - wantG); d > 4e-7*math.Abs(wantG)+1e-30 {
					t.Fatalf("%v alpha %g: ELUGrad at x=%g: %g, want %g", shape, alpha, v, dx.Data()[i], wantG)
				}
			}
		}
		if len(shape) == 2 {
			st := ELU(x.T(), 1)
			ref := ELU(x.T().Contiguous(), 1)
			for i, v := range ref.Data() {
				if st.Data()[i] != v {
					t.Fatalf("%v: strided ELU differs at %d", shape, i)
				}
			}
		}
	}
	special := FromSlice([]float32{float32(math.Inf(-1)), float32(math.Inf(1)), float32(math.NaN()), 0, -0.0}, 5)
	y := ELU(special, 2).Data()
	if y[0] != -2 || !math.IsInf(float64(y[1]), 1) || y[2] == y[2] || y[3] != 0 || y[4] != 0 {
		t.Fatalf("ELU(-Inf, +Inf, NaN, 0, -0) = %v", y)
	}
}

// TestELUGradFromOutput compares the branch-free kernel with the branching
// definition bit for bit, signed zeros and both signs of large values
// included.
func TestELUGradFromOutput(t *testing.T) {
	rng := NewRNG(3)
	y := RandN(rng, 1001).Data()
	y = append(y, 0, float32(math.Copysign(0, -1)), -1, 1e-30, -1e-30, 40, -0.999999)
	g := RandN(rng, len(y)).Data()
	got := make([]float32, len(y))
	ELUGradFromOutput(got, y, g)
	for i, v := range y {
		want := g[i] * (v + 1)
		if v > 0 {
			want = g[i]
		}
		if math.Float32bits(got[i]) != math.Float32bits(want) {
			t.Fatalf("y %g g %g: got %g, want %g", v, g[i], got[i], want)
		}
	}
}
