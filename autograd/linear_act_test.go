package autograd

import (
	"math"
	"testing"

	"github.com/nagml/nag/tensor"
)

func TestLinearActGradients(t *testing.T) {
	rng := tensor.NewRNG(11)
	for _, act := range []tensor.Act{tensor.ActNone, tensor.ActReLU, tensor.ActELU, tensor.ActSiLU} {
		for _, bias := range []bool{true, false} {
			x := tensor.RandN(rng, 2, 3, 5)
			w := tensor.RandN(rng, 4, 5)
			ins := []*tensor.Tensor{x, w}
			if bias {
				ins = append(ins, tensor.RandN(rng, 4))
			}
			wts := tensor.RandN(rng, 2, 3, 4)
			err := CheckGrad(func(tp *Tape, in []*Var) *Var {
				var b *Var
				if bias {
					b = in[2]
				}
				return tp.WeightedSum(tp.LinearAct(in[0], in[1], b, act), wts)
			}, ins, GradCheckOptions{})
			if err != nil {
				t.Fatalf("act %d bias %v: %v", act, bias, err)
			}
		}
	}
}

func TestLinearActMatchesUnfused(t *testing.T) {
	rng := tensor.NewRNG(12)
	x := tensor.RandN(rng, 37, 29)
	w := tensor.RandN(rng, 23, 29)
	b := tensor.RandN(rng, 23)
	z := tensor.Linear(x, w, b)
	for act, want := range map[tensor.Act]*tensor.Tensor{
		tensor.ActNone: z, tensor.ActReLU: tensor.ReLU(z), tensor.ActELU: tensor.ELU(z, 1), tensor.ActSiLU: tensor.SiLU(z),
	} {
		got := tensor.LinearAct(x, w, b, act).Data()
		for i, v := range want.Data() {
			if math.Abs(float64(got[i]-v)) > 1e-4*math.Max(1, math.Abs(float64(v))) {
				t.Fatalf("act %d: element %d = %g, want %g", act, i, got[i], v)
			}
		}
	}
}
