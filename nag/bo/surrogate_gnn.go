package bo

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/autograd/optim"
	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/nag/predictor"
	"github.com/nagml/nag/sde"
	"github.com/nagml/nag/tensor"
)

// GNNConfig configures the noise-aware graph surrogate: an ensemble of
// gnn.Predictor models (no dataset features: every member uses its learned
// unknown-dataset vector), each with its own initialisation and noise draws.
//
// Every fit trains on the evaluated set twice per step: once clean (at the
// smallest noise level σ_min) and once noised as in reference §5.3
// (t ~ U(1e-5, 1), x_t = x_s + σ(t)·z), so the members give useful
// gradients along the whole sampling trajectory. The first fit runs
// FirstSteps Adam steps from the initialisation (or the warm start); later
// fits continue from the previous weights for Steps steps.
type GNNConfig struct {
	Members    int     `json:"members"`
	Hidden     int     `json:"gcn_hidden"`
	Layers     int     `json:"gcn_layers"`
	Linear     int     `json:"linear_hidden"`
	FirstSteps int     `json:"first_steps"`
	Steps      int     `json:"steps"`
	LR         float64 `json:"lr"`
	Dropout    float32 `json:"dropout"`
}

// DefaultGNNConfig is 3 members with 64-wide, 4-layer DiGCNs (a CPU-sized
// version of the reference predictor's 144-wide ones), 250 steps on the first
// fit and 60 warm-started steps on later fits, lr 1e-3, no dropout.
func DefaultGNNConfig() GNNConfig {
	return GNNConfig{Members: 3, Hidden: 64, Layers: 4, Linear: 64, FirstSteps: 250, Steps: 60, LR: 1e-3}
}

// GNNEnsemble is the noise-aware graph surrogate.
type GNNEnsemble[A Arch] struct {
	space    Space[A]
	cfg      GNNConfig
	members  []*gnn.Predictor
	opts     []*optim.Optimizer
	fwd, bwd *tensor.Tensor
	ve       *sde.VE
	mu, sd   float64
}

// NewGNNEnsemble builds the ensemble for space sp with weights drawn from
// rng. mask is the predictor's N x N adjacency (nil: sp.Mask()); ve gives the
// noise range (nil: sde.DefaultVE).
func NewGNNEnsemble[A Arch](sp Space[A], cfg GNNConfig, mask *tensor.Tensor, ve *sde.VE, rng *tensor.RNG) (*GNNEnsemble[A], error) {
	if mask == nil {
		mask = sp.Mask()
	}
	n := mask.Dim(0)
	x := sp.OneHot([]A{sp.Random(tensor.NewRNG(0))})
	pc := gnn.PredictorConfig{Nodes: n, Vocab: x.Dim(2), GCNHidden: cfg.Hidden, GCNLayers: cfg.Layers,
		LinearHidden: cfg.Linear, HS: 32, NZ: 8, FeatDim: 4, SetHeads: 4, Dropout: cfg.Dropout, TimeEmbed: true}
	e, err := newGNNEnsemble(sp, cfg, pc, ve, rng)
	if err != nil {
		return nil, err
	}
	e.fwd, e.bwd = gnn.NormalizedAdjacency(mask)
	return e, nil
}

func newGNNEnsemble[A Arch](sp Space[A], cfg GNNConfig, pc gnn.PredictorConfig, ve *sde.VE, rng *tensor.RNG) (*GNNEnsemble[A], error) {
	if cfg.Members < 1 || cfg.FirstSteps < 0 || cfg.Steps < 0 || !(cfg.LR > 0) {
		return nil, fmt.Errorf("gnn surrogate: members %d must be positive, steps %d/%d non-negative, lr %g positive", cfg.Members, cfg.FirstSteps, cfg.Steps, cfg.LR)
	}
	if ve == nil {
		ve = sde.DefaultVE()
	}
	if err := pc.Validate(); err != nil {
		return nil, fmt.Errorf("gnn surrogate: %w", err)
	}
	e := &GNNEnsemble[A]{space: sp, cfg: cfg, ve: ve}
	for m := 0; m < cfg.Members; m++ {
		p, err := gnn.NewPredictor(pc, rng.Split())
		if err != nil {
			return nil, fmt.Errorf("gnn surrogate: %w", err)
		}
		var params []*autograd.Var
		for _, v := range p.Params() {
			if !isSetParam(v.Name) {
				params = append(params, v)
			}
		}
		opt, err := optim.New(params, optim.Config{LR: cfg.LR, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, GradClip: 1})
		if err != nil {
			return nil, fmt.Errorf("gnn surrogate: %w", err)
		}
		e.members = append(e.members, p)
		e.opts = append(e.opts, opt)
	}
	return e, nil
}

// Members returns the ensemble's predictors.
func (e *GNNEnsemble[A]) Members() []*gnn.Predictor { return e.members }

// Fit implements Surrogate.
func (e *GNNEnsemble[A]) Fit(ctx context.Context, archs []A, ys []float64, rng *tensor.RNG) error {
	if len(archs) == 0 || len(archs) != len(ys) {
		return fmt.Errorf("gnn surrogate: %d architectures, %d values", len(archs), len(ys))
	}
	z, mu, sd := standardise(ys)
	e.mu, e.sd = mu, sd
	n := len(archs)
	xs := sde.ScaleData(e.space.OneHot(archs)) // [n, N, V] in {-1, 1}
	nodes, vocab := xs.Dim(1), xs.Dim(2)
	per := nodes * vocab
	target := tensor.Zeros(2 * n)
	for i, v := range z {
		target.Data()[i] = float32(v)
		target.Data()[n+i] = float32(v)
	}
	y := autograd.Const(target)
	smin := float32(e.ve.SigmaMin())
	for m, p := range e.members {
		steps := e.cfg.Steps
		if e.opts[m].Steps() == 0 {
			steps = e.cfg.FirstSteps
		}
		c := gnn.Ctx{Train: e.cfg.Dropout > 0, RNG: rng}
		for s := 0; s < steps; s++ {
			if s%25 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			x := tensor.Zeros(2*n, nodes, vocab)
			xd, cd := x.Data(), xs.Data()
			copy(xd, cd)
			sig := make([]float32, 2*n)
			noise := make([]float32, per)
			for i := 0; i < n; i++ {
				sig[i] = smin
				t := sde.TrainEps + (1-sde.TrainEps)*rng.Float64()
				sg := float32(e.ve.Sigma(t))
				sig[n+i] = sg
				rng.FillNormal(noise, 0, 1)
				row := xd[(n+i)*per : (n+i+1)*per]
				for k := range row {
					row[k] = cd[i*per+k] + sg*noise[k]
				}
			}
			tp := autograd.NewTape()
			c.Tape = tp
			out := p.Forward(c, autograd.Const(x), sig, e.fwd, e.bwd, p.Unknown)
			loss := tp.MSE(out, y)
			e.opts[m].ZeroGrad()
			if err := tp.Backward(loss); err != nil {
				return fmt.Errorf("gnn surrogate: backward: %w", err)
			}
			if _, err := e.opts[m].Step(); err != nil {
				return fmt.Errorf("gnn surrogate: member %d: %w", m, err)
			}
		}
	}
	return nil
}

// Predict implements Surrogate: clean architectures at σ_min.
func (e *GNNEnsemble[A]) Predict(archs []A) (mean, std []float64) {
	x := sde.ScaleData(e.space.OneHot(archs))
	sig := make([]float32, len(archs))
	for i := range sig {
		sig[i] = float32(e.ve.SigmaMin())
	}
	preds := make([][]float64, len(e.members))
	for m, p := range e.members {
		out := p.Forward(gnn.Ctx{}, autograd.Const(x), sig, e.fwd, e.bwd, p.Unknown).Value.Contiguous().Data()
		pr := make([]float64, len(archs))
		for i := range pr {
			pr[i] = float64(out[i])*e.sd + e.mu
		}
		preds[m] = pr
	}
	return meanStd(preds)
}

// AcqGrad returns, for a batch x [B, 8, 7] in model space at noise levels
// sigma [B], the gradient of an acquisition with respect to x through the
// ensemble. partials(i, μ, σ) gives ∂acq/∂μ and ∂acq/∂σ for sample i, with μ
// and σ in the surrogate's standardised units (the incumbent must be given
// in the same units, see Standardised). It uses
//
//	∂μ/∂x = (1/M)·Σ_m ∂y_m/∂x,   ∂σ/∂x = (1/(M·σ))·Σ_m (y_m − μ)·∂y_m/∂x.
func (e *GNNEnsemble[A]) AcqGrad(x *tensor.Tensor, sigma []float32, partials func(i int, mu, sd float64) (float64, float64)) (*tensor.Tensor, error) {
	b := x.Dim(0)
	per := x.Len() / b
	M := len(e.members)
	ys := make([][]float32, M)
	gs := make([][]float32, M)
	for m, p := range e.members {
		tp := autograd.NewTape()
		xv := autograd.NewVar(x, true)
		out := p.Forward(gnn.Ctx{Tape: tp}, xv, sigma, e.fwd, e.bwd, p.Unknown)
		g, err := tp.Grad(tp.SumAll(out), xv)
		if err != nil {
			return nil, fmt.Errorf("gnn surrogate: gradient: %w", err)
		}
		ys[m] = out.Value.Contiguous().Data()
		gs[m] = g[0].Contiguous().Data()
	}
	res := tensor.Zeros(x.Shape()...)
	rd := res.Data()
	for i := 0; i < b; i++ {
		var mu float64
		for m := 0; m < M; m++ {
			mu += float64(ys[m][i])
		}
		mu /= float64(M)
		var v float64
		for m := 0; m < M; m++ {
			d := float64(ys[m][i]) - mu
			v += d * d
		}
		sd := math.Sqrt(v / float64(M))
		dMu, dSd := partials(i, mu, sd)
		for m := 0; m < M; m++ {
			w := dMu / float64(M)
			if sd > 1e-12 {
				w += dSd * (float64(ys[m][i]) - mu) / (float64(M) * sd)
			}
			if w == 0 {
				continue
			}
			gm := gs[m][i*per : (i+1)*per]
			row := rd[i*per : (i+1)*per]
			for k := range row {
				row[k] += float32(w) * gm[k]
			}
		}
	}
	return res, nil
}

// Standardised maps a value to the surrogate's standardised units.
func (e *GNNEnsemble[A]) Standardised(y float64) float64 { return (y - e.mu) / e.sd }

// NewGNNEnsembleWarm builds an ensemble whose members start from the
// meta-trained noise-aware predictor warm: its configuration, graph and noise
// range, and all of its weights except the regression head (pred_fc.*), which
// every member draws afresh from rng so the ensemble keeps a spread. cfg gives
// the ensemble size, training schedule and dropout; its width fields are
// ignored.
func NewGNNEnsembleWarm[A Arch](sp Space[A], cfg GNNConfig, warm *predictor.Model, rng *tensor.RNG) (*GNNEnsemble[A], error) {
	if warm == nil || warm.Net == nil {
		return nil, fmt.Errorf("gnn surrogate: no warm-start predictor")
	}
	pc := warm.Net.Config()
	pc.Dropout = cfg.Dropout
	cfg.Hidden, cfg.Layers, cfg.Linear = pc.GCNHidden, pc.GCNLayers, pc.LinearHidden
	e, err := newGNNEnsemble(sp, cfg, pc, warm.SDE, rng)
	if err != nil {
		return nil, err
	}
	e.fwd, e.bwd = warm.Fwd, warm.Bwd
	src := map[string]*autograd.Var{}
	for _, v := range warm.Net.Params() {
		src[v.Name] = v
	}
	for _, m := range e.members {
		for _, v := range m.Params() {
			if strings.HasPrefix(v.Name, "pred_fc.") {
				continue
			}
			w, ok := src[v.Name]
			if !ok || !tensor.EqualInts(w.Value.Shape(), v.Value.Shape()) {
				return nil, fmt.Errorf("gnn surrogate: warm-start predictor lacks %s %v", v.Name, v.Value.Shape())
			}
			v.Value.CopyFrom(w.Value)
		}
	}
	return e, nil
}
