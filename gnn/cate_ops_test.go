package gnn

import (
	"math"
	"testing"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/tensor"
)

func TestExpf(t *testing.T) {
	for x := float32(-90); x <= 0; x += 0.0137 {
		want := math.Exp(float64(x))
		got := float64(expf(x))
		if x < -87 {
			if got != 0 {
				t.Fatalf("expf(%g) = %g, want 0", x, got)
			}
			continue
		}
		if math.Abs(got-want) > 4e-7*want {
			t.Fatalf("expf(%g) = %.9g, want %.9g (rel err %.2g)", x, got, want, math.Abs(got-want)/want)
		}
	}
}

func TestELUFast(t *testing.T) {
	x := tensor.FromSlice([]float32{-100, -3, -0.5, -1e-3, 0, 1e-3, 0.7, 5}, 2, 4)
	y := eluFast(nil, autograd.Const(x)).Value
	for i, v := range x.Data() {
		want := float64(v)
		if v <= 0 {
			want = math.Expm1(float64(v))
		}
		if d := math.Abs(float64(y.Data()[i]) - want); d > 1e-6 {
			t.Errorf("elu(%g) = %g, want %g", v, y.Data()[i], want)
		}
	}
	// Gradient check away from the kink at 0.
	in := tensor.FromSlice([]float32{-2.5, -0.8, -0.3, 0.4, 1.2, 3}, 6)
	w := tensor.FromSlice([]float32{0.3, -1.1, 0.7, 2, -0.4, 0.9}, 6)
	err := autograd.CheckGrad(func(tp *autograd.Tape, v []*autograd.Var) *autograd.Var {
		return tp.WeightedSum(eluFast(tp, v[0]), w)
	}, []*tensor.Tensor{in}, autograd.GradCheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
}
