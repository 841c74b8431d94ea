//go:build cuda

package gpu

import (
	"math"
	"testing"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/tensor"
)

// TestPredictorTrainStepMatchesCPU: one training forward/backward of the paper
// predictor (dropout off) on the device against the CPU autograd for the same
// weights, batch, per-graph dataset vectors and targets: the loss, ∂loss/∂ds
// and every parameter gradient the device computes.
func TestPredictorTrainStepMatchesCPU(t *testing.T) {
	const b = 64
	tb := newTrainerBatch(t, 6, b)
	defer tb.tr.Close()
	p, tr, fwd, bwd, x, sig, ds, y := tb.p, tb.tr, tb.fwd, tb.bwd, tb.x, tb.sig, tb.ds, tb.y
	for _, train := range []bool{false, true} {
		loss, dds, grads, err := tr.Step(x.Data(), sig, ds.Data(), y.Data(), train, 1)
		if err != nil {
			t.Fatal(err)
		}
		if train {
			// Dropout on: a different, finite loss (the masks are Philox's).
			if math.IsNaN(loss) || loss <= 0 {
				t.Fatalf("training-mode loss %g", loss)
			}
			continue
		}
		tp := autograd.NewTape()
		dv := autograd.NewVar(ds.Clone(), true)
		lv := tp.MSE(p.Forward(gnn.Ctx{Tape: tp}, autograd.Const(x), sig, fwd, bwd, dv), autograd.Const(y))
		want := float64(lv.Value.Item())
		if math.Abs(loss-want) > 1e-4*math.Abs(want) {
			t.Fatalf("loss %g, CPU %g", loss, want)
		}
		vars := []*autograd.Var{dv}
		for _, q := range p.Params() {
			if _, ok := grads[q]; ok {
				vars = append(vars, q)
			}
		}
		if len(vars) != len(p.Params())-len(p.Set.Params()) {
			t.Fatalf("device computed %d gradients, want every parameter but the set encoder's and the unknown vector (%d)",
				len(vars)-1, len(p.Params())-len(p.Set.Params())-1)
		}
		g, err := tp.Grad(lv, vars...)
		if err != nil {
			t.Fatal(err)
		}
		nearScaled(t, "dloss/dds", dds, g[0].Contiguous().Data(), 2e-3)
		for i, q := range vars[1:] {
			nearScaled(t, q.Name, grads[q], g[i+1].Contiguous().Data(), 2e-3)
		}
	}
	// Sync uploads changed host weights: after scaling the head's output
	// weight the eval-mode loss changes.
	l0, _, _, _ := tr.Step(x.Data(), sig, ds.Data(), y.Data(), false, 2)
	for i := range p.Head2.Weight.Value.Data() {
		p.Head2.Weight.Value.Data()[i] *= 2
	}
	if err := tr.Sync(); err != nil {
		t.Fatal(err)
	}
	l1, _, _, _ := tr.Step(x.Data(), sig, ds.Data(), y.Data(), false, 2)
	if l0 == l1 {
		t.Errorf("Sync did not change the device weights (loss %g before and after)", l0)
	}
}

// nearScaled is near with the tolerance tol times want's largest magnitude.
func nearScaled(t testing.TB, what string, got, want []float32, tol float64) {
	t.Helper()
	scale := 0.0
	for _, v := range want {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	near(t, what, got, want, tol*scale+1e-12, 0)
}

// BenchmarkPredictorTrainStep: one device training step of the paper
// predictor at batch 256 (uploads, forward, backward, gradient download) and
// the weight upload that follows the host's optimiser step.
func BenchmarkPredictorTrainStep(b *testing.B) {
	tb := newTrainerBatch(b, 7, 256)
	defer tb.tr.Close()
	tr, x, sig, ds, y := tb.tr, tb.x, tb.sig, tb.ds, tb.y
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, _, err := tr.Step(x.Data(), sig, ds.Data(), y.Data(), true, int64(i)); err != nil {
			b.Fatal(err)
		}
		if err := tr.Sync(); err != nil {
			b.Fatal(err)
		}
	}
}

// trainerBatch is the paper predictor on the device with a random batch.
type trainerBatch struct {
	p        *gnn.Predictor
	tr       *PredictorTrainer
	fwd, bwd *tensor.Tensor
	x, ds, y *tensor.Tensor
	sig      []float32
}

func newTrainerBatch(t testing.TB, seed uint64, b int) trainerBatch {
	rng := tensor.NewRNG(seed)
	p, _, fwd, bwd := paperPredictor(t, rng)
	tr, err := NewPredictorTrainer(dev, p, fwd, bwd, b, 1)
	if err != nil {
		t.Fatal(err)
	}
	tb := trainerBatch{p: p, tr: tr, fwd: fwd, bwd: bwd, x: randX(rng, b, 8, 7), sig: sigmas(rng, b),
		ds: tensor.RandN(rng, b, p.Config().NZ), y: tensor.Zeros(b)}
	rng.FillNormal(tb.y.Data(), 0, 0.02)
	return tb
}
