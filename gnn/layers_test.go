package gnn

import (
	"math"
	"strings"
	"testing"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/tensor"
)

func TestJoinNameAndParamMap(t *testing.T) {
	cases := []struct{ prefix, name, want string }{
		{"", "weight", "weight"},
		{"blocks.3.attn", "q", "blocks.3.attn.q"},
		{"x", "", "x"},
	}
	for _, c := range cases {
		if got := JoinName(c.prefix, c.name); got != c.want {
			t.Errorf("JoinName(%q, %q) = %q, want %q", c.prefix, c.name, got, c.want)
		}
	}
	rng := tensor.NewRNG(1)
	mha := NewMultiHeadAttention("blocks.3.attn", 16, 4, 0.1, rng)
	pm, err := ParamMap(mha)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"blocks.3.attn.q.weight", "blocks.3.attn.k.bias", "blocks.3.attn.v.weight", "blocks.3.attn.out.bias"} {
		if _, ok := pm[n]; !ok {
			t.Errorf("missing parameter %q in %v", n, keys(pm))
		}
	}
	if len(pm) != 8 {
		t.Errorf("MHA has %d parameters, want 8", len(pm))
	}
	dup := moduleFunc(func() []*autograd.Var {
		return CollectParams(NewLinear("a", 2, 2, true, rng), NewLinear("a", 2, 2, false, rng))
	})
	if _, err := ParamMap(dup); err == nil || !strings.Contains(err.Error(), `"a.weight"`) {
		t.Fatalf("duplicate names: err = %v, want one naming a.weight", err)
	}
}

type moduleFunc func() []*autograd.Var

func (f moduleFunc) Params() []*autograd.Var { return f() }

func keys(m map[string]*autograd.Var) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestLinearInitAndForward(t *testing.T) {
	cases := []struct {
		name      string
		in, out   int
		init      Init
		wantBound float64
	}{
		{"torch-default", 64, 32, InitTorchDefault, 1 / math.Sqrt(64)},
		{"xavier", 64, 32, InitXavierUniform, math.Sqrt(6.0 / 96)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := NewLinearInit("fc", c.in, c.out, true, c.init, tensor.NewRNG(3))
			if !tensor.EqualInts(l.Weight.Shape(), []int{c.out, c.in}) || !tensor.EqualInts(l.Bias.Shape(), []int{c.out}) {
				t.Fatalf("shapes %v %v", l.Weight.Shape(), l.Bias.Shape())
			}
			var maxW float64
			for _, w := range l.Weight.Value.Data() {
				maxW = math.Max(maxW, math.Abs(float64(w)))
			}
			if maxW > c.wantBound || maxW < 0.95*c.wantBound {
				t.Fatalf("max |w| = %g, want just under the bound %g", maxW, c.wantBound)
			}
			var maxB float64
			for _, b := range l.Bias.Value.Data() {
				maxB = math.Max(maxB, math.Abs(float64(b)))
			}
			switch c.init {
			case InitTorchDefault:
				if maxB > 1/math.Sqrt(float64(c.in)) || maxB == 0 {
					t.Fatalf("bias max %g, want in (0, %g]", maxB, 1/math.Sqrt(float64(c.in)))
				}
			case InitXavierUniform:
				if maxB != 0 {
					t.Fatalf("xavier bias max %g, want 0", maxB)
				}
			}
			// Same seed, same weights.
			l2 := NewLinearInit("fc", c.in, c.out, true, c.init, tensor.NewRNG(3))
			for i, w := range l.Weight.Value.Data() {
				if l2.Weight.Value.Data()[i] != w {
					t.Fatal("same seed gave different weights")
				}
			}
			// Forward equals x·Wᵀ + b computed with loops.
			x := tensor.RandN(tensor.NewRNG(4), 2, 3, c.in)
			y := l.Forward(Ctx{}, autograd.Const(x)).Value
			if !tensor.EqualInts(y.Shape(), []int{2, 3, c.out}) {
				t.Fatalf("output shape %v", y.Shape())
			}
			for r := 0; r < 6; r++ {
				for o := 0; o < c.out; o++ {
					s := float64(l.Bias.Value.At(o))
					for i := 0; i < c.in; i++ {
						s += float64(x.At(r/3, r%3, i)) * float64(l.Weight.Value.At(o, i))
					}
					if got := float64(y.At(r/3, r%3, o)); math.Abs(got-s) > 1e-5 {
						t.Fatalf("y[%d,%d] = %g, want %g", r, o, got, s)
					}
				}
			}
		})
	}
}

func TestLayerNormAndGroupNormModules(t *testing.T) {
	rng := tensor.NewRNG(5)
	ln := NewLayerNorm("ln", 8)
	x := tensor.RandN(rng, 4, 8)
	y := ln.Forward(Ctx{}, autograd.Const(x)).Value
	for r := 0; r < 4; r++ {
		var m, v float64
		for j := 0; j < 8; j++ {
			m += float64(y.At(r, j))
		}
		m /= 8
		for j := 0; j < 8; j++ {
			d := float64(y.At(r, j)) - m
			v += d * d
		}
		v /= 8
		if math.Abs(m) > 1e-6 || math.Abs(v-1) > 1e-3 {
			t.Fatalf("row %d after LayerNorm: mean %g var %g, want 0 and ~1", r, m, v)
		}
	}
	if ln.Weight.Name != "ln.weight" || ln.Bias.Name != "ln.bias" || ln.Eps != 1e-5 {
		t.Fatalf("LayerNorm names %q %q eps %g", ln.Weight.Name, ln.Bias.Name, ln.Eps)
	}
	gn := NewGroupNorm("gn", 2, 4)
	xg := tensor.FromSlice([]float32{1, 2, 3, 4, 0, 0, 0, 4}, 1, 4, 2)
	yg := gn.Forward(Ctx{}, autograd.Const(xg)).Value
	// Group 1 = {0,0,0,4}: mean 1, var 3 (+1e-5).
	want := (4 - 1) / math.Sqrt(3+1e-5)
	if got := float64(yg.At(0, 3, 1)); math.Abs(got-want) > 1e-5 {
		t.Fatalf("GroupNorm module: %g, want %g", got, want)
	}
}

func TestDropoutTrainEval(t *testing.T) {
	x := tensor.Full(2, 100, 50)
	d := NewDropout(0.2)
	xv := autograd.Const(x)
	if y := d.Forward(Ctx{Train: false}, xv); y != xv {
		t.Fatal("eval-mode dropout is not the identity")
	}
	y1 := d.Forward(Ctx{Train: true, RNG: tensor.NewRNG(9)}, xv).Value.Data()
	y2 := d.Forward(Ctx{Train: true, RNG: tensor.NewRNG(9)}, xv).Value.Data()
	zeros := 0
	for i, v := range y1 {
		switch v {
		case 0:
			zeros++
		case 2 / 0.8:
		default:
			t.Fatalf("train dropout value %g, want 0 or %g", v, 2/0.8)
		}
		if y2[i] != v {
			t.Fatal("same seed gave different dropout")
		}
	}
	if f := float64(zeros) / float64(len(y1)); f < 0.17 || f > 0.23 {
		t.Fatalf("dropped fraction %.3f, want ~0.2", f)
	}
}

func TestMLP(t *testing.T) {
	t.Run("readout-param-count", func(t *testing.T) {
		// The reference's readout MLP 768 → 1536 → 1536 → 7 has 3,552,775
		// parameters (reference.md §2).
		m := NewMLP("final", []int{768, 1536, 1536, 7}, ActELU, 0, tensor.NewRNG(1))
		if n := NumParams(m); n != 3552775 {
			t.Fatalf("NumParams = %d, want 3552775", n)
		}
		if got := m.Layers[2].Bias.Name; got != "final.layers.2.bias" {
			t.Fatalf("name %q", got)
		}
	})
	for _, act := range []Activation{ActReLU, ActELU, ActSiLU, ActTanh, ActGELU} {
		t.Run("forward-"+act.String(), func(t *testing.T) {
			m := NewMLP("m", []int{5, 7, 3}, act, 0, tensor.NewRNG(2))
			x := autograd.Const(tensor.RandN(tensor.NewRNG(3), 4, 5))
			y := m.Forward(Ctx{}, x).Value
			h := act.Apply(nil, m.Layers[0].Forward(Ctx{}, x))
			want := m.Layers[1].Forward(Ctx{}, h).Value
			if !tensor.EqualInts(y.Shape(), []int{4, 3}) {
				t.Fatalf("shape %v", y.Shape())
			}
			for i, w := range want.Data() {
				if y.Data()[i] != w {
					t.Fatalf("y[%d] = %g, want %g", i, y.Data()[i], w)
				}
			}
			// Check one activation value by hand on element 0.
			pre := float64(m.Layers[0].Forward(Ctx{}, x).Value.Data()[0])
			var a float64
			switch act {
			case ActReLU:
				a = math.Max(0, pre)
			case ActELU:
				a = pre
				if pre < 0 {
					a = math.Expm1(pre)
				}
			case ActSiLU:
				a = pre / (1 + math.Exp(-pre))
			case ActTanh:
				a = math.Tanh(pre)
			case ActGELU:
				a = pre * 0.5 * (1 + math.Erf(pre/math.Sqrt2))
			}
			if got := float64(h.Value.Data()[0]); math.Abs(got-a) > 1e-5 {
				t.Fatalf("%v(%g) = %g, want %g", act, pre, got, a)
			}
		})
	}
	t.Run("dropout", func(t *testing.T) {
		m := NewMLP("m", []int{6, 64, 2}, ActReLU, 0.5, tensor.NewRNG(2))
		x := autograd.Const(tensor.RandN(tensor.NewRNG(3), 3, 6))
		e1, e2 := m.Forward(Ctx{}, x).Value.Data(), m.Forward(Ctx{}, x).Value.Data()
		t1 := m.Forward(Ctx{Train: true, RNG: tensor.NewRNG(7)}, x).Value.Data()
		t2 := m.Forward(Ctx{Train: true, RNG: tensor.NewRNG(7)}, x).Value.Data()
		same := true
		for i := range e1 {
			if e1[i] != e2[i] || t1[i] != t2[i] {
				t.Fatal("MLP not deterministic for a fixed seed / in eval")
			}
			if t1[i] != e1[i] {
				same = false
			}
		}
		if same {
			t.Fatal("train-mode dropout 0.5 did not change the output")
		}
	})
	if _, err := ParseActivation("swish"); err != nil {
		t.Fatal(err)
	}
	if a, _ := ParseActivation("Swish"); a != ActSiLU {
		t.Fatalf("swish parsed as %v", a)
	}
	if _, err := ParseActivation("mish"); err == nil || !strings.Contains(err.Error(), "mish") {
		t.Fatalf("ParseActivation(mish) err = %v", err)
	}
}
