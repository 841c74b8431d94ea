package hwaware

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/nag/nb201"
	"github.com/nagml/nag/nag/ofa"
	"github.com/nagml/nag/tensor"
)

func modelSpace(x01 []float32, shape ...int) *tensor.Tensor {
	v := make([]float32, len(x01))
	for i, a := range x01 {
		v[i] = 2*a - 1
	}
	return tensor.FromSlice(v, shape...)
}

// The linear NB201 costs reproduce the exact formulas on all 15,625 cells,
// both through Value and through the differentiable Predict.
func TestNB201LinearCostExact(t *testing.T) {
	for _, d := range []nb201.Dataset{nb201.CIFAR10, nb201.CIFAR100, nb201.ImageNet16} {
		fl, pa := NB201FLOPs(d), NB201Params(d)
		all := nb201.All()
		for _, a := range all {
			x := a.OneHot()
			s := x.Slice()
			if got, want := fl.Value(s), float64(a.FLOPs(d))/1e6; math.Abs(got-want) > 1e-4 {
				t.Fatalf("%s %s: flops %.6f, want %.6f", d.Name, a, got, want)
			}
			if got, want := pa.Value(s), float64(a.Params(d))/1e6; math.Abs(got-want) > 1e-6 {
				t.Fatalf("%s %s: params %.6f, want %.6f", d.Name, a, got, want)
			}
		}
		batch := nb201.OneHotBatch(all[:50])
		xs := tensor.AddScalar(tensor.Scale(batch, 2), -1)
		got := fl.Predict(gnn.Ctx{}, autograd.Const(xs), nil).Value.Data()
		for i, a := range all[:50] {
			if want := float64(a.FLOPs(d)) / 1e6; math.Abs(float64(got[i])-want) > 1e-3*math.Max(1, want) {
				t.Fatalf("%s %s: Predict %.5f, want %.5f", d.Name, a, got[i], want)
			}
		}
	}
}

// The OFA linear costs equal ofa.Arch.Cost on random sub-networks, at
// several resolutions and both widths.
func TestOFACostExact(t *testing.T) {
	rng := tensor.NewRNG(3)
	for _, r := range []int{128, 160, 224} {
		for _, w := range []float64{1.0, 1.2} {
			fl, err := OFACost("flops", r, w)
			if err != nil {
				t.Fatal(err)
			}
			pa, err := OFACost("params", r, w)
			if err != nil {
				t.Fatal(err)
			}
			for k := 0; k < 300; k++ {
				a := ofa.RandomUniform(rng)
				if k%2 == 0 {
					a = ofa.Random(rng)
				}
				x := a.OneHot()
				c := a.Cost(r, w)
				if got, want := fl.Value(x.Slice()), float64(c.MACs)/1e6; math.Abs(got-want) > 1e-3 {
					t.Fatalf("r %d w %g %s: flops %.6f, want %.6f", r, w, a, got, want)
				}
				if got, want := pa.Value(x.Slice()), float64(c.Params)/1e6; math.Abs(got-want) > 1e-5 {
					t.Fatalf("r %d w %g %s: params %.6f, want %.6f", r, w, a, got, want)
				}
			}
		}
	}
	for _, bad := range []struct {
		which string
		r     int
		w     float64
	}{{"latency", 224, 1}, {"flops", 0, 1}, {"params", 224, -1}} {
		if _, err := OFACost(bad.which, bad.r, bad.w); err == nil {
			t.Errorf("OFACost(%q, %d, %g) accepted", bad.which, bad.r, bad.w)
		}
	}
}

// constModel is a fixed differentiable test function: Σ_j w_j·x_j per sample.
type constModel struct{ w *tensor.Tensor }

func (m constModel) Predict(c gnn.Ctx, x *autograd.Var, _ []float32) *autograd.Var {
	b := x.Shape()[0]
	return c.Tape.Reshape(c.Tape.MatMul(c.Tape.Reshape(x, b, m.w.Dim(0)), autograd.Const(m.w)), b)
}
func (m constModel) Params() []*autograd.Var { return nil }

func TestObjective(t *testing.T) {
	rng := tensor.NewRNG(5)
	wa, wc := tensor.Zeros(6, 1), tensor.Zeros(6, 1)
	rng.FillNormal(wa.Data(), 0, 1)
	rng.FillNormal(wc.Data(), 2, 0.5)
	acc, cost := constModel{wa}, constModel{wc}
	x := tensor.Zeros(4, 2, 3)
	rng.FillNormal(x.Data(), 1, 1)
	a := acc.Predict(gnn.Ctx{}, autograd.Const(x), nil).Value.Data()
	c := cost.Predict(gnn.Ctx{}, autograd.Const(x), nil).Value.Data()
	// Budget between the smallest and the largest cost.
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range c {
		lo, hi = math.Min(lo, float64(v)), math.Max(hi, float64(v))
	}
	budget := (lo + hi) / 2
	if !(budget > 0) {
		t.Fatalf("test costs %v should be positive", c)
	}
	o := &Objective{Acc: acc, AccScale: 3, Constraints: []Constraint{{Name: "lat", Cost: cost, Budget: budget, Scale: 7}}}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	got := o.Predict(gnn.Ctx{}, autograd.Const(x), nil).Value.Data()
	violated := 0
	for i := range got {
		want := 3*float64(a[i]) - 7*math.Max(0, float64(c[i])/budget-1)
		if float64(c[i]) > budget {
			violated++
		}
		if math.Abs(float64(got[i])-want) > 1e-4 {
			t.Fatalf("sample %d: f %.6f, want %.6f", i, got[i], want)
		}
	}
	if violated == 0 || violated == len(got) {
		t.Fatalf("test input should violate the budget for some samples only (%d of %d)", violated, len(got))
	}
	// Gradient of the objective w.r.t. x.
	err := autograd.CheckGrad(func(tp *autograd.Tape, in []*autograd.Var) *autograd.Var {
		return tp.SumAll(o.Predict(gnn.Ctx{Tape: tp}, in[0], nil))
	}, []*tensor.Tensor{x}, autograd.GradCheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []*Objective{
		{},
		{Constraints: []Constraint{{Name: "x", Cost: cost, Budget: 0, Scale: 1}}},
		{Constraints: []Constraint{{Name: "x", Budget: 1, Scale: 1}}},
		{Constraints: []Constraint{{Name: "x", Cost: cost, Budget: 1, Scale: -1}}},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("invalid objective %+v accepted", bad)
		}
	}
}

// A small noise-aware regressor learns NB201 FLOPs (an additive target) on
// held-out cells, and a saved checkpoint predicts the same values.
func TestRegressorTrainSaveLoad(t *testing.T) {
	all := nb201.All()
	rng := tensor.NewRNG(9)
	idx := rng.Perm(len(all))[:1500]
	d := &Data{}
	fl := NB201FLOPs(nb201.CIFAR10)
	for _, i := range idx {
		x := all[i].OneHot()
		s := x.Slice()
		d.X = append(d.X, s)
		d.Y = append(d.Y, fl.Value(s))
	}
	cfg := RegressorConfig{Space: SpaceNB201, Target: "flops_c10", Unit: "MFLOPs", Net: SmallNetConfig(nb201.NumNodes, nb201.NumTypes), SDE: DefaultSDE(SpaceNB201)}
	tc := TrainConfig{Iters: 250, Batch: 64, LR: 3e-3, Warmup: 20, Seed: 1, EvalFrac: 0.2}
	r, rep, err := Train(context.Background(), cfg, d, tc, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("held-out clean %s; noisy %s", rep.Clean, rep.Noisy)
	if rep.Clean.N != 300 || !(rep.Clean.Spearman > 0.9) {
		t.Fatalf("held-out clean metrics %s, want n 300 and spearman > 0.9", rep.Clean)
	}
	if !(rep.Noisy.Spearman < rep.Clean.Spearman) {
		t.Errorf("noisy spearman %.3f should be below clean %.3f", rep.Noisy.Spearman, rep.Clean.Spearman)
	}
	path := filepath.Join(t.TempDir(), "r.ckpt")
	if err := r.Save(path); err != nil {
		t.Fatal(err)
	}
	r2, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	a, b := r.PredictClean(d.X[:20], nil), r2.PredictClean(d.X[:20], nil)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("prediction %d: %g before save, %g after load", i, a[i], b[i])
		}
	}
	// Bad inputs.
	if _, _, err := Train(context.Background(), cfg, &Data{X: d.X[:3], Y: d.Y[:2]}, tc, nil); err == nil {
		t.Error("mismatched data accepted")
	}
	lc := cfg
	lc.Log = true
	bad := &Data{X: d.X[:10], Y: append(make([]float64, 9), -1)}
	if _, _, err := Train(context.Background(), lc, bad, tc, nil); err == nil || !strings.Contains(err.Error(), "positive") {
		t.Errorf("non-positive log target: %v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing checkpoint accepted")
	}
}

// A resolution-aware MobileNetV3 regressor learns FLOPs at several
// resolutions through the resolution vector.
func TestRegressorResolution(t *testing.T) {
	rng := tensor.NewRNG(11)
	d := &Data{}
	costs := map[int]*LinearCost{}
	for _, r := range []int{160, 192, 224} {
		costs[r], _ = OFACost("flops", r, 1)
	}
	for k := 0; k < 1200; k++ {
		a := ofa.Random(rng)
		r := []int{160, 192, 224}[k%3]
		x := a.OneHot()
		d.X = append(d.X, x.Slice())
		d.Y = append(d.Y, costs[r].Value(x.Slice()))
		d.Res = append(d.Res, float64(r))
	}
	cfg := RegressorConfig{Space: SpaceMBV3, Target: "flops", Unit: "MMACs", Net: SmallNetConfig(ofa.NumLayers, ofa.NumTypes),
		SDE: DefaultSDE(SpaceMBV3), Log: true, CondResolution: true, R: 224}
	tc := TrainConfig{Iters: 250, Batch: 64, LR: 3e-3, Warmup: 20, Seed: 2, EvalFrac: 0.2}
	_, rep, err := Train(context.Background(), cfg, d, tc, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("held-out clean %s", rep.Clean)
	if !(rep.Clean.Spearman > 0.85) {
		t.Fatalf("held-out %s, want spearman > 0.85", rep.Clean)
	}
	cfg.Space = "darts"
	if _, _, err := Train(context.Background(), cfg, d, tc, nil); err == nil {
		t.Error("unknown space accepted")
	}
}
