package bo

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/autograd/optim"
	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/tensor"
)

// Surrogate is a model of the search value fitted on the evaluated set.
// Predictions come as the ensemble mean and spread, in the units of the
// values it was fitted on.
type Surrogate[A Arch] interface {
	// Fit (re)trains the surrogate on archs and their values.
	Fit(ctx context.Context, archs []A, ys []float64, rng *tensor.RNG) error
	// Predict returns the mean and spread (ensemble standard deviation) of
	// the prediction for each architecture.
	Predict(archs []A) (mean, std []float64)
}

// standardise returns (y − mean)/std and the transform (std 1 when all
// values are equal).
func standardise(ys []float64) (z []float64, mu, sd float64) {
	for _, y := range ys {
		mu += y
	}
	mu /= float64(len(ys))
	for _, y := range ys {
		sd += (y - mu) * (y - mu)
	}
	sd = math.Sqrt(sd / float64(len(ys)))
	if sd == 0 || math.IsNaN(sd) {
		sd = 1
	}
	z = make([]float64, len(ys))
	for i, y := range ys {
		z[i] = (y - mu) / sd
	}
	return z, mu, sd
}

// meanStd returns the mean and population standard deviation over members
// (preds[m][i]) for each item i.
func meanStd(preds [][]float64) (mean, std []float64) {
	n := len(preds[0])
	mean, std = make([]float64, n), make([]float64, n)
	m := float64(len(preds))
	for i := 0; i < n; i++ {
		var s float64
		for _, p := range preds {
			s += p[i]
		}
		mu := s / m
		var v float64
		for _, p := range preds {
			v += (p[i] - mu) * (p[i] - mu)
		}
		mean[i], std[i] = mu, math.Sqrt(v/m)
	}
	return mean, std
}

// MLPConfig configures the BANANAS-style surrogate: an ensemble of MLPs on
// the path encoding, each trained from scratch on every fit with full-batch
// Adam on the standardised values.
type MLPConfig struct {
	Members int     `json:"members"`
	Hidden  []int   `json:"hidden"`
	Epochs  int     `json:"epochs"`
	LR      float64 `json:"lr"`
}

// DefaultMLPConfig is 5 members of 84→32→32→1 (ReLU), 200 epochs at lr 0.01.
func DefaultMLPConfig() MLPConfig {
	return MLPConfig{Members: 5, Hidden: []int{32, 32}, Epochs: 200, LR: 0.01}
}

// MLPEnsemble is the BANANAS surrogate.
type MLPEnsemble[A Arch] struct {
	space   Space[A]
	cfg     MLPConfig
	members []*gnn.MLP
	mu, sd  float64
}

// NewMLPEnsemble returns an untrained ensemble.
func NewMLPEnsemble[A Arch](sp Space[A], cfg MLPConfig) (*MLPEnsemble[A], error) {
	if cfg.Members < 1 || cfg.Epochs < 1 || !(cfg.LR > 0) {
		return nil, fmt.Errorf("mlp surrogate: members %d, epochs %d and lr %g must be positive", cfg.Members, cfg.Epochs, cfg.LR)
	}
	for _, h := range cfg.Hidden {
		if h < 1 {
			return nil, fmt.Errorf("mlp surrogate: hidden width %d must be positive", h)
		}
	}
	return &MLPEnsemble[A]{space: sp, cfg: cfg}, nil
}

func (e *MLPEnsemble[A]) featureBatch(archs []A) *tensor.Tensor {
	dim := e.space.FeatureDim()
	t := tensor.Zeros(len(archs), dim)
	d := t.Data()
	for i, a := range archs {
		copy(d[i*dim:], e.space.Features(a))
	}
	return t
}

// Fit implements Surrogate.
func (e *MLPEnsemble[A]) Fit(ctx context.Context, archs []A, ys []float64, rng *tensor.RNG) error {
	if len(archs) == 0 || len(archs) != len(ys) {
		return fmt.Errorf("mlp surrogate: %d architectures, %d values", len(archs), len(ys))
	}
	z, mu, sd := standardise(ys)
	e.mu, e.sd = mu, sd
	x := autograd.Const(e.featureBatch(archs))
	yt := tensor.Zeros(len(z))
	for i, v := range z {
		yt.Data()[i] = float32(v)
	}
	y := autograd.Const(yt)
	widths := append(append([]int{e.space.FeatureDim()}, e.cfg.Hidden...), 1)
	e.members = e.members[:0]
	for m := 0; m < e.cfg.Members; m++ {
		net := gnn.NewMLP(fmt.Sprintf("mlp%d", m), widths, gnn.ActReLU, 0, rng)
		oc := optim.Config{LR: e.cfg.LR, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
		opt, err := optim.New(net.Params(), oc)
		if err != nil {
			return fmt.Errorf("mlp surrogate: %w", err)
		}
		for ep := 0; ep < e.cfg.Epochs; ep++ {
			if ep%50 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			tp := autograd.NewTape()
			out := tp.Reshape(net.Forward(gnn.Ctx{Tape: tp}, x), len(z))
			loss := tp.MSE(out, y)
			opt.ZeroGrad()
			if err := tp.Backward(loss); err != nil {
				return fmt.Errorf("mlp surrogate: backward: %w", err)
			}
			if _, err := opt.Step(); err != nil {
				return fmt.Errorf("mlp surrogate: member %d epoch %d: %w", m, ep, err)
			}
		}
		e.members = append(e.members, net)
	}
	return nil
}

// Predict implements Surrogate.
func (e *MLPEnsemble[A]) Predict(archs []A) (mean, std []float64) {
	x := autograd.Const(e.featureBatch(archs))
	preds := make([][]float64, len(e.members))
	for m, net := range e.members {
		out := net.Forward(gnn.Ctx{}, x).Value.Contiguous().Data()
		p := make([]float64, len(archs))
		for i := range p {
			p[i] = float64(out[i])*e.sd + e.mu
		}
		preds[m] = p
	}
	mean, std = meanStd(preds)
	return mean, std
}

// isSetParam reports whether a predictor parameter belongs to the dataset
// set encoder, which a surrogate without dataset features never uses.
func isSetParam(name string) bool { return strings.HasPrefix(name, "set.") }
