package bo

import (
	"context"
	"math"
	"testing"

	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/nag/assets"
	"github.com/nagml/nag/nag/diffusion"
	"github.com/nagml/nag/nag/nb201"
	"github.com/nagml/nag/nag/predictor"
	"github.com/nagml/nag/sde"
	"github.com/nagml/nag/tensor"
)

// TestAcqGradMatchesFiniteDifferences checks the guidance gradient of UCB and
// EI through the ensemble against central differences of the acquisition of
// the ensemble's mean and spread.
func TestAcqGradMatchesFiniteDifferences(t *testing.T) {
	rng := tensor.NewRNG(3)
	ens := fittedEnsemble(t, GNNConfig{Members: 3, Hidden: 8, Layers: 2, Linear: 8, FirstSteps: 30, Steps: 5, LR: 1e-2}, 12, rng)
	const b = 2
	x := tensor.Zeros(b, nb201.NumNodes, nb201.NumTypes)
	rng.FillNormal(x.Data(), 0, 1)
	sigma := []float32{0.3, 1.7}
	// members' predictions at x in standardised units
	stats := func(x *tensor.Tensor) (mu, sd []float64) {
		preds := make([][]float64, len(ens.members))
		for m, p := range ens.members {
			out := p.Forward(gnn.Ctx{}, autogradConst(x), sigma, ens.fwd, ens.bwd, p.Unknown).Value.Contiguous().Data()
			preds[m] = []float64{float64(out[0]), float64(out[1])}
		}
		return meanStd(preds)
	}
	for _, acq := range []Acquisition{{Kind: AcqUCB, Beta: 3}, {Kind: AcqEI}} {
		best := 0.2
		g, err := ens.AcqGrad(x, sigma, func(i int, mu, sd float64) (float64, float64) { return acq.Partials(mu, sd, best, 0) })
		if err != nil {
			t.Fatal(err)
		}
		total := func(x *tensor.Tensor) float64 {
			mu, sd := stats(x)
			return acq.Value(mu[0], sd[0], best, 0) + acq.Value(mu[1], sd[1], best, 0)
		}
		const h = 1e-2
		var maxErr, maxG float64
		for k := 0; k < x.Len(); k += 3 {
			xp, xm := x.Clone(), x.Clone()
			xp.Data()[k] += h
			xm.Data()[k] -= h
			num := (total(xp) - total(xm)) / (2 * h)
			maxErr = math.Max(maxErr, math.Abs(num-float64(g.Data()[k])))
			maxG = math.Max(maxG, math.Abs(num))
		}
		if maxG == 0 || maxErr > 2e-3+0.02*maxG {
			t.Errorf("%s: max |analytic − numeric| = %g (max |grad| %g)", acq, maxErr, maxG)
		}
	}
}

func TestProjectBatch(t *testing.T) {
	x := tensor.Zeros(1, nb201.NumNodes, nb201.NumTypes)
	d := x.Data()
	want := nb201.Arch{nb201.Conv3x3, nb201.None, nb201.AvgPool, nb201.Skip, nb201.Conv1x1, nb201.Conv3x3}
	for e, o := range want {
		row := d[(e+1)*nb201.NumTypes : (e+2)*nb201.NumTypes]
		row[0], row[1] = 5, 5 // input/output entries are ignored
		row[o.Type()] = 0.9
	}
	got := projectBatch(x)
	if len(got) != 1 || got[0] != want {
		t.Fatalf("projectBatch = %v, want %v", got, want)
	}
}

func tinyDiffusionModel(t *testing.T) *diffusion.Model {
	t.Helper()
	sp := diffusion.NB201Space(nb201.DefaultGraphConfig())
	cfg := gnn.CATEConfig{Nodes: 8, Vocab: 7, Layers: 1, DModel: 8, Heads: 2, DFF: 8, TimeHidden: 8, MLPHidden: []int{8}, PosEnc: "cell"}
	net, err := gnn.NewCATE(cfg, tensor.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	return &diffusion.Model{Space: sp, Net: net, SDE: sde.DefaultVE(), Weights: "live"}
}

func TestDiffusionNAGLoop(t *testing.T) {
	o := fastOptions()
	o.Model = tinyDiffusionModel(t)
	o.Steps = 3
	o.Pool = 16
	for _, dec := range []string{DecodeProject, DecodeThreshold} {
		o.Decode = dec
		m, settings, err := NewMethod[nb201.Arch](NB201Space{}, "diffusionnag", o, 2)
		if err != nil {
			t.Fatal(err)
		}
		if settings["generator"] == nil {
			t.Error("settings lack the generator")
		}
		rec, err := Run(context.Background(), NB201Space{}, m, synthEval(), synthTask, Config{Budget: 13, Batch: 4, Seed: 2})
		if err != nil {
			t.Fatal(err)
		}
		checkRecord(t, rec, 13)
		if rec.Timings.Generator <= 0 || rec.Timings.Surrogate <= 0 {
			t.Errorf("%s: timings not accounted: %+v", dec, rec.Timings)
		}
		st := rec.Stats
		if st["rounds"] != 2 {
			t.Errorf("%s: %g BO rounds, want 2 (5 initial + 4 + 4)", dec, st["rounds"])
		}
		if dec == DecodeProject && st["mean_pool_size"] != 16 {
			t.Errorf("project decoding kept %g of 16 samples", st["mean_pool_size"])
		}
	}
	if _, _, err := NewMethod[nb201.Arch](NB201Space{}, "diffusionnag", fastOptions(), 0); err == nil {
		t.Error("diffusionnag without a score network: no error")
	}
}

func TestWarmStartCopiesBodyNotHead(t *testing.T) {
	warm, err := predictor.NewModel(predictor.DefaultModelConfig(16), tensor.NewRNG(9))
	if err != nil {
		t.Fatal(err)
	}
	ens, err := NewGNNEnsembleWarm[nb201.Arch](NB201Space{}, GNNConfig{Members: 2, FirstSteps: 2, Steps: 1, LR: 1e-3}, warm, tensor.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	src := map[string]*tensor.Tensor{}
	for _, v := range warm.Net.Params() {
		src[v.Name] = v.Value
	}
	heads := [2]float32{}
	for m, p := range ens.members {
		for _, v := range p.Params() {
			same := tensor.MaxAbs(tensor.Sub(v.Value, src[v.Name])) == 0
			isHead := len(v.Name) > 8 && v.Name[:8] == "pred_fc."
			if same == isHead {
				t.Errorf("member %d: %s copied=%v, head=%v", m, v.Name, same, isHead)
			}
			if v.Name == "pred_fc.2.weight" {
				heads[m] = v.Value.Data()[0]
			}
		}
	}
	if heads[0] == heads[1] {
		t.Error("members share their head initialisation")
	}
	archs := nb201.RandomN(tensor.NewRNG(2), 6)
	ys := []float64{1, 2, 3, 4, 5, 6}
	if err := ens.Fit(context.Background(), archs, ys, tensor.NewRNG(3)); err != nil {
		t.Fatal(err)
	}
	mu, sd := ens.Predict(archs)
	if len(mu) != 6 || math.IsNaN(mu[0]) || !(sd[0] > 0) {
		t.Errorf("predictions %v ± %v", mu, sd)
	}
}

// TestDiffusionGenLocalProposals: with LocalFrac the pool's tail starts from
// the best evaluated cells (round robin); from an early start time (0.05)
// the embedded score network returns those cells, the head of the pool is
// drawn from the prior as before (not just the incumbents), and a pool
// without local proposals is reproducible.
func TestDiffusionGenLocalProposals(t *testing.T) {
	model, err := assets.ScoreModelNB201()
	if err != nil {
		t.Fatal(err)
	}
	rng := tensor.NewRNG(4)
	ens := fittedEnsemble(t, GNNConfig{Members: 2, Hidden: 8, Layers: 2, Linear: 8, FirstSteps: 10, Steps: 2, LR: 1e-2}, 12, rng)
	h := NewHistory[nb201.Arch]()
	for _, a := range nb201.RandomN(rng, 8) {
		h.Add(Entry[nb201.Arch]{Arch: a, Value: synthValue(a)})
	}
	top := h.Top(3)
	req := GenRequest[nb201.Arch]{History: h, Surrogate: ens, Acq: Acquisition{Kind: AcqITS}, Best: h.Entries[h.Best()].Value}
	gen := func(frac float64) []nb201.Arch {
		g := &DiffusionGen[nb201.Arch]{Space: NB201Space{}, Model: model, Pool: 12, Steps: 20, Scale: 0.3, Ratio: true,
			Decode: DecodeProject, LocalFrac: frac, LocalStart: 0.05, LocalTop: 3}
		out, err := g.Generate(context.Background(), req, tensor.NewRNG(9))
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != 12 {
			t.Fatalf("local fraction %g: pool of %d, want 12", frac, len(out))
		}
		return out
	}
	all := gen(1)
	for i, a := range all {
		if a != top[i%3] {
			t.Errorf("local proposal %d is %v, want its start %v", i, a, top[i%3])
		}
	}
	half := gen(0.5)
	prior := gen(0)
	inTop := 0
	for i, a := range half {
		if i >= 6 && a != top[(i-6)%3] {
			t.Errorf("local proposal %d is %v, want its start %v", i, a, top[(i-6)%3])
		}
		if i < 6 && (a == top[0] || a == top[1] || a == top[2]) {
			inTop++
		}
	}
	if inTop == 6 {
		t.Error("the prior half of the pool only repeats the incumbents")
	}
	again := gen(0)
	for i := range prior {
		if prior[i] != again[i] {
			t.Fatalf("LocalFrac 0 is not deterministic at %d", i)
		}
	}
}

// TestLocalProposalsLabel: runs with local proposals are recorded under
// their own method name, and bad local settings are refused.
func TestLocalProposalsLabel(t *testing.T) {
	o := fastOptions()
	o.Model = tinyDiffusionModel(t)
	for _, c := range []struct {
		frac, start float64
		want        string
	}{{0, 0, "diffusionnag"}, {0.5, 0.55, "diffusionnag-local"}} {
		o.LocalFrac, o.LocalStart = c.frac, c.start
		m, settings, err := NewMethod[nb201.Arch](NB201Space{}, "diffusionnag", o, 1)
		if err != nil {
			t.Fatal(err)
		}
		if m.Name() != c.want || MethodLabel("diffusionnag", o) != c.want {
			t.Errorf("local fraction %g: recorded as %q, want %q", c.frac, m.Name(), c.want)
		}
		if g := settings["generator"].(*DiffusionGen[nb201.Arch]); g.LocalFrac != c.frac || (c.frac > 0 && g.LocalTop != o.MutateTop) {
			t.Errorf("generator settings %+v", g)
		}
	}
	o.LocalFrac, o.LocalStart = 0.5, 0
	if _, _, err := NewMethod[nb201.Arch](NB201Space{}, "diffusionnag", o, 1); err == nil {
		t.Error("local proposals without a start time: no error")
	}
	if MethodLabel("bananas", o) != "bananas" {
		t.Error("the local fraction renamed another method")
	}
}
