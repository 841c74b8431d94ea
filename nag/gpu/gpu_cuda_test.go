//go:build cuda

package gpu

// The device runners against the CPU models of package gnn (same weights,
// inputs and seeds): score forward, predictor input gradient, a whole
// training step (loss, every parameter gradient, the Adam+EMA update) and
// guided PC sampling steps. Runs only on a machine with a GPU
// (scripts/gpu-check.sh).

import (
	"context"
	"fmt"
	"math"
	"os"
	"testing"
	"time"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/autograd/optim"
	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/kernels"
	"github.com/nagml/nag/nag/guide"
	"github.com/nagml/nag/nag/nb201"
	"github.com/nagml/nag/sde"
	"github.com/nagml/nag/tensor"
)

var dev *kernels.Device

func TestMain(m *testing.M) {
	d, err := kernels.Open(0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gpu tests need a CUDA device:", err)
		os.Exit(1)
	}
	dev = d
	code := m.Run()
	if err := d.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

// near fails when some |got-want| > atol + rtol·|want|; it logs the worst ratio.
func near(t testing.TB, what string, got, want []float32, atol, rtol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	worst, wi, maxAbs := 0.0, 0, 0.0
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(g) || math.IsInf(g, 0) {
			t.Fatalf("%s[%d] = %v, want %v", what, i, g, w)
		}
		maxAbs = math.Max(maxAbs, math.Abs(g-w))
		if r := math.Abs(g-w) / (atol + rtol*math.Abs(w)); r > worst {
			worst, wi = r, i
		}
	}
	t.Logf("%s: max |diff| %.3g, worst %.3g x tolerance", what, maxAbs, worst)
	if worst > 1 {
		t.Errorf("%s: element %d = %v, want %v (%.3g x tolerance atol %g rtol %g)", what, wi, got[wi], want[wi], worst, atol, rtol)
	}
}

// nearMost requires every element within loose of want and all but a
// fraction maxFrac within atol + rtol·|want|.
func nearMost(t testing.TB, what string, got, want []float32, atol, rtol, loose, maxFrac float64) {
	t.Helper()
	out, worst := 0, 0.0
	for i := range got {
		d := math.Abs(float64(got[i] - want[i]))
		if math.IsNaN(d) || d > loose {
			t.Fatalf("%s: element %d = %v, want %v (beyond %g)", what, i, got[i], want[i], loose)
		}
		worst = math.Max(worst, d)
		if d > atol+rtol*math.Abs(float64(want[i])) {
			out++
		}
	}
	t.Logf("%s: %d of %d beyond the tight tolerance, max |diff| %.3g", what, out, len(got), worst)
	if float64(out) > maxFrac*float64(len(got)) {
		t.Errorf("%s: %d of %d elements beyond atol %g rtol %g", what, out, len(got), atol, rtol)
	}
}

// mbv3Config turns an NB201-shaped config into the OFA layout (stage-wise
// positions, 4 layers per stage).
func mbv3Config(c gnn.CATEConfig) gnn.CATEConfig {
	c.PosEnc, c.StageLen = "stagewise", 4
	return c
}

// maskFor returns the NB201 mask for 8 nodes, else a stage mask (layer i
// attends to the layers of its own stage of 4) like the OFA space's.
func maskFor(c gnn.CATEConfig) *tensor.Tensor {
	if c.Nodes == 8 {
		return nb201Mask()
	}
	m := tensor.Zeros(c.Nodes, c.Nodes)
	for i := 0; i < c.Nodes; i++ {
		for j := 0; j < c.Nodes; j++ {
			if i/4 == j/4 {
				m.Data()[i*c.Nodes+j] = 1
			}
		}
	}
	return m
}

// nb201Mask is the default NB201 attention mask (reference topology, raw).
func nb201Mask() *tensor.Tensor {
	a := nb201.GraphConfig{}.AttentionMask()
	m := tensor.Zeros(nb201.NumNodes, nb201.NumNodes)
	for i := range a {
		for j := range a[i] {
			m.Data()[i*nb201.NumNodes+j] = float32(a[i][j])
		}
	}
	return m
}

func randX(rng *tensor.RNG, b, n, v int) *tensor.Tensor {
	x := tensor.RandN(rng, b, n, v)
	return x
}

func sigmas(rng *tensor.RNG, b int) []float32 {
	s := make([]float32, b)
	for i := range s {
		s[i] = float32(0.01 + 4.99*rng.Float64())
	}
	return s
}

func TestScoreMatchesCPU(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  gnn.CATEConfig
		b    int
	}{
		{"small_b37", gnn.SmallCATEConfig(8, 7), 37},
		{"paper_b256", gnn.PaperCATEConfig(8, 7), 256},
		{"mbv3_paper_b64", mbv3Config(gnn.PaperCATEConfig(20, 9)), 64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := tensor.NewRNG(1)
			net, err := gnn.NewCATE(tc.cfg, rng)
			if err != nil {
				t.Fatal(err)
			}
			m, err := NewCATE(dev, net, tc.b, false)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Free()
			mask := maskFor(tc.cfg)
			if err := m.SetMask(mask); err != nil {
				t.Fatal(err)
			}
			x, sig := randX(rng, tc.b, tc.cfg.Nodes, tc.cfg.Vocab), sigmas(rng, tc.b)
			got := make([]float32, x.Len())
			if err := m.Score(x.Data(), sig, got); err != nil {
				t.Fatal(err)
			}
			want := net.NewScorer().Score(x, sig, mask)
			near(t, "score", got, want.Contiguous().Data(), 1e-3, 2e-3)
		})
	}
}

// TestVecGemmBitIdentical: the paper score network at batch 256 gives the
// same bits with Device.UseVecGemm (k-16 float4-load GEMM kernels) as with
// the default kernels (same per-element FMA order).
func TestVecGemmBitIdentical(t *testing.T) {
	rng := tensor.NewRNG(3)
	cfg := gnn.PaperCATEConfig(8, 7)
	net, err := gnn.NewCATE(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	const b = 256
	x, sig := randX(rng, b, cfg.Nodes, cfg.Vocab), sigmas(rng, b)
	score := func(vec bool) []float32 {
		if err := dev.UseVecGemm(vec); err != nil {
			t.Fatal(err)
		}
		m, err := NewCATE(dev, net, b, false)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Free()
		if err := m.SetMask(nb201Mask()); err != nil {
			t.Fatal(err)
		}
		out := make([]float32, x.Len())
		if err := m.Score(x.Data(), sig, out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	defer dev.UseVecGemm(true) // the default
	want := score(false)
	before := dev.GemmLaunches()
	got := score(true)
	after := dev.GemmLaunches()
	ran := 0
	for _, k := range []string{"sgemm_128v16", "sgemm_128x64v16"} {
		ran += int(after[k] - before[k])
	}
	t.Logf("GEMM launches with UseVecGemm: %v (before: %v)", after, before)
	if ran == 0 {
		t.Fatalf("no product ran on a k-16 kernel (operands misaligned?): launches %v", after)
	}
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("score[%d] = %v with UseVecGemm, %v without (want bit-identical)", i, got[i], want[i])
		}
	}
}

// TestGraphsMatchDirect: the CUDA-graph replay of the eval forward and of the
// predictor gradient gives bit-identical results to direct launches, and
// recomputes from new inputs.
func TestGraphsMatchDirect(t *testing.T) {
	rng := tensor.NewRNG(6)
	net, err := gnn.NewCATE(gnn.PaperCATEConfig(8, 7), rng)
	if err != nil {
		t.Fatal(err)
	}
	p, ds, fwd, bwd := paperPredictor(t, rng)
	const b = 256
	mk := func(graph bool) (*CATE, *Predictor) {
		m, err := NewCATE(dev, net, b, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.SetMask(nb201Mask()); err != nil {
			t.Fatal(err)
		}
		pr, err := NewPredictor(dev, p, ds, fwd, bwd, b)
		if err != nil {
			t.Fatal(err)
		}
		m.UseGraph(graph)
		pr.UseGraph(graph)
		return m, pr
	}
	gm, gp := mk(true)
	dm, dp := mk(false)
	defer func() { gm.Free(); gp.Free(); dm.Free(); dp.Free() }()
	for round := 0; round < 2; round++ {
		x, sig := randX(rng, b, 8, 7), sigmas(rng, b)
		s1, s2 := make([]float32, x.Len()), make([]float32, x.Len())
		if err := gm.Score(x.Data(), sig, s1); err != nil {
			t.Fatal(err)
		}
		if err := dm.Score(x.Data(), sig, s2); err != nil {
			t.Fatal(err)
		}
		if !gm.Graphed() {
			t.Fatalf("score forward not captured: %v", gm.GraphErr())
		}
		near(t, fmt.Sprintf("graph vs direct score, round %d", round), s1, s2, 0, 0)
		if err := gp.InputGrad(x.Data(), sig, s1); err != nil {
			t.Fatal(err)
		}
		if err := dp.InputGrad(x.Data(), sig, s2); err != nil {
			t.Fatal(err)
		}
		if !gp.Graphed() {
			t.Fatalf("predictor gradient not captured: %v", gp.GraphErr())
		}
		near(t, fmt.Sprintf("graph vs direct predictor gradient, round %d", round), s1, s2, 0, 0)
	}
}

func paperPredictor(t testing.TB, rng *tensor.RNG) (*gnn.Predictor, *tensor.Tensor, *tensor.Tensor, *tensor.Tensor) {
	p, err := gnn.NewPredictor(gnn.PaperPredictorConfig(8, 7, 512), rng)
	if err != nil {
		t.Fatal(err)
	}
	ds := tensor.RandN(rng, 56)
	fwd, bwd := gnn.NormalizedAdjacency(nb201Mask())
	return p, ds, fwd, bwd
}

func cpuInputGrad(t testing.TB, p *gnn.Predictor, x *tensor.Tensor, sig []float32, fwd, bwd, ds *tensor.Tensor) ([]float32, []float32) {
	tp := autograd.NewTape()
	xv := autograd.NewVar(x.Clone(), true)
	defer guide.Freeze(p.Params())()
	y := p.Forward(gnn.Ctx{Tape: tp}, xv, sig, fwd, bwd, autograd.Const(ds))
	g, err := tp.Grad(tp.SumAll(y), xv)
	if err != nil {
		t.Fatal(err)
	}
	return y.Value.Contiguous().Data(), g[0].Contiguous().Data()
}

func TestPredictorInputGradMatchesCPU(t *testing.T) {
	rng := tensor.NewRNG(2)
	p, ds, fwd, bwd := paperPredictor(t, rng)
	const b = 64
	pr, err := NewPredictor(dev, p, ds, fwd, bwd, b)
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Free()
	x, sig := randX(rng, b, 8, 7), sigmas(rng, b)
	wantY, wantG := cpuInputGrad(t, p, x, sig, fwd, bwd, ds)
	gotY, err := pr.Predict(x.Data(), sig)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "prediction", gotY, wantY, 1e-4, 1e-3)
	gotG := make([]float32, x.Len())
	if err := pr.InputGrad(x.Data(), sig, gotG); err != nil {
		t.Fatal(err)
	}
	near(t, "d sum(y) / dx", gotG, wantG, 1e-5, 2e-3)
}

// prepare builds a DSM batch as sde.DSMLossAt does.
func prepare(s sde.SDE, x0 *tensor.Tensor, ts []float64, z *tensor.Tensor) TrainBatch {
	xt, std, cond := sde.Perturb(s, x0, ts, z)
	return TrainBatch{XT: xt.Data(), Cond: cond, Std: std, Z: z.Data()}
}

func TestTrainStepMatchesCPU(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  gnn.CATEConfig
		b    int
	}{
		{"small_b32", gnn.SmallCATEConfig(8, 7), 32},
		{"paper_b64", gnn.PaperCATEConfig(8, 7), 64},
		{"mbv3_small_b32", mbv3Config(gnn.SmallCATEConfig(20, 9)), 32},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Dropout = 0 // dropout masks differ between the CPU RNG and Philox
			rng := tensor.NewRNG(3)
			net, err := gnn.NewCATE(cfg, rng)
			if err != nil {
				t.Fatal(err)
			}
			ocfg := optim.DefaultConfig()
			ocfg.LR, ocfg.Warmup, ocfg.GradClip = 1e-3, 0, 1
			m, err := NewCATE(dev, net, tc.b, true)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Free()
			mask := maskFor(cfg)
			if err := m.SetMask(mask); err != nil {
				t.Fatal(err)
			}
			s := sde.DefaultVE()
			x0 := tensor.RandN(rng, tc.b, cfg.Nodes, cfg.Vocab)
			ts := make([]float64, tc.b)
			for i := range ts {
				ts[i] = sde.TrainEps + (1-sde.TrainEps)*rng.Float64()
			}
			z := tensor.RandN(rng, tc.b, cfg.Nodes, cfg.Vocab)
			loss, norm, err := m.LossAndGrad(prepare(s, x0, ts, z), 7, 0)
			if err != nil {
				t.Fatal(err)
			}
			// CPU reference.
			tp := autograd.NewTape()
			score := func(tp *autograd.Tape, xt *autograd.Var, cond []float32) *autograd.Var {
				return net.Forward(gnn.Ctx{Tape: tp, Train: true, RNG: tensor.NewRNG(9)}, xt, cond, mask)
			}
			opt, err := optim.New(net.Params(), ocfg)
			if err != nil {
				t.Fatal(err)
			}
			lv, err := sde.DSMLossAt(tp, s, score, x0, ts, z)
			if err != nil {
				t.Fatal(err)
			}
			opt.ZeroGrad()
			if err := tp.Backward(lv); err != nil {
				t.Fatal(err)
			}
			wantLoss := float64(lv.Value.Item())
			wantNorm := optim.GradNorm(net.Params())
			t.Logf("loss %.6g (cpu %.6g), grad norm %.6g (cpu %.6g)", loss, wantLoss, norm, wantNorm)
			if math.Abs(loss-wantLoss) > 1e-3*math.Abs(wantLoss) {
				t.Errorf("loss %.7g, cpu %.7g", loss, wantLoss)
			}
			if math.Abs(norm-wantNorm) > 2e-3*wantNorm {
				t.Errorf("gradient norm %.7g, cpu %.7g", norm, wantNorm)
			}
			host := make([]float32, m.Params().Len())
			if err := m.Params().Grads.CopyTo(host); err != nil {
				t.Fatal(err)
			}
			bad := 0
			for i, p := range m.Order() {
				got := host[m.Params().Offsets[i] : m.Params().Offsets[i]+p.Value.Len()]
				want := p.Grad.Contiguous().Data()
				var scale float64
				for _, w := range want {
					scale = math.Max(scale, math.Abs(float64(w)))
				}
				worst := 0.0
				for j := range got {
					worst = math.Max(worst, math.Abs(float64(got[j]-want[j])))
				}
				if worst > 2e-3*scale+1e-6 {
					bad++
					t.Errorf("gradient of %s: max |diff| %.3g, max |grad| %.3g", p.Name, worst, scale)
				}
			}
			if bad == 0 {
				t.Logf("all %d parameter gradients agree", len(m.Order()))
			}
			// One optimiser step on both sides.
			if err := m.ApplyStep(ocfg, norm); err != nil {
				t.Fatal(err)
			}
			if _, err := opt.Step(); err != nil {
				t.Fatal(err)
			}
			want := make([]float32, 0, m.Params().Len())
			for _, p := range m.Order() {
				want = append(want, p.Value.Contiguous().Data()...)
			}
			got := make([]float32, len(want))
			if err := m.Params().Values.CopyTo(got); err != nil {
				t.Fatal(err)
			}
			// Adam's first step is about lr·sign(g): a gradient within rounding
			// of zero may flip sign between the two sides, moving that weight
			// by up to 2·lr. Allow that for a tiny fraction of the weights.
			nearMost(t, "parameters after one Adam step", got, want, 2e-6, 1e-4, 2.2*ocfg.LR, 1e-3)
			shadow := map[string][]float32{}
			for _, nt := range opt.State().Tensors {
				shadow[nt.Name] = nt.Tensor.Contiguous().Data()
			}
			wantEMA := make([]float32, 0, len(want))
			for _, p := range m.Order() {
				wantEMA = append(wantEMA, shadow["ema."+p.Name]...)
			}
			if err := m.Params().Shadow.CopyTo(got); err != nil {
				t.Fatal(err)
			}
			nearMost(t, "EMA shadow after one step", got, wantEMA, 2e-6, 1e-4, 2.2*ocfg.LR, 1e-3)
			// SyncTo writes the device state into a host optimiser.
			if err := m.SyncTo(opt); err != nil {
				t.Fatal(err)
			}
			if opt.Steps() != 1 || opt.EMA().Updates() != 1 {
				t.Errorf("after SyncTo: %d steps, %d EMA updates", opt.Steps(), opt.EMA().Updates())
			}
		})
	}
}

func TestTrainDropoutDeterministic(t *testing.T) {
	rng := tensor.NewRNG(4)
	net, err := gnn.NewCATE(gnn.SmallCATEConfig(8, 7), rng)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewCATE(dev, net, 16, true)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	if err := m.SetMask(nb201Mask()); err != nil {
		t.Fatal(err)
	}
	s := sde.DefaultVE()
	x0, z := tensor.RandN(rng, 16, 8, 7), tensor.RandN(rng, 16, 8, 7)
	ts := make([]float64, 16)
	for i := range ts {
		ts[i] = 0.5
	}
	tb := prepare(s, x0, ts, z)
	l1, n1, err := m.LossAndGrad(tb, 5, 3)
	if err != nil {
		t.Fatal(err)
	}
	l2, n2, _ := m.LossAndGrad(tb, 5, 3)
	l3, n3, _ := m.LossAndGrad(tb, 5, 4)
	t.Logf("same seed/step: (%g, %g) (%g, %g); next step: (%g, %g)", l1, n1, l2, n2, l3, n3)
	if l1 != l2 || n1 != n2 {
		t.Errorf("same (seed, step) gave different results")
	}
	if l1 == l3 {
		t.Errorf("a different step drew the same dropout masks")
	}
	if math.IsNaN(l1) || l1 <= 0 {
		t.Errorf("loss %g", l1)
	}
}

// TestGuidedPCMatchesCPU runs the reference PC sampler (host noise from the
// same seed) with the CPU guided score and with the device one.
func TestGuidedPCMatchesCPU(t *testing.T) {
	rng := tensor.NewRNG(5)
	net, err := gnn.NewCATE(gnn.SmallCATEConfig(8, 7), rng)
	if err != nil {
		t.Fatal(err)
	}
	p, ds, fwd, bwd := paperPredictor(t, rng)
	mask := nb201Mask()
	const b, steps, scale = 64, 5, 50.0
	sc := NewScorer(dev, net, mask)
	defer sc.Free()
	sc.SetPredictor(p, ds, fwd, bwd)
	cpuScorer := net.NewScorer()
	base := func(x *tensor.Tensor, _ float64, cond []float32) (*tensor.Tensor, error) {
		return cpuScorer.Score(x, cond, mask), nil
	}
	reg := regressor{p: p, ds: ds, fwd: fwd, bwd: bwd}
	defer guide.Freeze(p.Params())()
	cpuHook := guide.Hook(base, reg, scale, nil)
	s := sde.DefaultVE()
	run := func(h sde.ScoreFn) *tensor.Tensor {
		x, err := sde.SamplePC(context.Background(), s, h, []int{b, 8, 7}, sde.Options{Steps: steps, Seed: 11})
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	want := run(cpuHook)
	got := run(sc.Guided(scale, nil))
	near(t, fmt.Sprintf("guided PC, %d steps", steps), got.Data(), want.Data(), 1e-3, 1e-3)
}

type regressor struct {
	p            *gnn.Predictor
	ds, fwd, bwd *tensor.Tensor
}

func (r regressor) Predict(c gnn.Ctx, x *autograd.Var, sigma []float32) *autograd.Var {
	return r.p.Forward(c, x, sigma, r.fwd, r.bwd, autograd.Const(r.ds))
}

func (r regressor) Params() []*autograd.Var { return r.p.Params() }

// ---- benchmarks (paper configuration, batch 256) ------------------------------------

func benchScorer(b *testing.B) (*Scorer, *gnn.CATE) {
	rng := tensor.NewRNG(1)
	net, err := gnn.NewCATE(gnn.PaperCATEConfig(8, 7), rng)
	if err != nil {
		b.Fatal(err)
	}
	p, ds, fwd, bwd := paperPredictor(b, rng)
	sc := NewScorer(dev, net, nb201Mask())
	sc.SetPredictor(p, ds, fwd, bwd)
	return sc, net
}

// BenchmarkScoreForward: one eval forward of the paper score network, 256
// graphs, upload + launches + download.
func BenchmarkScoreForward(b *testing.B) {
	sc, _ := benchScorer(b)
	defer sc.Free()
	f := sc.ScoreFn()
	x := tensor.RandN(tensor.NewRNG(2), 256, 8, 7)
	cond := make([]float32, 256)
	for i := range cond {
		cond[i] = 1
	}
	if _, err := f(x, 0.5, cond); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f(x, 0.5, cond); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGuidedSampling: whole guided PC runs (256 architectures, 1000
// steps, predictor-corrector: 2000 guided score evaluations), the issue's
// headline number; reported as seconds per run.
func BenchmarkGuidedSampling(b *testing.B) {
	for _, tc := range []struct {
		name  string
		scale float64
	}{{"unguided", 0}, {"guided", 10000}} {
		b.Run(tc.name, func(b *testing.B) {
			sc, _ := benchScorer(b)
			defer sc.Free()
			s := sde.DefaultVE()
			h := sc.Guided(tc.scale, nil)
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if _, err := sde.SamplePC(context.Background(), s, h, []int{256, 8, 7}, sde.Options{Steps: 1000, Seed: uint64(i)}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(time.Since(start).Seconds()/float64(b.N), "s/run")
		})
	}
}

// BenchmarkTrainStep: one training step of the paper score network at batch
// 256 (forward with dropout, DSM loss, backward, norm, clip, Adam+EMA).
func BenchmarkTrainStep(b *testing.B) {
	rng := tensor.NewRNG(1)
	net, err := gnn.NewCATE(gnn.PaperCATEConfig(8, 7), rng)
	if err != nil {
		b.Fatal(err)
	}
	m, err := NewCATE(dev, net, 256, true)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Free()
	if err := m.SetMask(nb201Mask()); err != nil {
		b.Fatal(err)
	}
	s := sde.DefaultVE()
	x0, z := tensor.RandN(rng, 256, 8, 7), tensor.RandN(rng, 256, 8, 7)
	ts := make([]float64, 256)
	for i := range ts {
		ts[i] = rng.Float64()
	}
	tb := prepare(s, x0, ts, z)
	ocfg := optim.DefaultConfig()
	step := func(i int) {
		_, norm, err := m.LossAndGrad(tb, 1, int64(i))
		if err != nil {
			b.Fatal(err)
		}
		if err := m.ApplyStep(ocfg, norm); err != nil {
			b.Fatal(err)
		}
	}
	step(0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		step(i + 1)
	}
	if err := dev.Sync(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkParts splits one guided evaluation (paper config, 256 graphs)
// into its parts, each synchronised: where the time of a sampling step goes.
func BenchmarkParts(b *testing.B) {
	sc, _ := benchScorer(b)
	defer sc.Free()
	r, err := sc.runner(256)
	if err != nil {
		b.Fatal(err)
	}
	p, err := sc.predictor(256)
	if err != nil {
		b.Fatal(err)
	}
	x := tensor.RandN(tensor.NewRNG(2), 256, 8, 7).Data()
	cond := make([]float32, 256)
	for i := range cond {
		cond[i] = 1
	}
	out := make([]float32, len(x))
	if _, err := r.ScoreDevice(x, cond); err != nil {
		b.Fatal(err)
	}
	run := func(name string, f func() error) {
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if err := f(); err != nil {
					b.Fatal(err)
				}
				if err := dev.Sync(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	run("upload_x_download_score", func() error {
		if err := r.x.CopyFrom(x); err != nil {
			return err
		}
		return r.score.CopyTo(out)
	})
	run("score_forward_launches", func() error { return r.forward(false, 0, 0) })
	run("score_blocks_only", func() error {
		ck := newChecker()
		for l := 0; l < r.cfg.Layers; l++ {
			r.evalBlock(ck, l, 0.35)
		}
		return ck.err
	})
	run("score_readout_only", func() error {
		in := r.cat
		for i := range r.z {
			act := kernels.ELU
			if i == len(r.z)-1 {
				act = kernels.NoAct
			}
			if err := dev.Linear(in, r.w(fmt.Sprintf("readout.%d.weight", i)), r.w(fmt.Sprintf("readout.%d.bias", i)), act, 1, r.y[i]); err != nil {
				return err
			}
			in = r.y[i]
		}
		return nil
	})
	run("predictor_input_grad", func() error { _, err := p.InputGradDevice(x, cond); return err })
	run("score_eval_total", func() error { _, err := r.ScoreDevice(x, cond); return err })
	r.UseGraph(false)
	p.UseGraph(false)
	run("score_eval_total_no_graph", func() error { _, err := r.ScoreDevice(x, cond); return err })
	run("predictor_input_grad_no_graph", func() error { _, err := p.InputGradDevice(x, cond); return err })
}
