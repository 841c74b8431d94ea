package guide

import (
	"context"
	"math"
	"testing"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/nag/nb201"
	"github.com/nagml/nag/nag/predictor"
	"github.com/nagml/nag/sde"
	"github.com/nagml/nag/tensor"
)

// opReward rewards one op type: ŷ_b = Σ over the six op rows of x[b, row, type].
type opReward struct{ w *autograd.Var }

func newOpReward(op nb201.Op) opReward {
	w := tensor.Zeros(1, nb201.NumNodes*nb201.NumTypes)
	for r := 1; r <= nb201.NumEdges; r++ {
		w.Data()[r*nb201.NumTypes+op.Type()] = 1
	}
	return opReward{w: autograd.Param("w", w)}
}

func (o opReward) Predict(c gnn.Ctx, x *autograd.Var, _ []float32) *autograd.Var {
	b := x.Value.Dim(0)
	return c.Tape.Reshape(c.Tape.Linear(c.Tape.Reshape(x, b, nb201.NumNodes*nb201.NumTypes), o.w, nil), b)
}
func (o opReward) Params() []*autograd.Var { return []*autograd.Var{o.w} }

func tinyModel(t testing.TB, seed uint64) *predictor.Model {
	t.Helper()
	cfg := predictor.DefaultModelConfig(4)
	cfg.Net = gnn.PredictorConfig{Nodes: 8, Vocab: 7, GCNHidden: 8, GCNLayers: 2, LinearHidden: 6, HS: 5, NZ: 4,
		FeatDim: 4, SetHeads: 2, Dropout: 0, TimeEmbed: true}
	cfg.Norm = predictor.Norm{Mean: 70, Std: 5}
	m, err := predictor.NewModel(cfg, tensor.NewRNG(seed))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// The full guided hook minus the base score equals scale times the finite
// difference gradient of Σ ŷ through the real gnn.Predictor (with a dataset
// vector from the set encoder).
func TestHookMatchesFiniteDifferences(t *testing.T) {
	m := tinyModel(t, 3)
	rng := tensor.NewRNG(5)
	ds, err := m.DatasetVector(gnn.Ctx{}, tensor.RandN(rng, 3, 4, 4))
	if err != nil {
		t.Fatal(err)
	}
	reg := ModelRegressor{M: m, DS: ds}
	defer Freeze(reg.Params())()
	const scale = 7.0
	hook := Hook(UniformScore, reg, scale, nil)
	x := tensor.RandN(rng, 3, 8, 7)
	sigma := []float32{0.2, 1, 3}
	s, err := hook(x, 0.5, sigma)
	if err != nil {
		t.Fatal(err)
	}
	base, _ := UniformScore(x, 0.5, sigma)
	f := func() float64 {
		y := reg.Predict(gnn.Ctx{}, autograd.Const(x), sigma).Value.Data()
		var s float64
		for _, v := range y {
			s += float64(v)
		}
		return s
	}
	xd := x.Data()
	const eps = 1e-2
	num := make([]float64, len(xd))
	var maxAbs, errSq, numSq float64
	for j := range xd {
		orig := xd[j]
		xd[j] = orig + eps
		fp := f()
		xd[j] = orig - eps
		fm := f()
		xd[j] = orig
		num[j] = scale * (fp - fm) / (2 * eps)
		maxAbs = math.Max(maxAbs, math.Abs(num[j]))
	}
	if maxAbs == 0 {
		t.Fatal("finite-difference gradient is identically zero")
	}
	for j := range xd {
		ana := float64(s.Data()[j] - base.Data()[j])
		errSq += (ana - num[j]) * (ana - num[j])
		numSq += num[j] * num[j]
		// float32 central differences: allow 3% of the largest component.
		if math.Abs(ana-num[j]) > 3e-2*maxAbs {
			t.Fatalf("element %d: hook guidance %g, finite difference %g (max %g)", j, ana, num[j], maxAbs)
		}
	}
	if rel := math.Sqrt(errSq / numSq); rel > 1e-2 {
		t.Fatalf("relative error of the guidance term %.3g > 1e-2", rel)
	}
	// Parameters stay frozen only inside the run.
	if m.Net.Params()[0].RequiresGrad() {
		t.Fatal("parameters not frozen during guidance")
	}
}

func TestFreezeRestores(t *testing.T) {
	m := tinyModel(t, 1)
	restore := Freeze(m.Net.Params())
	for _, p := range m.Net.Params() {
		if p.RequiresGrad() {
			t.Fatalf("%s still requires grad", p.Name)
		}
	}
	restore()
	for _, p := range m.Net.Params() {
		if !p.RequiresGrad() {
			t.Fatalf("%s not restored", p.Name)
		}
	}
}

func opFraction(archs []*nb201.Arch, op nb201.Op) (frac, validity float64) {
	var n, hit, valid int
	for _, a := range archs {
		if a == nil {
			continue
		}
		valid++
		n += nb201.NumEdges
		hit += a.Count(op)
	}
	return float64(hit) / float64(max(n, 1)), float64(valid) / float64(len(archs))
}

// Guidance with a regressor that rewards 3x3 convolutions shifts the
// sampled op distribution toward them; without guidance the exact uniform
// score gives about 1/5 of each op.
func TestGuidanceShiftsOpDistribution(t *testing.T) {
	s := sde.DefaultVE()
	shape := []int{256, 8, 7}
	opt := sde.Options{Steps: 100, Seed: 11}
	x0, err := sde.SamplePC(context.Background(), s, UniformScore, shape, opt)
	if err != nil {
		t.Fatal(err)
	}
	f0, v0 := opFraction(DecodeBatch(x0), nb201.Conv3x3)
	reg := newOpReward(nb201.Conv3x3)
	defer Freeze(reg.Params())()
	x1, err := sde.SamplePC(context.Background(), s, Hook(UniformScore, reg, 2, nil), shape, opt)
	if err != nil {
		t.Fatal(err)
	}
	f1, v1 := opFraction(DecodeBatch(x1), nb201.Conv3x3)
	t.Logf("conv3x3 fraction: unguided %.3f (validity %.3f), guided %.3f (validity %.3f)", f0, v0, f1, v1)
	if math.Abs(f0-0.2) > 0.05 {
		t.Errorf("unguided conv3x3 fraction %.3f, want 0.20 ± 0.05", f0)
	}
	if f1 < f0+0.25 {
		t.Errorf("guided conv3x3 fraction %.3f, want at least unguided %.3f + 0.25", f1, f0)
	}
	if v0 < 0.9 || v1 < 0.9 {
		t.Errorf("validity unguided %.3f, guided %.3f, want >= 0.9", v0, v1)
	}
}

func TestGenerateRoundsAndRanking(t *testing.T) {
	m := tinyModel(t, 9)
	s := sde.DefaultVE()
	opt := Options{Scale: 50, ScaleStep: 20, Want: 100000, MaxRounds: 2, Batch: 32, Sampler: sde.Options{Steps: 30}, Seed: 4}
	res, err := Generate(context.Background(), s, UniformScore, m, nil, opt)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rounds != 2 || len(res.Scales) != 2 || res.Scales[0] != 50 || res.Scales[1] != 30 {
		t.Fatalf("rounds %d scales %v, want 2 rounds at 50, 30", res.Rounds, res.Scales)
	}
	if res.Sampled != 64 || res.Valid > 64 || len(res.Archs) == 0 || len(res.Archs) > res.Valid {
		t.Fatalf("sampled %d valid %d unique %d", res.Sampled, res.Valid, len(res.Archs))
	}
	seen := map[string]bool{}
	total := 0
	for i, c := range res.Archs {
		if seen[c.Arch] {
			t.Fatalf("duplicate %s", c.Arch)
		}
		seen[c.Arch] = true
		total += c.Count
		if i > 0 && c.Pred > res.Archs[i-1].Pred {
			t.Fatalf("not sorted by prediction at %d", i)
		}
		a := nb201.MustParse(c.Arch)
		if c.Params != a.Params(nb201.CIFAR10) || c.FLOPs != a.FLOPs(nb201.CIFAR10) {
			t.Fatalf("%s: params/flops %d/%d", c.Arch, c.Params, c.FLOPs)
		}
		want := m.PredictClean([]nb201.Arch{a}, m.Net.Unknown)[0]
		if math.Abs(c.Pred-want) > 1e-6 {
			t.Fatalf("%s: pred %g, want %g", c.Arch, c.Pred, want)
		}
	}
	if total != res.Valid {
		t.Fatalf("counts sum to %d, valid %d", total, res.Valid)
	}
	// Early stop: Want reached in the first round.
	opt.Want = 5
	res, err = Generate(context.Background(), s, UniformScore, m, nil, opt)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rounds != 1 || len(res.Archs) < 5 {
		t.Fatalf("want 5: %d rounds, %d archs", res.Rounds, len(res.Archs))
	}
	if _, err := Generate(context.Background(), s, UniformScore, nil, nil, Options{}); err == nil {
		t.Fatal("guidance without predictor accepted")
	}
}
