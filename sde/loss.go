package sde

import (
	"fmt"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/tensor"
)

// TrainEps is the lower end of the training time range: t ~ U(TrainEps, 1)
// (score_sde's eps = 1e-5).
const TrainEps = 1e-5

// ScoreVarFn evaluates a score model on the tape: xt is the perturbed batch
// [B, ...] (a constant Var), cond holds the per-sample time-conditioning
// values (SDE.Cond), and the result is the score, the same shape as xt.
type ScoreVarFn func(tp *autograd.Tape, xt *autograd.Var, cond []float32) *autograd.Var

// DSMLoss is the continuous-time denoising score-matching loss of the
// reference (score_sde's get_sde_loss_fn with reduce_mean, no likelihood
// weighting): per sample t ~ U(TrainEps, 1), z ~ N(0, I),
// x_t = mean(t)·x_0 + std(t)·z, s = score(x_t, Cond(t)), and
//
//	L = mean_b mean_entries (std(t)·s + z)².
//
// For VE std(t) = σ(t) (the σ²-weighted loss); for VP it is the same
// s·std + z form. x0 is [B, ...] in model space. The draws come from rng:
// first the B times, then z in row-major order.
func DSMLoss(tp *autograd.Tape, s SDE, score ScoreVarFn, x0 *tensor.Tensor, rng *tensor.RNG) (*autograd.Var, error) {
	if x0.Rank() < 1 || x0.Dim(0) == 0 || x0.Len() == 0 {
		return nil, fmt.Errorf("sde: DSM loss needs a non-empty batch [B, ...], got shape %v", x0.Shape())
	}
	t, z := DrawDSM(x0, rng)
	return DSMLossAt(tp, s, score, x0, t, z)
}

// DrawDSM draws the randomness of one DSMLoss batch from rng, in DSMLoss's
// order: the B times t ~ U(TrainEps, 1), then z ~ N(0, I) of x0's shape.
func DrawDSM(x0 *tensor.Tensor, rng *tensor.RNG) (t []float64, z *tensor.Tensor) {
	t = make([]float64, x0.Dim(0))
	for i := range t {
		t[i] = TrainEps + (1-TrainEps)*rng.Float64()
	}
	z = tensor.Zeros(x0.Shape()...)
	rng.FillNormal(z.Data(), 0, 1)
	return t, z
}

// Perturb returns the perturbed batch x_t = mean(t_b)·x0 + std(t_b)·z of
// DSMLoss with the per-sample std(t_b) and time conditioning Cond(t_b)
// (x0 and z [B, ...], t one time per sample; shapes are the caller's to
// check). Accelerated training loops use it to prepare exactly what
// DSMLossAt feeds the network.
func Perturb(s SDE, x0 *tensor.Tensor, t []float64, z *tensor.Tensor) (xt *tensor.Tensor, std, cond []float32) {
	b := x0.Dim(0)
	per := x0.Len() / b
	xd := x0.Contiguous().Data()
	zd := z.Contiguous().Data()
	xt = tensor.Zeros(x0.Shape()...)
	xtd := xt.Data()
	std = make([]float32, b)
	cond = make([]float32, b)
	for i, ti := range t {
		mean, sd := s.Marginal(ti)
		std[i], cond[i] = float32(sd), s.Cond(ti)
		m, sf := float32(mean), float32(sd)
		for j := i * per; j < (i+1)*per; j++ {
			xtd[j] = m*xd[j] + sf*zd[j]
		}
	}
	return xt, std, cond
}

// DSMLossAt is DSMLoss with the times t (one per sample) and the noise z
// (shape of x0) given explicitly.
func DSMLossAt(tp *autograd.Tape, s SDE, score ScoreVarFn, x0 *tensor.Tensor, t []float64, z *tensor.Tensor) (*autograd.Var, error) {
	if x0.Rank() < 1 || x0.Dim(0) == 0 || x0.Len() == 0 {
		return nil, fmt.Errorf("sde: DSM loss needs a non-empty batch [B, ...], got shape %v", x0.Shape())
	}
	b := x0.Dim(0)
	if len(t) != b {
		return nil, fmt.Errorf("sde: DSM loss got %d times for a batch of %d", len(t), b)
	}
	if !tensor.SameShape(z, x0) {
		return nil, fmt.Errorf("sde: DSM noise shape %v, data shape %v", z.Shape(), x0.Shape())
	}
	xt, std, cond := Perturb(s, x0, t, z)
	out := score(tp, autograd.Const(xt), cond)
	if out == nil {
		return nil, fmt.Errorf("sde: score function returned nil")
	}
	return DSMObjective(tp, out, std, z)
}

// DSMObjective is the differentiable core of the DSM loss,
// mean_b mean_entries (std_b·s + z)², as one recorded op: s is the score
// [B, ...], std holds one weight per sample, z the noise (shape of s).
// Its gradient is ∂L/∂s = 2·std_b·(std_b·s + z)/(B·entries).
func DSMObjective(tp *autograd.Tape, s *autograd.Var, std []float32, z *tensor.Tensor) (*autograd.Var, error) {
	if s.Value.Rank() < 1 || s.Value.Len() == 0 {
		return nil, fmt.Errorf("sde: DSM objective needs a non-empty score [B, ...], got shape %v", s.Shape())
	}
	if !tensor.SameShape(s.Value, z) {
		return nil, fmt.Errorf("sde: score shape %v, noise shape %v", s.Shape(), z.Shape())
	}
	b := s.Value.Dim(0)
	if len(std) != b {
		return nil, fmt.Errorf("sde: DSM objective got %d weights for a batch of %d", len(std), b)
	}
	per := s.Value.Len() / b
	sd := s.Value.Contiguous().Data()
	zd := z.Contiguous().Data()
	res := make([]float32, len(sd)) // std·s + z, kept for backward
	var sum float64
	for i := 0; i < b; i++ {
		w := std[i]
		for j := i * per; j < (i+1)*per; j++ {
			r := w*sd[j] + zd[j]
			res[j] = r
			sum += float64(r) * float64(r)
		}
	}
	n := float64(len(sd))
	shape := s.Value.Shape()
	backward := func(gout *tensor.Tensor, needs []bool) []*tensor.Tensor {
		if !needs[0] {
			return []*tensor.Tensor{nil}
		}
		g := tensor.Zeros(shape...)
		gd := g.Data()
		c := float32(2 * float64(gout.Item()) / n)
		for i := 0; i < b; i++ {
			w := c * std[i]
			for j := i * per; j < (i+1)*per; j++ {
				gd[j] = w * res[j]
			}
		}
		return []*tensor.Tensor{g}
	}
	return tp.Record(tensor.Scalar(float32(sum/n)), backward, s), nil
}
