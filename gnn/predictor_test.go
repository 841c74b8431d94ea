package gnn

import (
	"math"
	"testing"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/tensor"
)

func TestPredictorParamCountMatchesReference(t *testing.T) {
	p, err := NewPredictor(PaperPredictorConfig(8, 7, 512), tensor.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	// Reference total 505,865 includes an unused set_fc (28,728); we add the
	// 56-wide unknown-dataset vector.
	if got, want := NumParams(p), 505865-28728+56; got != want {
		t.Fatalf("params = %d, want %d", got, want)
	}
	if _, err := ParamMap(p); err != nil {
		t.Fatal(err)
	}
	// Set pools: 118,160 (intra) and 41,552 (inter) as in the reference.
	if got := NumParams(p.Set.Intra); got != 118160 {
		t.Fatalf("intra set pool params = %d, want 118160", got)
	}
	if got := NumParams(p.Set.Inter); got != 41552 {
		t.Fatalf("inter set pool params = %d, want 41552", got)
	}
}

func TestNormalizedAdjacency(t *testing.T) {
	// 0→1, 0→2, 1→2 on 3 nodes.
	m := tensor.FromSlice([]float32{0, 1, 1, 0, 0, 1, 0, 0, 0}, 3, 3)
	fwd, bwd := NormalizedAdjacency(m)
	wantF := []float32{1. / 3, 1. / 3, 1. / 3, 0, .5, .5, 0, 0, 1}
	for i, v := range fwd.Data() {
		if math.Abs(float64(v-wantF[i])) > 1e-6 {
			t.Fatalf("fwd = %v, want %v", fwd.Data(), wantF)
		}
	}
	// Âᵀ = [[1/3,0,0],[1/3,1/2,0],[1/3,1/2,1]] row-normalised.
	wantB := []float32{1, 0, 0, 0.4, 0.6, 0, 0.1818182, 0.2727273, 0.5454545}
	for i, v := range bwd.Data() {
		if math.Abs(float64(v-wantB[i])) > 1e-5 {
			t.Fatalf("bwd = %v, want %v", bwd.Data(), wantB)
		}
	}
}

func tinyPredictor(t *testing.T) (*Predictor, *tensor.Tensor, *tensor.Tensor) {
	t.Helper()
	cfg := PredictorConfig{Nodes: 4, Vocab: 3, GCNHidden: 6, GCNLayers: 2, LinearHidden: 5, HS: 4, NZ: 4,
		FeatDim: 3, SetHeads: 2, Dropout: 0, TimeEmbed: true}
	p, err := NewPredictor(cfg, tensor.NewRNG(7))
	if err != nil {
		t.Fatal(err)
	}
	mask := tensor.FromSlice([]float32{0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0}, 4, 4)
	fwd, bwd := NormalizedAdjacency(mask)
	return p, fwd, bwd
}

func TestPredictorInputGradientMatchesFiniteDifferences(t *testing.T) {
	p, fwd, bwd := tinyPredictor(t)
	rng := tensor.NewRNG(3)
	x := tensor.RandN(rng, 2, 4, 3)
	feats := tensor.RandN(rng, 3, 5, 3)
	sigma := []float32{0.3, 2.0}
	err := autograd.CheckGrad(func(tp *autograd.Tape, in []*autograd.Var) *autograd.Var {
		c := Ctx{Tape: tp}
		ds := p.Set.Forward(c, in[1])
		y := p.Forward(c, in[0], sigma, fwd, bwd, ds)
		return tp.SumAll(y)
	}, []*tensor.Tensor{x, feats}, autograd.GradCheckOptions{Eps: 1e-2, Tol: 2e-2})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPredictorParamGradients(t *testing.T) {
	// Distinct times, and one time for the whole batch (the broadcast path).
	for _, sigma := range [][]float32{{0.1, 1, 4}, {0.7, 0.7, 0.7}} {
		predictorParamGradients(t, sigma)
	}
}

func predictorParamGradients(t *testing.T, sigma []float32) {
	p, fwd, bwd := tinyPredictor(t)
	rng := tensor.NewRNG(4)
	x := tensor.RandN(rng, 3, 4, 3)
	loss := func(tp *autograd.Tape) *autograd.Var {
		y := p.Forward(Ctx{Tape: tp}, autograd.Const(x), sigma, fwd, bwd, p.Unknown)
		return tp.SumAll(tp.Square(y))
	}
	for _, w := range []*autograd.Var{p.Head1.Weight, p.GCN[0].W2.Weight, p.Temb1.Weight, p.FC1.Weight, p.Unknown} {
		tp := autograd.NewTape()
		g, err := tp.Grad(loss(tp), w)
		if err != nil || g[0] == nil {
			t.Fatalf("%s: no gradient (%v)", w.Name, err)
		}
		d := w.Value.Data()
		const eps = 1e-2
		for j := range d {
			orig := d[j]
			d[j] = orig + eps
			fp := float64(loss(nil).Value.Item())
			d[j] = orig - eps
			fm := float64(loss(nil).Value.Item())
			d[j] = orig
			num := (fp - fm) / (2 * eps)
			ana := float64(g[0].Data()[j])
			if math.Abs(ana-num)/math.Max(1, math.Abs(num)) > 2e-2 {
				t.Fatalf("%s[%d]: analytic %g, numeric %g", w.Name, j, ana, num)
			}
		}
	}
}

func TestSetEncoderPermutationInvariant(t *testing.T) {
	rng := tensor.NewRNG(5)
	enc := NewSetEncoder("set", 6, 8, 4, rng)
	feats := tensor.RandN(rng, 3, 5, 6)
	a := enc.Forward(Ctx{}, autograd.Const(feats)).Value.Data()
	// Permute the classes and the samples inside each class.
	perm := tensor.Zeros(3, 5, 6)
	cp, sp := []int{2, 0, 1}, []int{4, 2, 0, 1, 3}
	for c := 0; c < 3; c++ {
		for s := 0; s < 5; s++ {
			for f := 0; f < 6; f++ {
				perm.Set(feats.At(cp[c], sp[s], f), c, s, f)
			}
		}
	}
	b := enc.Forward(Ctx{}, autograd.Const(perm)).Value.Data()
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > 1e-5 {
			t.Fatalf("set encoding changed under permutation: %v vs %v", a, b)
		}
	}
	// And it must depend on the features.
	feats.Set(feats.At(0, 0, 0)+3, 0, 0, 0)
	c := enc.Forward(Ctx{}, autograd.Const(feats)).Value.Data()
	same := true
	for i := range a {
		if math.Abs(float64(a[i]-c[i])) > 1e-6 {
			same = false
		}
	}
	if same {
		t.Fatal("set encoding ignores its input")
	}
}

// TestDiGCNNodeMajorMatchesBatchMajor: the node-major layer the predictor
// runs is the same function of each graph as the batch-major Forward.
func TestDiGCNNodeMajorMatchesBatchMajor(t *testing.T) {
	rng := tensor.NewRNG(5)
	l := NewDiGCNLayer("gcn", 3, 6, rng)
	mask := tensor.FromSlice([]float32{0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0}, 4, 4)
	fwd, bwd := NormalizedAdjacency(mask)
	fa, ba := autograd.Const(fwd), autograd.Const(bwd)
	h := tensor.RandN(rng, 5, 4, 3) // [B, N, in]
	want := l.Forward(Ctx{}, autograd.Const(h), fa, ba, 0).Value.Contiguous().Data()
	nm := l.ForwardNodeMajor(Ctx{}, autograd.Const(h.Permute(1, 0, 2).Contiguous()), fa, ba, 0).Value
	if got := nm.Shape(); got[0] != 4 || got[1] != 5 || got[2] != 6 {
		t.Fatalf("node-major output shape %v, want [4 5 6]", got)
	}
	got := nm.Permute(1, 0, 2).Contiguous().Data()
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-5 {
			t.Fatalf("element %d: node-major %g, batch-major %g", i, got[i], want[i])
		}
	}
}

// TestPredictorUniformTimeMatchesPerRow: a batch sharing one time (embedded
// once and broadcast) predicts what the same graphs do in a batch with
// distinct times.
func TestPredictorUniformTimeMatchesPerRow(t *testing.T) {
	p, fwd, bwd := tinyPredictor(t)
	rng := tensor.NewRNG(6)
	x := tensor.RandN(rng, 3, 4, 3)
	same := p.Forward(Ctx{}, autograd.Const(x.Slice(0, 0, 2).Contiguous()), []float32{0.7, 0.7}, fwd, bwd, p.Unknown).Value.Data()
	mixed := p.Forward(Ctx{}, autograd.Const(x), []float32{0.7, 0.7, 3}, fwd, bwd, p.Unknown).Value.Data()
	for i := range same {
		if math.Abs(float64(same[i]-mixed[i])) > 1e-6 {
			t.Fatalf("graph %d: %g with a shared time, %g in a mixed batch", i, same[i], mixed[i])
		}
	}
}
