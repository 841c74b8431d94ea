package gnn

import (
	"math"
	"testing"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/tensor"
)

// naiveLinear64 computes x·Wᵀ+b for one row in float64.
func naiveLinear64(l *Linear, x []float64) []float64 {
	out := make([]float64, l.Out)
	for o := range out {
		s := float64(l.Bias.Value.At(o))
		for i, v := range x {
			s += v * float64(l.Weight.Value.At(o, i))
		}
		out[o] = s
	}
	return out
}

// naiveMHA is the reference computation written with plain loops in
// float64: per graph, project, split heads, masked_fill(mask==0, -1e9),
// softmax, mix values, concatenate heads, project out.
func naiveMHA(m *MultiHeadAttention, x *tensor.Tensor, mask func(b, i, j int) bool) []float64 {
	B, N, E := x.Dim(0), x.Dim(1), x.Dim(2)
	H := m.Heads
	D := E / H
	var out []float64
	for b := 0; b < B; b++ {
		q, k, v := make([][]float64, N), make([][]float64, N), make([][]float64, N)
		for n := 0; n < N; n++ {
			row := make([]float64, E)
			for e := range row {
				row[e] = float64(x.At(b, n, e))
			}
			q[n], k[n], v[n] = naiveLinear64(m.Q, row), naiveLinear64(m.K, row), naiveLinear64(m.V, row)
		}
		for i := 0; i < N; i++ {
			cat := make([]float64, E)
			for h := 0; h < H; h++ {
				sc := make([]float64, N)
				mx := math.Inf(-1)
				for j := 0; j < N; j++ {
					var s float64
					for d := 0; d < D; d++ {
						s += q[i][h*D+d] * k[j][h*D+d]
					}
					s /= math.Sqrt(float64(D))
					if !mask(b, i, j) {
						s = -1e9
					}
					sc[j] = s
					mx = math.Max(mx, s)
				}
				var sum float64
				for j := range sc {
					sc[j] = math.Exp(sc[j] - mx)
					sum += sc[j]
				}
				for j := range sc {
					for d := 0; d < D; d++ {
						cat[h*D+d] += sc[j] / sum * v[j][h*D+d]
					}
				}
			}
			out = append(out, naiveLinear64(m.Out, cat)...)
		}
	}
	return out
}

// dagMask returns a [B, N, N] 0/1 mask: node i attends to j > i with
// probability 1/2 per graph, node N-1 to nothing (an all-masked row).
func dagMask(rng *tensor.RNG, b, n int) *tensor.Tensor {
	m := tensor.Zeros(b, n, n)
	for g := 0; g < b; g++ {
		for i := 0; i < n; i++ {
			for j := i + 1; j < n; j++ {
				if j == i+1 || rng.Float32() < 0.5 {
					m.Set(1, g, i, j)
				}
			}
		}
	}
	return m
}

func TestMultiHeadAttentionMatchesNaive(t *testing.T) {
	cases := []struct {
		name       string
		b, n, e, h int
		mask       string
	}{
		{"nb201-shape", 3, 8, 64, 8, "batch"},
		{"ofa-shape-shared", 2, 20, 16, 2, "shared"},
		{"no-mask", 2, 5, 12, 3, "none"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rng := tensor.NewRNG(11)
			m := NewMultiHeadAttention("attn", c.e, c.h, 0.1, rng)
			x := tensor.RandN(rng, c.b, c.n, c.e)
			var mask *tensor.Tensor
			maskFn := func(b, i, j int) bool { return true }
			switch c.mask {
			case "batch":
				mask = dagMask(rng, c.b, c.n)
				maskFn = func(b, i, j int) bool { return mask.At(b, i, j) != 0 }
			case "shared":
				mask = dagMask(rng, 1, c.n).Reshape(c.n, c.n)
				maskFn = func(b, i, j int) bool { return mask.At(i, j) != 0 }
			}
			// Eval mode: attention dropout off.
			y := m.Forward(Ctx{}, autograd.Const(x), mask).Value
			if !tensor.EqualInts(y.Shape(), []int{c.b, c.n, c.e}) {
				t.Fatalf("shape %v", y.Shape())
			}
			want := naiveMHA(m, x, maskFn)
			for i, g := range y.Data() {
				if d := math.Abs(float64(g) - want[i]); d > 2e-5*math.Max(1, math.Abs(want[i])) {
					t.Fatalf("out[%d] = %.7g, naive %.7g", i, g, want[i])
				}
			}
		})
	}
}

func TestMultiHeadAttentionMaskedKeyIgnored(t *testing.T) {
	// Key 3 is masked for every query (and no row is fully masked): changing
	// x at node 3 may change node 3's own output row (its query) but no
	// other row, because node 3 gets exactly zero attention weight.
	rng := tensor.NewRNG(12)
	B, N, E := 2, 6, 16
	m := NewMultiHeadAttention("attn", E, 4, 0, rng)
	mask := tensor.Full(1, B, N, N)
	for g := 0; g < B; g++ {
		for i := 0; i < N; i++ {
			mask.Set(0, g, i, 3)
		}
	}
	x := tensor.RandN(rng, B, N, E)
	y1 := m.Forward(Ctx{}, autograd.Const(x), mask).Value
	x2 := x.Clone()
	for g := 0; g < B; g++ {
		for e := 0; e < E; e++ {
			x2.Set(x2.At(g, 3, e)+5, g, 3, e)
		}
	}
	y2 := m.Forward(Ctx{}, autograd.Const(x2), mask).Value
	for g := 0; g < B; g++ {
		for i := 0; i < N; i++ {
			if i == 3 {
				continue
			}
			for e := 0; e < E; e++ {
				if y1.At(g, i, e) != y2.At(g, i, e) {
					t.Fatalf("row %d changed when masked node 3 changed: %g vs %g", i, y1.At(g, i, e), y2.At(g, i, e))
				}
			}
		}
	}
}

func TestMultiHeadAttentionParamsAndDropout(t *testing.T) {
	m := NewMultiHeadAttention("a", 64, 8, 0.1, tensor.NewRNG(1))
	// Reference: four Linear(64→64) with bias = 4·(64·64+64).
	if n := NumParams(m); n != 16640 {
		t.Fatalf("NumParams = %d, want 16640", n)
	}
	m2 := NewMultiHeadAttention("a", 64, 8, 0.1, tensor.NewRNG(1))
	x := autograd.Const(tensor.RandN(tensor.NewRNG(2), 4, 8, 64))
	mask := dagMask(tensor.NewRNG(3), 4, 8)
	a := m.Forward(Ctx{Train: true, RNG: tensor.NewRNG(5)}, x, mask).Value.Data()
	b := m2.Forward(Ctx{Train: true, RNG: tensor.NewRNG(5)}, x, mask).Value.Data()
	e := m.Forward(Ctx{}, x, mask).Value.Data()
	differs := false
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("same seeds gave different training outputs")
		}
		if a[i] != e[i] {
			differs = true
		}
	}
	if !differs {
		t.Fatal("training-mode attention dropout changed nothing")
	}
}

func TestGradHeadAttentionAndMHA(t *testing.T) {
	rng := tensor.NewRNG(13)
	mask := dagMask(rng, 2, 5)
	w := tensor.RandU(tensor.NewRNG(99), -1, 1, 2, 5, 12)
	for _, p := range []float32{0, 0.25} {
		f := func(tp *autograd.Tape, in []*autograd.Var) *autograd.Var {
			out := HeadAttention(tp, in[0], in[1], in[2], mask, 3, 0.5, p, tensor.NewRNG(4))
			return tp.WeightedSum(out, w)
		}
		u := func() *tensor.Tensor { return tensor.RandU(rng, -1.5, 1.5, 2, 5, 12) }
		if err := autograd.CheckGrad(f, []*tensor.Tensor{u(), u(), u()}, autograd.GradCheckOptions{}); err != nil {
			t.Fatalf("HeadAttention p=%g: %v", p, err)
		}
	}
	// Through the whole layer, w.r.t. its input.
	m := NewMultiHeadAttention("a", 12, 3, 0.2, tensor.NewRNG(6))
	f := func(tp *autograd.Tape, in []*autograd.Var) *autograd.Var {
		return tp.WeightedSum(m.Forward(Ctx{Tape: tp, Train: true, RNG: tensor.NewRNG(8)}, in[0], mask), w)
	}
	if err := autograd.CheckGrad(f, []*tensor.Tensor{tensor.RandU(rng, -1, 1, 2, 5, 12)}, autograd.GradCheckOptions{}); err != nil {
		t.Fatalf("MHA input gradient: %v", err)
	}
	// Parameter gradients reach all four projections.
	tp := autograd.NewTape()
	loss := tp.WeightedSum(m.Forward(Ctx{Tape: tp}, autograd.Const(tensor.RandN(rng, 2, 5, 12)), mask), w)
	if err := tp.Backward(loss); err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Params() {
		if p.Grad == nil || tensor.SumAll(tensor.Abs(p.Grad)) == 0 {
			t.Fatalf("parameter %s got no gradient", p.Name)
		}
	}
}

// BenchmarkMultiHeadAttention runs the score network's attention layer at
// its training shape: 256 graphs of 8 nodes, d_model 64, 8 heads.
func BenchmarkMultiHeadAttention(b *testing.B) {
	const B, N, E, H = 256, 8, 64, 8
	rng := tensor.NewRNG(1)
	m := NewMultiHeadAttention("attn", E, H, 0.1, rng)
	x := tensor.RandN(rng, B, N, E)
	mask := dagMask(rng, B, N)
	// 4 projections (2·B·N·E·E each) + attention core (4·B·N·N·E).
	flops := float64(4*2*B*N*E*E + 4*B*N*N*E)
	b.Run("forward-eval", func(b *testing.B) {
		for b.Loop() {
			m.Forward(Ctx{}, autograd.Const(x), mask)
		}
		b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	b.Run("forward+backward-train", func(b *testing.B) {
		w := tensor.RandU(rng, -1, 1, B, N, E)
		for b.Loop() {
			tp := autograd.NewTape()
			xv := autograd.NewVar(x, true)
			loss := tp.WeightedSum(m.Forward(Ctx{Tape: tp, Train: true, RNG: rng}, xv, mask), w)
			if err := tp.Backward(loss); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(3*flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}

// TestHeadAttentionEqualsPermutedMaskedAttention checks the fused
// [B, N, H·D] path against autograd.MaskedAttention on permuted
// [B, H, N, D] views (values and input gradients).
func TestHeadAttentionEqualsPermutedMaskedAttention(t *testing.T) {
	rng := tensor.NewRNG(14)
	B, N, H, D := 3, 8, 4, 8
	mask := dagMask(rng, B, N)
	w := tensor.RandU(rng, -1, 1, B, N, H*D)
	xs := []*tensor.Tensor{tensor.RandN(rng, B, N, H*D), tensor.RandN(rng, B, N, H*D), tensor.RandN(rng, B, N, H*D)}
	run := func(fused bool) (*tensor.Tensor, []*tensor.Tensor) {
		tp := autograd.NewTape()
		q, k, v := autograd.NewVar(xs[0], true), autograd.NewVar(xs[1], true), autograd.NewVar(xs[2], true)
		var out *autograd.Var
		if fused {
			out = HeadAttention(tp, q, k, v, mask, H, 0.35, 0.2, tensor.NewRNG(3))
		} else {
			heads := func(a *autograd.Var) *autograd.Var { return tp.Permute(tp.Reshape(a, B, N, H, D), 0, 2, 1, 3) }
			a := tp.MaskedAttention(heads(q), heads(k), heads(v), mask, 0.35, 0.2, tensor.NewRNG(3), true)
			out = tp.Reshape(tp.Permute(a, 0, 2, 1, 3), B, N, H*D)
		}
		g, err := tp.Grad(tp.WeightedSum(out, w), q, k, v)
		if err != nil {
			t.Fatal(err)
		}
		return out.Value.Contiguous(), g
	}
	fo, fg := run(true)
	po, pg := run(false)
	for i, v := range po.Data() {
		if math.Abs(float64(fo.Data()[i]-v)) > 1e-6 {
			t.Fatalf("out[%d]: fused %g, permuted %g", i, fo.Data()[i], v)
		}
	}
	for k := range fg {
		a, b := fg[k].Contiguous().Data(), pg[k].Contiguous().Data()
		for i := range a {
			if math.Abs(float64(a[i]-b[i])) > 1e-5 {
				t.Fatalf("grad %d [%d]: fused %g, permuted %g", k, i, a[i], b[i])
			}
		}
	}
}
