package autograd

import (
	"math"
	"testing"

	"github.com/nagml/nag/tensor"
)

// fusedWSum reduces v to a scalar with fixed pseudo-random weights that
// depend only on the shape, so every output element gets a distinct
// upstream gradient and repeated evaluations inside CheckGrad agree.
func fusedWSum(tp *Tape, v *Var) *Var {
	return tp.WeightedSum(v, tensor.RandU(tensor.NewRNG(4242), -1, 1, v.Shape()...))
}

func TestGradNorms(t *testing.T) {
	r := tensor.NewRNG(21)
	u := func(shape ...int) *tensor.Tensor { return tensor.RandU(r, -2, 2, shape...) }
	cases := []struct {
		name   string
		inputs []*tensor.Tensor
		f      func(tp *Tape, in []*Var) *Var
	}{
		{"layernorm-affine", []*tensor.Tensor{u(3, 6), u(6), u(6)}, func(tp *Tape, in []*Var) *Var {
			return fusedWSum(tp, tp.LayerNorm(in[0], in[1], in[2], 1e-5))
		}},
		{"layernorm-rank3-plain", []*tensor.Tensor{u(2, 3, 5)}, func(tp *Tape, in []*Var) *Var {
			return fusedWSum(tp, tp.LayerNorm(in[0], nil, nil, 1e-5))
		}},
		{"layernorm-gamma-only", []*tensor.Tensor{u(4, 4), u(4)}, func(tp *Tape, in []*Var) *Var {
			return fusedWSum(tp, tp.LayerNorm(in[0], in[1], nil, 1e-5))
		}},
		{"groupnorm-affine", []*tensor.Tensor{u(2, 4, 3), u(4), u(4)}, func(tp *Tape, in []*Var) *Var {
			return fusedWSum(tp, tp.GroupNorm(in[0], 2, in[1], in[2], 1e-5))
		}},
		{"groupnorm-rank2-plain", []*tensor.Tensor{u(3, 6)}, func(tp *Tape, in []*Var) *Var {
			return fusedWSum(tp, tp.GroupNorm(in[0], 3, nil, nil, 1e-5))
		}},
		{"groupnorm-rank4", []*tensor.Tensor{u(2, 6, 2, 2), u(6), u(6)}, func(tp *Tape, in []*Var) *Var {
			return fusedWSum(tp, tp.GroupNorm(in[0], 3, in[1], in[2], 1e-5))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := CheckGrad(c.f, c.inputs, GradCheckOptions{}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// attnTestMask is [B=2, N=5, N]: graph 0 has query row 0 fully masked and
// key column 2 masked for every query; graph 1 is a DAG-like upper
// triangle with the last row attending only to itself.
func attnTestMask() *tensor.Tensor {
	m := tensor.Zeros(2, 5, 5)
	for i := 1; i < 5; i++ {
		for j := 0; j < 5; j++ {
			if j != 2 && (i+j)%3 != 0 {
				m.Set(1, 0, i, j)
			}
		}
	}
	for i := 0; i < 5; i++ {
		for j := i + 1; j < 5; j++ {
			m.Set(1, 1, i, j)
		}
	}
	m.Set(1, 1, 4, 4)
	return m
}

func TestGradMaskedAttention(t *testing.T) {
	r := tensor.NewRNG(22)
	mask := attnTestMask()
	// Row 0 of graph 0 must be fully masked for the all-masked case, and
	// every other row of graph 0 must have an unmasked key.
	for j := 0; j < 5; j++ {
		if mask.At(0, 0, j) != 0 {
			t.Fatal("test mask: row 0 of graph 0 should be fully masked")
		}
	}
	u := func() *tensor.Tensor { return tensor.RandU(r, -1.5, 1.5, 2, 3, 5, 4) }
	cases := []struct {
		name  string
		mask  *tensor.Tensor
		dropP float32
	}{
		{"no-mask", nil, 0},
		{"mask-with-all-masked-row", mask, 0},
		{"shared-mask", mask.Slice(0, 1, 2).Reshape(5, 5), 0},
		{"mask-dropout", mask, 0.3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := func(tp *Tape, in []*Var) *Var {
				// A fresh RNG per evaluation: the same dropout mask each time.
				return fusedWSum(tp, tp.MaskedAttention(in[0], in[1], in[2], c.mask, 0.5, c.dropP, tensor.NewRNG(5), true))
			}
			if err := CheckGrad(f, []*tensor.Tensor{u(), u(), u()}, GradCheckOptions{}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestMaskedAttentionZeroWeightAndGradient(t *testing.T) {
	r := tensor.NewRNG(23)
	mask := attnTestMask().Slice(0, 0, 1) // graph 0 only: [1, 5, 5]
	shape := []int{1, 2, 5, 4}
	q, k, v := NewVar(tensor.RandN(r, shape...), true), NewVar(tensor.RandN(r, shape...), true), NewVar(tensor.RandN(r, shape...), true)
	tp := NewTape()
	out := tp.MaskedAttention(q, k, v, mask, 0.5, 0, nil, false)
	grads, err := tp.Grad(fusedWSum(tp, out), q, k, v)
	if err != nil {
		t.Fatal(err)
	}
	dq, dk, dv := grads[0], grads[1], grads[2]
	_, probs := tensor.MaskedAttention(q.Value, k.Value, v.Value, mask, 0.5)
	for h := 0; h < 2; h++ {
		for i := 0; i < 5; i++ {
			if i == 0 {
				// All-masked query row: uniform weights over all keys, and
				// no gradient reaches q_0 (its scores are constants).
				for j := 0; j < 5; j++ {
					if p := probs.At(0, h, 0, j); math.Abs(float64(p)-0.2) > 1e-7 {
						t.Fatalf("all-masked row weight %g, want 0.2", p)
					}
				}
				for d := 0; d < 4; d++ {
					if g := dq.At(0, h, 0, d); g != 0 {
						t.Fatalf("dq of all-masked query = %g, want exactly 0", g)
					}
				}
				continue
			}
			if p := probs.At(0, h, i, 2); p != 0 {
				t.Fatalf("masked key 2 has weight %g for query %d, want exactly 0", p, i)
			}
		}
		// Key 2 is masked for every query: its key gets no gradient. Its
		// value is only used by the all-masked row 0 (weight 0.2).
		for d := 0; d < 4; d++ {
			if g := dk.At(0, h, 2, d); g != 0 {
				t.Fatalf("dk of masked key = %g, want exactly 0", g)
			}
		}
	}
	// Without the all-masked row, the masked key's value gets no gradient either.
	m2 := mask.Clone()
	m2.Set(1, 0, 0, 0)
	tp2 := NewTape()
	q2, k2, v2 := NewVar(q.Value, true), NewVar(k.Value, true), NewVar(v.Value, true)
	g2, err := tp2.Grad(fusedWSum(tp2, tp2.MaskedAttention(q2, k2, v2, m2, 0.5, 0, nil, false)), q2, k2, v2)
	if err != nil {
		t.Fatal(err)
	}
	nonzero := 0
	for h := 0; h < 2; h++ {
		for d := 0; d < 4; d++ {
			if g := g2[2].At(0, h, 2, d); g != 0 {
				t.Fatalf("dv of key masked for all queries = %g, want exactly 0", g)
			}
			if dv.At(0, h, 2, d) != 0 {
				nonzero++
			}
		}
	}
	if nonzero == 0 {
		t.Fatal("dv of key 2 with an all-masked row should be nonzero (uniform weight 0.2)")
	}
}

func TestMaskedAttentionDropoutEval(t *testing.T) {
	// In eval mode (train=false) dropout is off and the op equals the
	// tensor kernel; in train mode with p>0 the output changes.
	r := tensor.NewRNG(24)
	q, k, v := tensor.RandN(r, 2, 2, 4, 3), tensor.RandN(r, 2, 2, 4, 3), tensor.RandN(r, 2, 2, 4, 3)
	want, _ := tensor.MaskedAttention(q, k, v, nil, 0.7)
	got := (*Tape)(nil).MaskedAttention(Const(q), Const(k), Const(v), nil, 0.7, 0.5, tensor.NewRNG(1), false)
	for i, w := range want.Data() {
		if got.Value.Data()[i] != w {
			t.Fatalf("eval out[%d] = %g, want %g", i, got.Value.Data()[i], w)
		}
	}
	tr := (*Tape)(nil).MaskedAttention(Const(q), Const(k), Const(v), nil, 0.7, 0.5, tensor.NewRNG(1), true)
	diff := 0
	for i, w := range want.Data() {
		if tr.Value.Data()[i] != w {
			diff++
		}
	}
	if diff == 0 {
		t.Fatal("train-mode attention dropout p=0.5 left the output unchanged")
	}
}

func TestMSE(t *testing.T) {
	p := tensor.FromSlice([]float32{1, 2, 3, 4}, 2, 2)
	y := tensor.FromSlice([]float32{0, 2, 5, 3}, 2, 2)
	// (1 + 0 + 4 + 1) / 4 = 1.5
	if got := (*Tape)(nil).MSE(Const(p), Const(y)).Value.Item(); got != 1.5 {
		t.Fatalf("MSE = %g, want 1.5", got)
	}
	r := tensor.NewRNG(25)
	f := func(tp *Tape, in []*Var) *Var { return tp.Scale(tp.MSE(in[0], in[1]), 3) }
	if err := CheckGrad(f, []*tensor.Tensor{tensor.RandN(r, 3, 4), tensor.RandN(r, 3, 4)}, GradCheckOptions{}); err != nil {
		t.Fatal(err)
	}
}
