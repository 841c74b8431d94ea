package diffusion

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/autograd/optim"
	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/sde"
	"github.com/nagml/nag/tensor"
)

// dsmBatch must draw and prepare exactly what sde.DSMLoss does, so an
// accelerated run sees the same data stream as a CPU run.
func TestDSMBatchMatchesDSMLoss(t *testing.T) {
	s := sde.DefaultVE()
	rng := tensor.NewRNG(1)
	net, err := gnn.NewCATE(gnn.SmallCATEConfig(8, 7), rng)
	if err != nil {
		t.Fatal(err)
	}
	mask := nb201Space().Mask
	score := func(tp *autograd.Tape, xt *autograd.Var, cond []float32) *autograd.Var {
		return net.Forward(gnn.Ctx{Tape: tp}, xt, cond, mask)
	}
	x0 := tensor.RandN(rng, 5, 8, 7)
	want, err := sde.DSMLoss(nil, s, score, x0, tensor.NewRNG(42))
	if err != nil {
		t.Fatal(err)
	}
	xt, cond, std, z := dsmBatch(s, x0, tensor.NewRNG(42))
	got, err := sde.DSMObjective(nil, score(nil, autograd.Const(tensor.FromSlice(xt, 5, 8, 7)), cond), std, tensor.FromSlice(z, 5, 8, 7))
	if err != nil {
		t.Fatal(err)
	}
	if got.Value.Item() != want.Value.Item() {
		t.Fatalf("loss from dsmBatch %v, DSMLoss %v", got.Value.Item(), want.Value.Item())
	}
}

// fakeAccel records how Train drives an Accelerator.
type fakeAccel struct {
	steps, syncs, closes int
	lastStep             int64
	nonFinite            bool
}

func (f *fakeAccel) Step(xt, cond, std, z []float32, step int64) (float64, float64, error) {
	f.steps++
	f.lastStep = step
	if f.nonFinite {
		return 1, 0, optim.ErrNonFinite
	}
	return 0.5, 1, nil
}
func (f *fakeAccel) Sync() error { f.syncs++; return nil }
func (f *fakeAccel) Close()      { f.closes++ }

func TestTrainDrivesAccelerator(t *testing.T) {
	cfg := tinyConfig(t)
	out := filepath.Join(t.TempDir(), "a.ckpt")
	fa := &fakeAccel{}
	res, err := Train(context.Background(), cfg, nb201Space(), TrainOptions{Out: out, Seed: 1, CkptEvery: 3,
		Accel: func(net *gnn.CATE, o *optim.Optimizer, mask *tensor.Tensor, batch int) (Accelerator, error) {
			if batch != cfg.Batch || mask == nil || o == nil || net == nil {
				t.Errorf("accelerator built with batch %d, mask %v", batch, mask)
			}
			return fa, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	// 6 iterations, checkpoints at 3 and 6 (each synced first), closed once.
	if fa.steps != 6 || fa.lastStep != 5 || fa.syncs != 2 || fa.closes != 1 || res.Loss != 0.5 {
		t.Fatalf("steps %d (last %d), syncs %d, closes %d, loss %v", fa.steps, fa.lastStep, fa.syncs, fa.closes, res.Loss)
	}
	bad := &fakeAccel{nonFinite: true}
	_, err = Train(context.Background(), cfg, nb201Space(), TrainOptions{Out: filepath.Join(t.TempDir(), "b.ckpt"), Seed: 1,
		Accel: func(*gnn.CATE, *optim.Optimizer, *tensor.Tensor, int) (Accelerator, error) { return bad, nil }})
	if err == nil || !errors.Is(err, ErrDiverged) {
		t.Fatalf("non-finite gradient: err %v, want ErrDiverged", err)
	}
}
