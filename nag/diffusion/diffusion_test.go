package diffusion

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nagml/nag/nag/ckpt"
	"github.com/nagml/nag/nag/nb201"
	"github.com/nagml/nag/tensor"
)

func nb201Space() Space { return NB201Space(nb201.DefaultGraphConfig()) }

// tinyConfig is a fast configuration for tests.
func tinyConfig(t *testing.T) Config {
	t.Helper()
	sp := nb201Space()
	cfg, err := NewConfig(sp, "small")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Model.Layers, cfg.Model.DModel, cfg.Model.Heads, cfg.Model.DFF = 1, 8, 2, 8
	cfg.Model.TimeHidden, cfg.Model.MLPHidden = 8, []int{16}
	cfg.Batch, cfg.Iters, cfg.Split, cfg.SplitSeed = 8, 6, 0.5, 3
	cfg.Optim.Warmup = 2
	return cfg
}

func TestSplitIndices(t *testing.T) {
	a := SplitIndices(15625, 0.5, 7)
	if len(a) != 7812 {
		t.Fatalf("split 0.5 of 15625 gives %d, want 7812", len(a))
	}
	for i := 1; i < len(a); i++ {
		if a[i] <= a[i-1] {
			t.Fatalf("indices not sorted and unique at %d: %d, %d", i, a[i-1], a[i])
		}
	}
	b := SplitIndices(15625, 0.5, 7)
	c := SplitIndices(15625, 0.5, 8)
	same, diff := true, false
	for i := range a {
		same = same && a[i] == b[i]
		diff = diff || a[i] != c[i]
	}
	if !same || !diff {
		t.Errorf("split: same seed reproducible = %v, other seed differs = %v", same, diff)
	}
	if all := SplitIndices(10, 1, 1); len(all) != 10 || all[9] != 9 {
		t.Errorf("split 1: %v", all)
	}
}

func TestNB201SpaceDecode(t *testing.T) {
	sp := nb201Space()
	a := nb201.MustParse("|nor_conv_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|nor_conv_1x1~1|nor_conv_3x3~2|")
	if got := sp.ArchString(a.Key()); got != a.String() {
		t.Fatalf("dataset entry %d is %q, want %q", a.Key(), got, a.String())
	}
	x := sp.Data(a.Key())
	// A noisy version that stays on the right side of 0.5 decodes to a.
	for i := range x {
		x[i] = 0.8*x[i] + 0.1
	}
	if s, ok := sp.Decode(x); !ok || s != a.String() {
		t.Errorf("decode = %q, %v; want %q", s, ok, a.String())
	}
	x[1*7+2] = 0.6 // row 1 gets a second op above the threshold
	if s, ok := sp.Decode(x); ok {
		t.Errorf("row with two ops decoded as %q", s)
	}
	if sp.Mask.At(0, 3) != 1 || sp.Mask.At(1, 4) != 1 || sp.Mask.At(7, 0) != 0 {
		t.Errorf("mask is not the reference get_adj adjacency: %v", sp.Mask)
	}
	if _, err := SpaceByName("nb201", "closure"); err != nil {
		t.Error(err)
	}
	if _, err := SpaceByName("nb101", ""); err == nil {
		t.Error("unknown space accepted")
	}
	if _, err := SpaceByName("nb201", "floyed"); err == nil {
		t.Error("unknown mask accepted")
	}
}

func TestConfigValidate(t *testing.T) {
	for _, f := range []func(*Config){
		func(c *Config) { c.Split = 0 },
		func(c *Config) { c.Split = 1.5 },
		func(c *Config) { c.Batch = 0 },
		func(c *Config) { c.Optim.LR = -1 },
		func(c *Config) { c.SDE.Kind = "ddim" },
		func(c *Config) { c.Model.Heads = 3 },
	} {
		c := tinyConfig(t)
		f(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("invalid config accepted: %+v", c)
		}
	}
}

func train(t *testing.T, cfg Config, opt TrainOptions) *TrainResult {
	t.Helper()
	res, err := Train(context.Background(), cfg, nb201Space(), opt)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func readCkpt(t *testing.T, path string) *ckpt.Checkpoint {
	t.Helper()
	c, err := ckpt.ReadFile(path, CheckpointKind)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestResumeBitIdentical trains 6 iterations straight and 3 + 3 with a
// resume in between: every tensor (weights, moments, EMA) and the RNG state
// must be bit-identical.
func TestResumeBitIdentical(t *testing.T) {
	dir := t.TempDir()
	cfg := tinyConfig(t)
	full := filepath.Join(dir, "full.ckpt")
	var log strings.Builder
	res := train(t, cfg, TrainOptions{Out: full, Seed: 5, Log: &log})
	if res.Step != 6 || res.TrainSize != 7812 || math.IsNaN(res.Loss) || res.Loss <= 0 {
		t.Fatalf("result %+v", res)
	}
	for _, want := range []string{"parameters: ", "7812 of 15625 architectures for training (split 0.5, split seed 3)", "score network: CATE small"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
	half := filepath.Join(dir, "half.ckpt")
	c3 := cfg
	c3.Iters = 3
	train(t, c3, TrainOptions{Out: half, Seed: 5, CkptEvery: 2})
	if c := readCkpt(t, half); c.Step != 3 {
		t.Fatalf("half checkpoint at step %d, want 3", c.Step)
	}
	resumed := filepath.Join(dir, "resumed.ckpt")
	c6 := cfg
	c6.Iters = 6
	c6.Optim.LR = 0.5 // ignored: a resumed run keeps the checkpoint's configuration
	train(t, c6, TrainOptions{Out: resumed, Resume: half, Seed: 999})
	a, b := readCkpt(t, full), readCkpt(t, resumed)
	if a.Step != b.Step || string(a.RNG) != string(b.RNG) || len(a.Entries) != len(b.Entries) {
		t.Fatalf("resumed run differs: step %d vs %d, %d vs %d entries", a.Step, b.Step, len(a.Entries), len(b.Entries))
	}
	for i := range a.Entries {
		ea, eb := a.Entries[i], b.Entries[i]
		if ea.Name != eb.Name || len(ea.F32) != len(eb.F32) || len(ea.I64) != len(eb.I64) {
			t.Fatalf("entry %d: %s vs %s", i, ea.Name, eb.Name)
		}
		for j := range ea.F32 {
			if math.Float32bits(ea.F32[j]) != math.Float32bits(eb.F32[j]) {
				t.Fatalf("entry %s element %d: %g vs %g", ea.Name, j, ea.F32[j], eb.F32[j])
			}
		}
		for j := range ea.I64 {
			if ea.I64[j] != eb.I64[j] {
				t.Fatalf("entry %s element %d differs", ea.Name, j)
			}
		}
	}
	// The weights changed from their initialisation.
	init := filepath.Join(dir, "init.ckpt")
	c0 := cfg
	c0.Iters = 0
	train(t, c0, TrainOptions{Out: init, Seed: 5})
	w0, _ := readCkpt(t, init).Tensor("params.embed.weight")
	w6, _ := a.Tensor("params.embed.weight")
	if w0.Data()[0] == w6.Data()[0] && w0.Data()[1] == w6.Data()[1] {
		t.Error("training did not change the weights")
	}
}

func TestInterruptWritesCheckpoint(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "run.ckpt")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var log strings.Builder
	res, err := Train(ctx, tinyConfig(t), nb201Space(), TrainOptions{Out: out, Seed: 1, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted || res.Step != 0 {
		t.Errorf("result %+v, want interrupted at 0", res)
	}
	if !strings.Contains(log.String(), "interrupted at iteration 0") {
		t.Errorf("log: %s", log.String())
	}
	if c := readCkpt(t, out); c.Step != 0 {
		t.Errorf("checkpoint step %d", c.Step)
	}
	// The interrupted run resumes.
	res, err = Train(context.Background(), Config{Iters: 2}, nb201Space(), TrainOptions{Out: out, Resume: out})
	if err != nil || res.Step != 2 {
		t.Fatalf("resume after interrupt: %+v, %v", res, err)
	}
}

func TestDivergenceKeepsCheckpoint(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "run.ckpt")
	cfg := tinyConfig(t)
	cfg.Iters = 2
	train(t, cfg, TrainOptions{Out: out, Seed: 1})
	before, _ := os.ReadFile(out)
	bad := cfg
	bad.MaxLoss = 1e-9 // any loss "explodes"
	_, err := Train(context.Background(), bad, nb201Space(), TrainOptions{Out: out, Seed: 2})
	if !errors.Is(err, ErrDiverged) || !strings.Contains(err.Error(), "iteration 1") {
		t.Fatalf("err = %v, want ErrDiverged at iteration 1", err)
	}
	after, _ := os.ReadFile(out)
	if string(before) != string(after) {
		t.Error("a diverged run overwrote the checkpoint")
	}
	// Resuming with a diverging loss names the kept checkpoint.
	c := readCkpt(t, out)
	cfg2 := cfg
	cfg2.MaxLoss = 1e-9
	c.Config = cfg2.json()
	if err := ckpt.WriteFile(out, c); err != nil {
		t.Fatal(err)
	}
	_, err = Train(context.Background(), Config{Iters: 4}, nb201Space(), TrainOptions{Out: out, Resume: out, CkptEvery: 1})
	if !errors.Is(err, ErrDiverged) || !strings.Contains(err.Error(), "iteration 3") {
		t.Fatalf("err = %v", err)
	}
}

func TestTrainErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := tinyConfig(t)
	if _, err := Train(context.Background(), cfg, nb201Space(), TrainOptions{}); err == nil {
		t.Error("missing output path accepted")
	}
	if _, err := Train(context.Background(), cfg, nb201Space(), TrainOptions{Out: filepath.Join(dir, "x"), Resume: filepath.Join(dir, "missing.ckpt")}); err == nil {
		t.Error("missing resume file accepted")
	}
	garbage := filepath.Join(dir, "garbage.ckpt")
	os.WriteFile(garbage, []byte("not a checkpoint"), 0o644)
	if _, err := Train(context.Background(), cfg, nb201Space(), TrainOptions{Out: filepath.Join(dir, "x"), Resume: garbage}); err == nil {
		t.Error("garbage resume file accepted")
	}
	out := filepath.Join(dir, "a.ckpt")
	c0 := cfg
	c0.Iters = 1
	train(t, c0, TrainOptions{Out: out, Seed: 1})
	closure, _ := SpaceByName("nb201", "closure")
	if _, err := Train(context.Background(), cfg, closure, TrainOptions{Out: out, Resume: out}); err == nil || !strings.Contains(err.Error(), "mask") {
		t.Errorf("resume with another mask: %v", err)
	}
}

func TestModelLoadExportSample(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "run.ckpt")
	cfg := tinyConfig(t)
	cfg.Optim.EMADecay = 0.5
	train(t, cfg, TrainOptions{Out: out, Seed: 1})
	c := readCkpt(t, out)
	m, err := LoadModel(c)
	if err != nil {
		t.Fatal(err)
	}
	if m.Weights != "ema" || m.Step != 6 || len(m.TrainIndices) != 7812 {
		t.Fatalf("model: weights %s step %d train %d", m.Weights, m.Step, len(m.TrainIndices))
	}
	ema, _ := c.Tensor("optim.ema.readout.1.weight")
	live, _ := c.Tensor("params.readout.1.weight")
	var got *tensor.Tensor
	for _, p := range m.Net.Params() {
		if p.Name == "readout.1.weight" {
			got = p.Value
		}
	}
	differ := false
	for i, v := range got.Data() {
		if v != ema.Data()[i] {
			t.Fatalf("sampling weights are not the EMA weights at %d", i)
		}
		differ = differ || v != live.Data()[i]
	}
	if !differ {
		t.Error("EMA weights equal the live weights; the test cannot tell them apart")
	}
	if archs := m.TrainingArchs(); len(archs) != 7812 || archs[0] != m.Space.ArchString(m.TrainIndices[0]) {
		t.Errorf("training archs: %d", len(archs))
	}
	// Export keeps exactly the sampling weights and drops optimiser state.
	small := filepath.Join(dir, "small.ckpt")
	if err := ckpt.WriteFile(small, m.Export()); err != nil {
		t.Fatal(err)
	}
	e := readCkpt(t, small)
	if _, ok := e.Entry("optim.counters"); ok {
		t.Error("export kept the optimiser state")
	}
	m2, err := LoadModel(e)
	if err != nil {
		t.Fatal(err)
	}
	if m2.Weights != "ema" || m2.Step != 6 {
		t.Errorf("exported model: %s %d", m2.Weights, m2.Step)
	}
	if _, err := Train(context.Background(), Config{}, nb201Space(), TrainOptions{Out: filepath.Join(dir, "r"), Resume: small}); err == nil {
		t.Error("resuming an exported checkpoint accepted")
	}

	ctx := context.Background()
	var calls int
	opt := SampleOptions{N: 5, Batch: 2, Steps: 3, Seed: 9, Progress: func(done, total int) {
		calls++
		if total != 9 || done != calls {
			t.Errorf("progress %d/%d at call %d", done, total, calls)
		}
	}}
	s1, err := m.Sample(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !tensor.EqualInts(s1.X.Shape(), []int{5, 8, 7}) || len(s1.Archs) != 5 || calls != 9 {
		t.Fatalf("samples: shape %v, %d archs, %d progress calls", s1.X.Shape(), len(s1.Archs), calls)
	}
	opt.Progress = nil
	s2, _ := m2.Sample(ctx, opt)
	for i, v := range s1.X.Data() {
		if v != s2.X.Data()[i] {
			t.Fatalf("same seed, same weights, different samples at %d", i)
		}
	}
	for i, a := range s1.Archs {
		want, ok := m.Space.Decode(s1.X.Data()[i*56 : (i+1)*56])
		if ok != s1.Valid[i] || want != a {
			t.Errorf("sample %d decoded as %q/%v, want %q/%v", i, a, s1.Valid[i], want, ok)
		}
	}
	opt.Sampler = SamplerODE
	if _, err := m.Sample(ctx, opt); err != nil {
		t.Errorf("ode sampler: %v", err)
	}
	for _, bad := range []SampleOptions{{N: 0}, {N: 2, Sampler: "ddim"}, {N: 2, Steps: -1}, {N: 2, Mask: tensor.Zeros(3, 3)}} {
		if _, err := m.Sample(ctx, bad); err == nil {
			t.Errorf("bad options %+v accepted", bad)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := m.Sample(cctx, SampleOptions{N: 2, Steps: 2}); err == nil {
		t.Error("cancelled sampling returned no error")
	}
}
