package predictor

import (
	"fmt"
	"math"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/tensor"
)

// Accelerator runs the predictor network, all of it but the dataset encoder,
// on a device during training (nag/gpu.PredictorTrainer, selected with
// `nag train-predictor --device cuda`). The host keeps the weights, the
// dataset encoder and the optimiser: every step it encodes the batch's
// datasets, hands the batch to Step, back-propagates the returned ∂loss/∂DS
// through the encoder, adds the returned gradients to the parameters' Grad
// fields, takes the optimiser step and calls Sync to upload the new weights.
// Clipping, Adam, the EMA and checkpoints are therefore exactly the CPU
// path's; only dropout draws from the device's own random stream.
type Accelerator interface {
	// Step computes the MSE loss of the network on b and its gradients. With
	// train set dropout is on (seeded by the accelerator's seed and step).
	// The result is valid until the next Step.
	Step(b AccelBatch, train bool, step int64) (*AccelResult, error)
	// Sync uploads the host weights of the device-side parameters.
	Sync() error
	// Close releases the device buffers.
	Close()
}

// AccelBatch is one training batch of B architectures for an Accelerator.
type AccelBatch struct {
	X     []float32 // [B, N, V] noisy node matrices in model space
	Sigma []float32 // [B] noise levels σ(t)
	DS    []float32 // [B, NZ] dataset vectors
	Y     []float32 // [B] normalised targets
}

// AccelResult is what an Accelerator step returns.
type AccelResult struct {
	Loss float64 // mean over the batch of (ŷ − y)²
	// DDS is ∂Loss/∂DS [B, NZ].
	DDS []float32
	// Grads holds ∂Loss/∂p for every parameter the device computes (every
	// parameter of the network outside the dataset encoder and the unknown
	// vector), in the parameter's row-major layout.
	Grads map[*autograd.Var][]float32
}

// AccelFactory builds an Accelerator for net with normalised adjacencies
// fwd, bwd, for batches of exactly batch architectures, with dropout seeded
// by seed.
type AccelFactory func(net *gnn.Predictor, fwd, bwd *tensor.Tensor, batch int, seed uint64) (Accelerator, error)

// accelTol is the agreement checkAccel demands between the device and the
// CPU on the first batch: every gradient tensor within accelTol of its
// largest entry, the loss within accelTol relative.
const accelTol = 2e-3

// checkAccel runs the first batch through the CPU network and through acc,
// both without dropout, and fails unless the loss, ∂loss/∂DS and every
// parameter gradient agree: a device whose arithmetic is off stops the run
// before it trains a wrong model.
func checkAccel(m *Model, acc Accelerator, x *tensor.Tensor, sigma []float32, ds *autograd.Var, y *tensor.Tensor) error {
	tp := autograd.NewTape()
	c := gnn.Ctx{Tape: tp}
	b := x.Dim(0)
	rows := autograd.NewVar(tensor.Add(tensor.Zeros(b, m.Cfg.Net.NZ), ds.Value), true)
	loss := tp.MSE(m.Forward(c, autograd.Const(x), sigma, rows), autograd.Const(y))
	res, err := acc.Step(AccelBatch{X: x.Data(), Sigma: sigma, DS: rows.Value.Data(), Y: y.Data()}, false, 0)
	if err != nil {
		return err
	}
	want := float64(loss.Value.Item())
	if d := math.Abs(res.Loss - want); !(d <= accelTol*math.Max(math.Abs(want), 1e-12)) {
		return fmt.Errorf("device loss %g, CPU %g on the first batch", res.Loss, want)
	}
	vars := []*autograd.Var{rows}
	for _, p := range m.Net.Params() {
		if _, ok := res.Grads[p]; ok {
			vars = append(vars, p)
		}
	}
	if len(vars) == 1 {
		return fmt.Errorf("the device returned no parameter gradients")
	}
	g, err := tp.Grad(loss, vars...)
	if err != nil {
		return err
	}
	for i, v := range vars {
		name, got := v.Name, res.DDS
		if i == 0 {
			name = "dataset vectors"
		} else {
			got = res.Grads[v]
		}
		if err := closeTo(name, got, g[i], accelTol); err != nil {
			return err
		}
	}
	return nil
}

// closeTo checks got against want (nil: all zero) to tol times want's
// largest magnitude.
func closeTo(name string, got []float32, want *tensor.Tensor, tol float64) error {
	var wd []float32
	if want != nil {
		wd = want.Contiguous().Data()
	}
	if want != nil && len(got) != len(wd) {
		return fmt.Errorf("%s: the device gradient has %d values, the CPU's %d", name, len(got), len(wd))
	}
	var scale, worst float64
	for _, w := range wd {
		scale = math.Max(scale, math.Abs(float64(w)))
	}
	for i, v := range got {
		w := 0.0
		if wd != nil {
			w = float64(wd[i])
		}
		d := math.Abs(float64(v) - w)
		if math.IsNaN(d) {
			return fmt.Errorf("%s: the device gradient has a NaN at %d (CPU %g)", name, i, w)
		}
		worst = math.Max(worst, d)
	}
	if worst > tol*scale+1e-12 {
		return fmt.Errorf("%s: device and CPU gradients differ by up to %g (largest CPU entry %g)", name, worst, scale)
	}
	return nil
}

// addGrads adds the accelerator's gradients into the parameters' Grad fields.
func addGrads(grads map[*autograd.Var][]float32) {
	for p, g := range grads {
		if p.Grad == nil {
			p.Grad = tensor.Zeros(p.Shape()...)
		}
		d := p.Grad.Data()
		for i, v := range g[:len(d)] {
			d[i] += v
		}
	}
}

// accelStep runs one training step's forward and backward through acc: the
// dataset vectors ds (on the host tape tp) are broadcast to [B, NZ], the
// device returns the loss, ∂loss/∂DS (propagated back through tp into the
// dataset encoder) and the other gradients (added to the Grad fields).
func accelStep(m *Model, acc Accelerator, tp *autograd.Tape, x *tensor.Tensor, sigma []float32, ds *autograd.Var, y *tensor.Tensor, step int64) (float64, error) {
	b := x.Dim(0)
	rows := tp.Add(autograd.Const(tensor.Zeros(b, m.Cfg.Net.NZ)), ds)
	res, err := acc.Step(AccelBatch{X: x.Data(), Sigma: sigma, DS: rows.Value.Contiguous().Data(), Y: y.Data()}, true, step)
	if err != nil {
		return 0, err
	}
	if len(res.DDS) != rows.Value.Len() {
		return 0, fmt.Errorf("device returned %d dataset-vector gradients, want %d", len(res.DDS), rows.Value.Len())
	}
	if err := tp.BackwardWith(rows, tensor.FromSlice(append([]float32(nil), res.DDS...), rows.Shape()...)); err != nil {
		return 0, err
	}
	addGrads(res.Grads)
	return res.Loss, nil
}

// orDevice names the accelerator's device for messages.
func orDevice(name string) string {
	if name == "" {
		return "device"
	}
	return name
}
