package gnn

import (
	"math"
	"strings"
	"testing"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/tensor"
)

// nb201Mask is the reference get_adj adjacency (reference §1.2).
func nb201Mask() *tensor.Tensor {
	m := tensor.Zeros(8, 8)
	for _, e := range [][2]int{{0, 1}, {0, 2}, {0, 3}, {1, 4}, {1, 5}, {2, 6}, {3, 7}, {4, 6}, {5, 7}, {6, 7}} {
		m.Set(1, e[0], e[1])
	}
	return m
}

func tinyConfig() CATEConfig {
	return CATEConfig{Nodes: 8, Vocab: 7, Layers: 2, DModel: 8, Heads: 2, DFF: 12, TimeHidden: 6,
		MLPHidden: []int{10}, Dropout: 0.1, PosEnc: "cell"}
}

func TestCATEParamCount(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  CATEConfig
		want int
	}{
		{"paper-nb201", PaperCATEConfig(8, 7), 3989575},
		// OFA: same dims with V = 9 and 20 nodes (reference §2: 3,992,777).
		{"paper-ofa", func() CATEConfig {
			c := PaperCATEConfig(20, 9)
			c.PosEnc, c.StageLen = "stagewise", 4
			return c
		}(), 3992777},
		// Medium preset on the OFA space (what nag mbv3-train-score --config medium builds).
		{"medium-ofa", func() CATEConfig {
			c := MediumCATEConfig(20, 9)
			c.PosEnc, c.StageLen = "stagewise", 4
			return c
		}(), 302025},
	} {
		m, err := NewCATE(c.cfg, tensor.NewRNG(1))
		if err != nil {
			t.Fatal(err)
		}
		if got := m.NumParams(); got != c.want {
			t.Errorf("%s: %d parameters, want %d", c.name, got, c.want)
		}
	}
	m, _ := NewCATE(PaperCATEConfig(8, 7), tensor.NewRNG(1))
	names := map[string]bool{}
	for _, p := range m.Params() {
		if names[p.Name] {
			t.Errorf("duplicate parameter name %q", p.Name)
		}
		names[p.Name] = true
	}
	for _, n := range []string{"embed.weight", "time.0.bias", "blocks.11.attn.q.weight", "blocks.0.norm_out.bias", "readout.2.weight"} {
		if !names[n] {
			t.Errorf("missing parameter %q", n)
		}
	}
	if w := m.Params()[0]; !tensor.EqualInts(w.Shape(), []int{64, 7}) {
		t.Errorf("embed.weight shape %v, want [64 7] (PyTorch [out, in])", w.Shape())
	}
}

func TestCATEConfigValidate(t *testing.T) {
	bad := []func(*CATEConfig){
		func(c *CATEConfig) { c.Heads = 3 },
		func(c *CATEConfig) { c.Layers = 0 },
		func(c *CATEConfig) { c.Dropout = 1 },
		func(c *CATEConfig) { c.PosEnc = "learned" },
		func(c *CATEConfig) { c.PosEnc = "stagewise"; c.StageLen = 0 },
		func(c *CATEConfig) { c.MLPHidden = []int{4, 0} },
		func(c *CATEConfig) { c.DModel = 7; c.Heads = 7 },
	}
	for i, f := range bad {
		c := tinyConfig()
		f(&c)
		if _, err := NewCATE(c, tensor.NewRNG(1)); err == nil {
			t.Errorf("case %d: invalid config %+v accepted", i, c)
		}
	}
	c := SmallCATEConfig(8, 7)
	back, err := ParseCATEConfig(c.JSON())
	if err != nil || back.Layers != c.Layers || back.DModel != c.DModel || len(back.MLPHidden) != len(c.MLPHidden) {
		t.Errorf("JSON round trip: %+v, %v", back, err)
	}
	if _, err := ParseCATEConfig([]byte(`{"nodes": 8`)); err == nil {
		t.Error("truncated JSON accepted")
	}
	if _, err := NamedCATEConfig("huge", 8, 7); err == nil || !strings.Contains(err.Error(), "huge") {
		t.Errorf("unknown preset: %v", err)
	}
}

func TestPositionalEncodings(t *testing.T) {
	pe := CellPositionalEncoding(8, 64)
	for _, c := range []struct {
		p, i int
		want float64
	}{
		{0, 0, 0}, {0, 1, 1}, {1, 0, math.Sin(1)}, {1, 1, math.Cos(1)},
		{5, 2, math.Sin(5 / math.Pow(10000, 2.0/64))}, {5, 63, math.Cos(5 / math.Pow(10000, 62.0/64))},
	} {
		if got := float64(pe.At(c.p, c.i)); math.Abs(got-c.want) > 1e-6 {
			t.Errorf("cell PE[%d,%d] = %g, want %g", c.p, c.i, got, c.want)
		}
	}
	sw := StageWisePositionalEncoding(20, 16, 4)
	for i := 0; i < 20; i++ {
		for j := 0; j < 16; j++ {
			if sw.At(i, j) != sw.At(i%4, j) {
				t.Fatalf("stage-wise PE row %d differs from row %d", i, i%4)
			}
		}
	}
	if sw.At(1, 0) != float32(math.Sin(1)) {
		t.Errorf("stage-wise PE[1,0] = %g", sw.At(1, 0))
	}
	te := TimestepEmbedding([]float32{0.5, 5}, 64)
	f3 := math.Exp(-3 * math.Log(10000) / 31)
	for _, c := range []struct {
		b, i int
		want float64
	}{{0, 0, math.Sin(0.5)}, {0, 32, math.Cos(0.5)}, {1, 3, math.Sin(5 * f3)}, {1, 35, math.Cos(5 * f3)}, {1, 31, math.Sin(5 * 1e-4)}} {
		if got := float64(te.At(c.b, c.i)); math.Abs(got-c.want) > 1e-5 {
			t.Errorf("time embedding [%d,%d] = %g, want %g", c.b, c.i, got, c.want)
		}
	}
	// Repeated times (a sampler's batch) give the rows of single calls.
	ts := []float32{0.5, 0.5, 5, 5, 0.5}
	rep := TimestepEmbedding(ts, 64)
	for b, tv := range ts {
		one := TimestepEmbedding([]float32{tv}, 64).Data()
		for i, v := range one {
			if got := rep.At(b, i); got != v {
				t.Fatalf("time embedding row %d (t=%g) [%d] = %g, alone %g", b, tv, i, got, v)
			}
		}
	}
}

func randomInput(rng *tensor.RNG, b int, cfg CATEConfig) (*tensor.Tensor, []float32) {
	x := tensor.RandN(rng, b, cfg.Nodes, cfg.Vocab)
	s := make([]float32, b)
	for i := range s {
		s[i] = 0.1 + 4.9*rng.Float32()
	}
	return x, s
}

func TestCATEShapeAndDeterminism(t *testing.T) {
	cfg := tinyConfig()
	m, err := NewCATE(cfg, tensor.NewRNG(3))
	if err != nil {
		t.Fatal(err)
	}
	x, s := randomInput(tensor.NewRNG(4), 5, cfg)
	eval := func() *tensor.Tensor {
		return m.Forward(Ctx{}, autograd.Const(x), s, nb201Mask()).Value
	}
	a, b := eval(), eval()
	if !tensor.EqualInts(a.Shape(), []int{5, 8, 7}) {
		t.Fatalf("output shape %v, want [5 8 7]", a.Shape())
	}
	for i, v := range a.Data() {
		if v != b.Data()[i] || math.IsNaN(float64(v)) {
			t.Fatalf("eval forward not deterministic at %d: %g vs %g", i, v, b.Data()[i])
		}
	}
	// Train mode: dropout makes the output depend on the RNG, and a fixed
	// RNG seed reproduces it.
	train := func(seed uint64) *tensor.Tensor {
		return m.Forward(Ctx{Train: true, RNG: tensor.NewRNG(seed)}, autograd.Const(x), s, nb201Mask()).Value
	}
	t1, t1b, t2 := train(9), train(9), train(10)
	same, diff := true, false
	for i := range t1.Data() {
		same = same && t1.Data()[i] == t1b.Data()[i]
		diff = diff || t1.Data()[i] != t2.Data()[i]
	}
	if !same || !diff {
		t.Errorf("train mode: same seed identical = %v, different seeds differ = %v", same, diff)
	}
	// A sample's score does not depend on the other samples of the batch.
	one := m.Forward(Ctx{}, autograd.Const(x.Slice(0, 2, 3).Contiguous()), s[2:3], nb201Mask()).Value
	for i, v := range one.Data() {
		if d := math.Abs(float64(v - a.Data()[2*56+i])); d > 1e-5 {
			t.Fatalf("batch independence: element %d differs by %g", i, d)
		}
	}
}

// TestCATEMaskIsolation perturbs key nodes and checks which query rows of
// the output change: with one block a node sees only itself and its allowed
// keys; the output node (empty mask row) attends to every node.
func TestCATEMaskIsolation(t *testing.T) {
	cfg := tinyConfig()
	cfg.Layers = 1
	m, _ := NewCATE(cfg, tensor.NewRNG(5))
	mask := nb201Mask()
	x, s := randomInput(tensor.NewRNG(6), 2, cfg)
	base := m.Forward(Ctx{}, autograd.Const(x), s, mask).Value
	for j := 0; j < 8; j++ { // perturbed node
		xp := x.Clone()
		for v := 0; v < 7; v++ {
			xp.Set(xp.At(1, j, v)+1.5, 1, j, v)
		}
		out := m.Forward(Ctx{}, autograd.Const(xp), s, mask).Value
		for i := 0; i < 8; i++ { // query node
			changed := false
			for v := 0; v < 7; v++ {
				if out.At(1, i, v) != base.At(1, i, v) {
					changed = true
				}
				if out.At(0, i, v) != base.At(0, i, v) {
					t.Fatalf("perturbing sample 1 changed sample 0")
				}
			}
			rowEmpty := true
			for k := 0; k < 8; k++ {
				rowEmpty = rowEmpty && mask.At(i, k) == 0
			}
			want := i == j || mask.At(i, j) == 1 || rowEmpty
			if changed != want {
				t.Errorf("perturb node %d: query %d changed = %v, want %v (mask %g)", j, i, changed, want, mask.At(i, j))
			}
		}
	}
}

// TestCATEGradients compares the tape's gradients with central finite
// differences, end to end, with dropout active (a fixed RNG seed per
// evaluation makes the function deterministic).
func TestCATEGradients(t *testing.T) {
	cfg := tinyConfig()
	cfg.DModel, cfg.Heads, cfg.DFF, cfg.TimeHidden, cfg.MLPHidden = 4, 2, 6, 4, []int{6}
	cfg.Nodes, cfg.Vocab = 4, 3
	mask := tensor.FromSlice([]float32{0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0}, 4, 4)
	m, _ := NewCATE(cfg, tensor.NewRNG(11))
	x, s := randomInput(tensor.NewRNG(12), 2, cfg)
	w := tensor.RandN(tensor.NewRNG(13), 2, 4, 3)
	loss := func(tp *autograd.Tape, xv *autograd.Var) *autograd.Var {
		out := m.Forward(Ctx{Tape: tp, Train: true, RNG: tensor.NewRNG(99)}, xv, s, mask)
		return tp.WeightedSum(out, w)
	}
	// Input gradient through the full network.
	err := autograd.CheckGrad(func(tp *autograd.Tape, in []*autograd.Var) *autograd.Var {
		return loss(tp, in[0])
	}, []*tensor.Tensor{x}, autograd.GradCheckOptions{Eps: 1e-2, Tol: 3e-2})
	if err != nil {
		t.Fatalf("input gradient: %v", err)
	}
	// Parameter gradients: every element of every parameter.
	tp := autograd.NewTape()
	for _, p := range m.Params() {
		p.ZeroGrad()
	}
	if err := tp.Backward(loss(tp, autograd.Const(x))); err != nil {
		t.Fatal(err)
	}
	const eps = 1e-2
	for _, p := range m.Params() {
		if p.Grad == nil {
			t.Fatalf("parameter %s got no gradient", p.Name)
		}
		d := p.Value.Data()
		for j := range d {
			orig := d[j]
			d[j] = orig + eps
			fp := float64(loss(nil, autograd.Const(x)).Value.Item())
			d[j] = orig - eps
			fm := float64(loss(nil, autograd.Const(x)).Value.Item())
			d[j] = orig
			num := (fp - fm) / (2 * eps)
			ana := float64(p.Grad.Data()[j])
			if e := math.Abs(ana-num) / math.Max(1, math.Max(math.Abs(ana), math.Abs(num))); e > 3e-2 {
				t.Errorf("%s[%d]: analytic %.5g, numeric %.5g", p.Name, j, ana, num)
			}
		}
	}
}

// BenchmarkCATEForward times one no-grad evaluation of 256 NB201 graphs
// (what a sampler step costs) and reports GFLOP/s of the linear layers.
func BenchmarkCATEForward(b *testing.B) {
	for _, name := range []string{"small", "paper"} {
		b.Run(name, func(b *testing.B) {
			cfg, _ := NamedCATEConfig(name, 8, 7)
			m, _ := NewCATE(cfg, tensor.NewRNG(1))
			x, s := randomInput(tensor.NewRNG(2), 256, cfg)
			mask := nb201Mask()
			flops := 0.0
			for _, p := range m.Params() {
				if p.Value.Rank() == 2 {
					flops += 2 * float64(p.Value.Len()) * 256 * 8
				}
			}
			for _, path := range []string{"forward", "scorer"} {
				b.Run(path, func(b *testing.B) {
					sc := m.NewScorer()
					for i := 0; i < b.N; i++ {
						if path == "scorer" {
							sc.Score(x, s, mask)
						} else {
							m.Forward(Ctx{}, autograd.Const(x), s, mask)
						}
					}
					b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		})
	}
}

// TestCATEScorerMatchesForward checks the buffer-reusing inference path
// against the taped forward in eval mode, across batch-size changes.
func TestCATEScorerMatchesForward(t *testing.T) {
	for _, cfg := range []CATEConfig{tinyConfig(), SmallCATEConfig(8, 7)} {
		m, _ := NewCATE(cfg, tensor.NewRNG(21))
		sc := m.NewScorer()
		for _, b := range []int{3, 5, 3} {
			x, s := randomInput(tensor.NewRNG(uint64(b)), b, cfg)
			want := m.Forward(Ctx{}, autograd.Const(x), s, nb201Mask()).Value
			got := sc.Score(x, s, nb201Mask())
			if !tensor.EqualInts(got.Shape(), want.Shape()) {
				t.Fatalf("scorer shape %v, forward %v", got.Shape(), want.Shape())
			}
			for i, v := range want.Data() {
				if d := math.Abs(float64(v - got.Data()[i])); d > 1e-4*math.Max(1, math.Abs(float64(v))) {
					t.Fatalf("layers %d batch %d element %d: scorer %g, forward %g", cfg.Layers, b, i, got.Data()[i], v)
				}
			}
		}
	}
}
