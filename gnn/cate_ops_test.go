package gnn

import (
	"fmt"
	"math"
	"testing"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/tensor"
)

// TestLinearActMatchesReference compares the fused op's value and all three
// gradients with the unfused tape ops (Linear, then ReLU or ELU) on edge
// shapes (one row, odd widths) and on a shape big enough for the parallel
// backward: tolerance 2e-5 relative to max(1, |value|).
func TestLinearActMatchesReference(t *testing.T) {
	rng := tensor.NewRNG(7)
	for _, sh := range [][3]int{{1, 1, 1}, {1, 3, 5}, {7, 5, 3}, {33, 17, 9}, {700, 40, 96}} {
		rows, in, out := sh[0], sh[1], sh[2]
		for _, act := range []tensor.Act{tensor.ActNone, tensor.ActReLU, tensor.ActELU} {
			t.Run(fmt.Sprintf("%v/act%d", sh, act), func(t *testing.T) {
				l := NewLinear("l", in, out, true, rng)
				x := tensor.Scale(tensor.RandN(rng, rows, in), 2)
				w := tensor.RandN(rng, rows, out)
				run := func(fused bool) []*tensor.Tensor {
					tp := autograd.NewTape()
					xv := autograd.NewVar(x, true)
					var y *autograd.Var
					if fused {
						y = linearAct(tp, xv, l, act)
					} else {
						y = tp.Linear(xv, l.Weight, l.Bias)
						switch act {
						case tensor.ActReLU:
							y = tp.ReLU(y)
						case tensor.ActELU:
							y = tp.ELU(y, 1)
						}
					}
					g, err := tp.Grad(tp.WeightedSum(y, w), xv, l.Weight, l.Bias)
					if err != nil {
						t.Fatal(err)
					}
					return append([]*tensor.Tensor{y.Value}, g...)
				}
				got, want := run(true), run(false)
				for i, name := range []string{"value", "dx", "dW", "db"} {
					for j, v := range want[i].Data() {
						if d := math.Abs(float64(got[i].Data()[j] - v)); d > 2e-5*math.Max(1, math.Abs(float64(v))) {
							t.Fatalf("%s[%d] = %g, reference %g", name, j, got[i].Data()[j], v)
						}
					}
				}
			})
		}
	}
}

// TestLinearActGradCheck checks the fused op against finite differences
// (inputs away from the kinks of ReLU/ELU at 0 are likely with this seed;
// the tolerance covers float32 noise).
func TestLinearActGradCheck(t *testing.T) {
	rng := tensor.NewRNG(8)
	l := NewLinear("l", 4, 5, true, rng)
	x := tensor.RandN(rng, 3, 4)
	w := tensor.RandN(rng, 3, 5)
	for _, act := range []tensor.Act{tensor.ActNone, tensor.ActReLU, tensor.ActELU} {
		err := autograd.CheckGrad(func(tp *autograd.Tape, v []*autograd.Var) *autograd.Var {
			ll := &Linear{Weight: v[1], Bias: v[2], In: 4, Out: 5}
			return tp.WeightedSum(linearAct(tp, v[0], ll, act), w)
		}, []*tensor.Tensor{x, l.Weight.Value, l.Bias.Value}, autograd.GradCheckOptions{})
		if err != nil {
			t.Fatalf("act %d: %v", act, err)
		}
	}
}

// TestActGradBiasSumWorkers checks that the parallel pass gives the serial
// result for several row counts (bias sums to 1e-5 relative).
func TestActGradBiasSumWorkers(t *testing.T) {
	rng := tensor.NewRNG(9)
	for _, rows := range []int{1, 63, 1000} {
		n := 37
		y := tensor.RandN(rng, rows, n).Data()
		g := tensor.RandN(rng, rows, n).Data()
		gz, db := actGradBiasSum(y, g, rows, n, tensor.ActELU, true)
		for j := 0; j < n; j++ {
			var sum float64
			for r := 0; r < rows; r++ {
				want := g[r*n+j]
				if y[r*n+j] <= 0 {
					want *= y[r*n+j] + 1
				}
				if gz[r*n+j] != want {
					t.Fatalf("rows %d: gz[%d,%d] = %g, want %g", rows, r, j, gz[r*n+j], want)
				}
				sum += float64(want)
			}
			if math.Abs(float64(db[j])-sum) > 1e-5*math.Max(1, math.Abs(sum))*math.Sqrt(float64(rows)) {
				t.Fatalf("rows %d: db[%d] = %g, want %g", rows, j, db[j], sum)
			}
		}
	}
}
