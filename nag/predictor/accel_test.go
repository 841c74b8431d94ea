package predictor

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/tensor"
)

// cpuAccel is an Accelerator that keeps its own copy of the network, as a
// device does, and computes on it with the CPU autograd: the reference the
// training loop's device plumbing is tested against. scale multiplies the
// gradient of one parameter (a device with a wrong kernel).
type cpuAccel struct {
	host, dev  *gnn.Predictor
	fwd, bwd   *tensor.Tensor
	seed       uint64
	steps      int
	syncs      int
	wrong      int // index into dev.Params() of the parameter to corrupt, -1 for none
	scale      float32
	lastTrain  bool
	onDevice   map[*autograd.Var]bool // dev params the device computes
	devToHost  map[*autograd.Var]*autograd.Var
	closed     bool
	firstCheck bool
}

func newCPUAccel(net *gnn.Predictor, fwd, bwd *tensor.Tensor, seed uint64) (*cpuAccel, error) {
	dev, err := gnn.NewPredictor(net.Config(), tensor.NewRNG(99))
	if err != nil {
		return nil, err
	}
	a := &cpuAccel{host: net, dev: dev, fwd: fwd, bwd: bwd, seed: seed, wrong: -1,
		onDevice: map[*autograd.Var]bool{}, devToHost: map[*autograd.Var]*autograd.Var{}}
	skip := map[*autograd.Var]bool{dev.Unknown: true}
	for _, p := range dev.Set.Params() {
		skip[p] = true
	}
	for i, p := range dev.Params() {
		a.devToHost[p] = net.Params()[i]
		a.onDevice[p] = !skip[p]
	}
	return a, a.Sync()
}

func (a *cpuAccel) Sync() error {
	a.syncs++
	for i, p := range a.dev.Params() {
		copy(p.Value.Data(), a.host.Params()[i].Value.Contiguous().Data())
	}
	return nil
}

func (a *cpuAccel) Close() { a.closed = true }

func (a *cpuAccel) Step(b AccelBatch, train bool, step int64) (*AccelResult, error) {
	a.steps++
	a.lastTrain = train
	if !train && step == 0 {
		a.firstCheck = true
	}
	cfg := a.dev.Config()
	n := len(b.Sigma)
	tp := autograd.NewTape()
	c := gnn.Ctx{Tape: tp, Train: train, RNG: tensor.NewRNG(a.seed + uint64(step))}
	ds := autograd.NewVar(tensor.FromSlice(append([]float32(nil), b.DS...), n, cfg.NZ), true)
	x := autograd.Const(tensor.FromSlice(append([]float32(nil), b.X...), n, cfg.Nodes, cfg.Vocab))
	loss := tp.MSE(a.dev.Forward(c, x, b.Sigma, a.fwd, a.bwd, ds), autograd.Const(tensor.FromSlice(b.Y, n)))
	vars := []*autograd.Var{ds}
	for _, p := range a.dev.Params() {
		if a.onDevice[p] {
			vars = append(vars, p)
		}
	}
	g, err := tp.Grad(loss, vars...)
	if err != nil {
		return nil, err
	}
	res := &AccelResult{Loss: float64(loss.Value.Item()), DDS: g[0].Contiguous().Data(), Grads: map[*autograd.Var][]float32{}}
	for i, p := range vars[1:] {
		d := g[i+1].Contiguous().Clone().Data()
		if a.wrong >= 0 && p == a.dev.Params()[a.wrong] {
			for j := range d {
				d[j] *= a.scale
			}
		}
		res.Grads[a.devToHost[p]] = d
	}
	return res, nil
}

// TestTrainWithAcceleratorMatchesCPU: without dropout, training through an
// accelerator that computes exactly what the CPU computes gives the CPU's
// weights (the host's optimiser, dataset encoder and gradient merge are
// the same path), and the loop checks the first batch, syncs after every
// step and closes the accelerator.
func TestTrainWithAcceleratorMatchesCPU(t *testing.T) {
	d := tinyData(t)
	cfg := tinyConfig()
	cfg.Net.Dropout = 0
	tc := TrainConfig{Iters: 6, Batch: 16, LR: 3e-3, Warmup: 2, GradClip: 1, EMADecay: 0.9, Seed: 4}
	want, _, err := Train(context.Background(), d, cfg, tc, nil)
	if err != nil {
		t.Fatal(err)
	}
	var acc *cpuAccel
	tc.Accel = func(net *gnn.Predictor, fwd, bwd *tensor.Tensor, batch int, seed uint64) (Accelerator, error) {
		if batch != 16 || seed != 4 {
			t.Errorf("accelerator built for batch %d seed %d, want 16 and 4", batch, seed)
		}
		acc, err = newCPUAccel(net, fwd, bwd, seed)
		return acc, err
	}
	tc.Device = "test"
	got, rep, err := Train(context.Background(), d, cfg, tc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !acc.firstCheck || acc.steps != 7 || acc.syncs != 7 || !acc.closed || !acc.lastTrain {
		t.Fatalf("accelerator use: check %v, steps %d (want 7 = check + 6), syncs %d (want 7), closed %v, last step train %v",
			acc.firstCheck, acc.steps, acc.syncs, acc.closed, acc.lastTrain)
	}
	if rep.Steps != 6 || got.Cfg.Train.Device != "test" {
		t.Fatalf("report %+v, recorded device %q", rep, got.Cfg.Train.Device)
	}
	for i, p := range want.Net.Params() {
		q := got.Net.Params()[i]
		for j, v := range p.Value.Data() {
			if w := q.Value.Data()[j]; math.Abs(float64(v-w)) > 1e-5 {
				t.Fatalf("%s[%d]: CPU %g, accelerated %g", p.Name, j, v, w)
			}
		}
	}
}

// TestTrainRefusesDisagreeingAccelerator: a device whose gradient of one
// weight is 1 % off, or NaN, stops the run at the first-batch check with an
// error naming the parameter.
func TestTrainRefusesDisagreeingAccelerator(t *testing.T) {
	d := tinyData(t)
	cfg := tinyConfig()
	for _, scale := range []float32{1.01, float32(math.NaN())} {
		var acc *cpuAccel
		tc := TrainConfig{Iters: 3, Batch: 16, LR: 1e-3, Warmup: 1, GradClip: 1, Seed: 5, Device: "cuda",
			Accel: func(net *gnn.Predictor, fwd, bwd *tensor.Tensor, batch int, seed uint64) (Accelerator, error) {
				a, err := newCPUAccel(net, fwd, bwd, seed)
				if err == nil {
					a.wrong, a.scale = 1, scale // gcn.0's second weight
				}
				acc = a
				return a, err
			}}
		_, _, err := Train(context.Background(), d, cfg, tc, nil)
		name := acc.dev.Params()[1].Name
		if err == nil || !strings.Contains(err.Error(), "device step (cuda) disagrees with the CPU") || !strings.Contains(err.Error(), name) {
			t.Fatalf("scale %v: error %v, want a disagreement naming %s", scale, err, name)
		}
		if acc.steps != 1 || !acc.closed {
			t.Fatalf("scale %v: %d device steps after a failed check (want 1), closed %v", scale, acc.steps, acc.closed)
		}
	}
}
