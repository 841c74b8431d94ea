package ckpt

import (
	"encoding/json"
	"math"
	"path/filepath"
	"testing"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/autograd/optim"
	"github.com/nagml/nag/tensor"
)

// run is the whole mutable state of a small training job: a 2-layer MLP,
// its optimiser (Adam moments, EMA, counters) and the data RNG.
type run struct {
	params []*autograd.Var
	opt    *optim.Optimizer
	rng    *tensor.RNG
	losses []float32
}

var resumeCfg = optim.Config{LR: 0.02, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 1e-4, Warmup: 5, GradClip: 0.5, EMADecay: 0.99}

const resumeSeed = 42

func newRun(t *testing.T, initSeed uint64) *run {
	t.Helper()
	r := tensor.NewRNG(initSeed)
	ps := []*autograd.Var{
		autograd.Param("l1.weight", tensor.RandN(r, 16, 3)),
		autograd.Param("l1.bias", tensor.Zeros(16)),
		autograd.Param("l2.weight", tensor.RandN(r, 1, 16)),
		autograd.Param("l2.bias", tensor.Zeros(1)),
	}
	o, err := optim.New(ps, resumeCfg)
	if err != nil {
		t.Fatal(err)
	}
	return &run{params: ps, opt: o, rng: tensor.NewRNG(resumeSeed)}
}

// dataset is a fixed regression problem: y = sin(x0) + x1·x2.
func dataset() (*tensor.Tensor, *tensor.Tensor) {
	r := tensor.NewRNG(100)
	x := tensor.RandU(r, -1, 1, 32, 3)
	y := tensor.Zeros(32, 1)
	for i := 0; i < 32; i++ {
		y.Data()[i] = float32(math.Sin(float64(x.At(i, 0)))) + x.At(i, 1)*x.At(i, 2)
	}
	return x, y
}

// train takes n steps: a random minibatch of 8 rows with input noise (both
// drawn from the run's RNG), MSE loss, backward, optimiser step.
func (s *run) train(t *testing.T, n int) {
	t.Helper()
	x, y := dataset()
	for step := 0; step < n; step++ {
		idx := s.rng.Perm(32)[:8]
		xb, yb := tensor.Zeros(8, 3), tensor.Zeros(8, 1)
		noise := make([]float32, 8*3)
		s.rng.FillNormal(noise, 0, 0.1)
		for i, k := range idx {
			for j := 0; j < 3; j++ {
				xb.Set(x.At(k, j)+noise[3*i+j], i, j)
			}
			yb.Set(y.At(k, 0), i, 0)
		}
		tp := autograd.NewTape()
		h := tp.Tanh(tp.Linear(autograd.Const(xb), s.params[0], s.params[1]))
		out := tp.Linear(h, s.params[2], s.params[3])
		loss := tp.MeanAll(tp.Square(tp.Sub(out, autograd.Const(yb))))
		if err := tp.Backward(loss); err != nil {
			t.Fatal(err)
		}
		if _, err := s.opt.Step(); err != nil {
			t.Fatal(err)
		}
		s.opt.ZeroGrad()
		s.losses = append(s.losses, loss.Value.Item())
	}
}

// save writes the run to a checkpoint file.
func (s *run) save(t *testing.T, path string) {
	t.Helper()
	st, err := s.rng.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := json.Marshal(resumeCfg)
	c := &Checkpoint{Kind: "test-mlp", Config: cfg, Seed: resumeSeed, Step: s.opt.Steps(), RNG: st}
	c.AddParams(s.params)
	c.AddOptim(s.opt)
	if err := WriteFile(path, c); err != nil {
		t.Fatal(err)
	}
}

// resume builds fresh objects (different initial weights, fresh RNG) and
// restores them from path; restoreRNG=false is the negative control.
func resume(t *testing.T, path string, restoreRNG bool) *run {
	t.Helper()
	c, err := ReadFile(path, "test-mlp")
	if err != nil {
		t.Fatal(err)
	}
	var cfg optim.Config
	if err := json.Unmarshal(c.Config, &cfg); err != nil || cfg != resumeCfg {
		t.Fatalf("config %+v (%v), want %+v", cfg, err, resumeCfg)
	}
	s := newRun(t, 999)
	s.rng = tensor.NewRNG(0)
	if restoreRNG {
		if err := s.rng.UnmarshalBinary(c.RNG); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.LoadParams(s.params); err != nil {
		t.Fatal(err)
	}
	if err := c.LoadOptim(s.opt); err != nil {
		t.Fatal(err)
	}
	if c.Step != s.opt.Steps() {
		t.Fatalf("header step %d, optimiser step %d", c.Step, s.opt.Steps())
	}
	return s
}

// stateBits flattens parameters, moments and EMA into bit patterns.
func stateBits(s *run) map[string][]uint32 {
	out := map[string][]uint32{}
	add := func(name string, t *tensor.Tensor) {
		for _, v := range t.Data() {
			out[name] = append(out[name], math.Float32bits(v))
		}
	}
	for _, p := range s.params {
		add("param "+p.Name, p.Value)
	}
	for _, nt := range s.opt.State().Tensors {
		add(nt.Name, nt.Tensor)
	}
	return out
}

func diffBits(a, b map[string][]uint32) (string, bool) {
	for name, va := range a {
		vb := b[name]
		if len(va) != len(vb) {
			return name, true
		}
		for i := range va {
			if va[i] != vb[i] {
				return name, true
			}
		}
	}
	return "", false
}

// TestResumeBitIdentical: N steps straight equal N/2 steps, checkpoint,
// reload into fresh objects, N/2 more steps, bit for bit (parameters, Adam
// moments, EMA), including the RNG-driven batches and noise.
func TestResumeBitIdentical(t *testing.T) {
	const n = 40
	straight := newRun(t, 1)
	straight.train(t, n)
	if l0, l1 := straight.losses[0], straight.losses[n-1]; !(l1 < l0/2) {
		t.Fatalf("the model does not learn (loss %v -> %v); the test would prove nothing", l0, l1)
	}

	half := newRun(t, 1)
	half.train(t, n/2)
	path := filepath.Join(t.TempDir(), "mlp.ckpt")
	half.save(t, path)

	resumed := resume(t, path, true)
	resumed.train(t, n/2)
	if name, diff := diffBits(stateBits(straight), stateBits(resumed)); diff {
		t.Errorf("resumed run differs from the straight run in %s", name)
	}
	if resumed.opt.Steps() != n || resumed.opt.EMA().Updates() != n {
		t.Errorf("counters %d/%d, want %d", resumed.opt.Steps(), resumed.opt.EMA().Updates(), n)
	}
	for i, l := range resumed.losses {
		if l != straight.losses[n/2+i] {
			t.Errorf("loss at step %d: resumed %v, straight %v", n/2+i, l, straight.losses[n/2+i])
		}
	}

	// Negative control: without the RNG state the batches differ, and the
	// comparison above notices.
	control := resume(t, path, false)
	control.train(t, n/2)
	if _, diff := diffBits(stateBits(straight), stateBits(control)); !diff {
		t.Error("a resume without the RNG state matched too: the comparison is blind")
	}
}
