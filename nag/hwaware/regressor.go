// Package hwaware adds hardware awareness to DiffusionNAG's guided
// sampling: differentiable predictors of a hardware cost (latency on a
// device, FLOPs, parameter count) as functions of the noisy node matrix x,
// and the multi-objective guidance term
//
//	scale_acc · ∂acc(x)/∂x − scale_cost · ∂relu(cost(x)/budget − 1)/∂x
//
// that steers generation towards accurate architectures within a budget
// (Objective). Latency predictors are noise-aware regressors trained like
// the accuracy predictor (reference §5.3): gnn.Predictor on x_t = x_s +
// σ(t)·z with the time input σ(t), its dataset vector used either as a
// learned constant or as a fixed encoding of the input resolution (OFA).
// FLOPs and parameter counts are exact linear functions of the one-hot
// matrix in both NB201 and OFA MobileNetV3 (LinearCost), so their
// differentiable proxy is that linear function extended to continuous x.
package hwaware

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/autograd/optim"
	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/nag/ckpt"
	"github.com/nagml/nag/nag/nb201"
	"github.com/nagml/nag/nag/ofa"
	"github.com/nagml/nag/nag/predictor"
	"github.com/nagml/nag/sde"
	"github.com/nagml/nag/tensor"
)

// CheckpointKind is the kind of cost-regressor checkpoints.
const CheckpointKind = "hw-regressor"

// Space names accepted by RegressorConfig.Space.
const (
	SpaceNB201 = "nb201"
	SpaceMBV3  = "mbv3"
)

// SpaceGraph returns the node-matrix size and the fixed graph of a space:
// NB201 uses the true cell topology with the raw adjacency (the default of
// the accuracy predictor), MobileNetV3 the 20-node chain.
func SpaceGraph(space string) (nodes, vocab int, adj *tensor.Tensor, err error) {
	switch space {
	case SpaceNB201:
		g := nb201.GraphConfig{Topology: nb201.TopologyTrue, Mask: nb201.MaskRaw}
		m := g.AttentionMask()
		return nb201.NumNodes, nb201.NumTypes, m.Tensor(), nil
	case SpaceMBV3:
		return ofa.NumLayers, ofa.NumTypes, ofa.AdjacencyTensor(), nil
	}
	return 0, 0, nil, fmt.Errorf("unknown search space %q (want nb201 or mbv3)", space)
}

// DefaultSDE returns the noise process of the space's score network
// (NB201: VE σ 0.1..5; MobileNetV3: VE σ 0.1..1, reference §3), which the
// regressor must share to guide that network.
func DefaultSDE(space string) sde.Config {
	c := sde.DefaultVEConfig()
	if space == SpaceMBV3 {
		c.SigmaMax = 1
	}
	return c
}

// RegressorConfig describes a cost regressor; it is the checkpoint's JSON
// config.
type RegressorConfig struct {
	// Space is "nb201" or "mbv3".
	Space string `json:"space"`
	// Target names what is predicted (a table column, e.g.
	// "hw_c10_edgegpu_latency" or "help_lat_ms_v100_b64"), Unit its unit.
	Target string `json:"target"`
	Unit   string `json:"unit"`
	// Net is the graph network (gnn.Predictor; its dataset vector is not
	// used for datasets, see CondResolution).
	Net gnn.PredictorConfig `json:"net"`
	// SDE is the training noise process (must match the score network's).
	SDE sde.Config `json:"sde"`
	// Log fits log(target) (for latencies: positive, multiplicative).
	Log bool `json:"log"`
	// Mean and Std normalise the (log) target: y = (v − Mean)/Std.
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
	// CondResolution feeds the input resolution r through the dataset
	// vector (ResolutionVector) instead of the learned constant; R is the
	// resolution Predict uses.
	CondResolution bool `json:"cond_resolution"`
	R              int  `json:"r,omitempty"`
	// Train records the training run.
	Train TrainConfig `json:"train"`
}

// SmallNetConfig is the default graph network of a cost regressor: the
// paper predictor's layout with a narrower GCN (64 wide, 3 layers), which
// is ample for additive costs and cheap on a CPU.
func SmallNetConfig(nodes, vocab int) gnn.PredictorConfig {
	return gnn.PredictorConfig{Nodes: nodes, Vocab: vocab, GCNHidden: 64, GCNLayers: 3, LinearHidden: 64,
		HS: 32, NZ: 8, FeatDim: 1, SetHeads: 1, Dropout: 0, TimeEmbed: true}
}

// TrainConfig configures noise-aware training.
type TrainConfig struct {
	Iters    int     `json:"iters"`
	Batch    int     `json:"batch"`
	LR       float64 `json:"lr"`
	Warmup   int64   `json:"warmup"`
	Seed     uint64  `json:"seed"`
	EvalFrac float64 `json:"eval_frac"` // held-out fraction (e.g. 0.2)
}

// DefaultTrainConfig returns 3000 iterations of batch 128, lr 1e-3 with a
// 200-step warm-up, 20 % held out.
func DefaultTrainConfig() TrainConfig {
	return TrainConfig{Iters: 3000, Batch: 128, LR: 1e-3, Warmup: 200, Seed: 1, EvalFrac: 0.2}
}

// Regressor is a trained cost predictor cost(x, σ) in the target's unit.
// It satisfies nag/guide's Regressor interface.
type Regressor struct {
	Cfg      RegressorConfig
	Net      *gnn.Predictor
	SDE      *sde.VE
	fwd, bwd *tensor.Tensor
	params   []*autograd.Var // the trained ones (not the unused set encoder)
}

func newRegressor(cfg RegressorConfig, rng *tensor.RNG) (*Regressor, error) {
	nodes, vocab, adj, err := SpaceGraph(cfg.Space)
	if err != nil {
		return nil, err
	}
	if cfg.Net.Nodes != nodes || cfg.Net.Vocab != vocab {
		return nil, fmt.Errorf("regressor for %s needs %dx%d node matrices, config has %dx%d", cfg.Space, nodes, vocab, cfg.Net.Nodes, cfg.Net.Vocab)
	}
	if cfg.SDE.Kind != sde.KindVE {
		return nil, fmt.Errorf("regressor: SDE kind %q, only %q is supported", cfg.SDE.Kind, sde.KindVE)
	}
	ve, err := sde.NewVE(cfg.SDE.SigmaMin, cfg.SDE.SigmaMax, max(cfg.SDE.N, 1))
	if err != nil {
		return nil, fmt.Errorf("regressor: %w", err)
	}
	net, err := gnn.NewPredictor(cfg.Net, rng)
	if err != nil {
		return nil, err
	}
	r := &Regressor{Cfg: cfg, Net: net, SDE: ve}
	r.fwd, r.bwd = gnn.NormalizedAdjacency(adj)
	for _, p := range net.Params() {
		if strings.HasPrefix(p.Name, "set.") || (cfg.CondResolution && p == net.Unknown) {
			continue
		}
		r.params = append(r.params, p)
	}
	return r, nil
}

// Params lists the trained parameters (to freeze while guiding).
func (r *Regressor) Params() []*autograd.Var { return r.params }

// ResolutionVector is the fixed dataset-vector encoding of an input
// resolution: (r/224, (r/224)², 1, 0, ...) of width nz.
func ResolutionVector(res float64, nz int) []float32 {
	v := make([]float32, nz)
	u := res / 224
	v[0] = float32(u)
	if nz > 1 {
		v[1] = float32(u * u)
	}
	if nz > 2 {
		v[2] = 1
	}
	return v
}

// conds returns the dataset vector(s): the learned constant, or the
// resolution encodings of res (one per sample).
func (r *Regressor) conds(b int, res []float64) *autograd.Var {
	if !r.Cfg.CondResolution {
		return r.Net.Unknown
	}
	nz := r.Cfg.Net.NZ
	d := make([]float32, 0, b*nz)
	for i := 0; i < b; i++ {
		v := float64(r.Cfg.R)
		if res != nil {
			v = res[i]
		}
		d = append(d, ResolutionVector(v, nz)...)
	}
	return autograd.Const(tensor.FromSlice(d, b, nz))
}

// normalized returns the normalised prediction y for x [B, N, V] (model
// space) at noise levels sigma and resolutions res (nil: Cfg.R).
func (r *Regressor) normalized(c gnn.Ctx, x *autograd.Var, sigma []float32, res []float64) *autograd.Var {
	return r.Net.Forward(c, x, sigma, r.fwd, r.bwd, r.conds(x.Shape()[0], res))
}

// Predict returns the predicted cost [B] in the target's unit for x [B, N,
// V] in model space (2·onehot − 1, possibly noisy) at noise levels sigma,
// for resolution Cfg.R when the regressor is resolution-aware.
func (r *Regressor) Predict(c gnn.Ctx, x *autograd.Var, sigma []float32) *autograd.Var {
	return r.denorm(c.Tape, r.normalized(c, x, sigma, nil))
}

func (r *Regressor) denorm(tp *autograd.Tape, y *autograd.Var) *autograd.Var {
	v := tp.AddScalar(tp.Scale(y, float32(r.Cfg.Std)), float32(r.Cfg.Mean))
	if r.Cfg.Log {
		v = tp.Exp(v)
	}
	return v
}

// PredictClean returns the predicted cost of clean one-hot matrices x01
// (values in {0, 1}, N·V each) at σ_min, for resolutions res (nil: Cfg.R).
func (r *Regressor) PredictClean(x01 [][]float32, res []float64) []float64 {
	return r.predictAt(x01, res, nil)
}

func (r *Regressor) predictAt(x01 [][]float32, res []float64, sig []float32) []float64 {
	per := r.Cfg.Net.Nodes * r.Cfg.Net.Vocab
	out := make([]float64, 0, len(x01))
	const bs = 512
	for lo := 0; lo < len(x01); lo += bs {
		hi := min(lo+bs, len(x01))
		x := tensor.Zeros(hi-lo, r.Cfg.Net.Nodes, r.Cfg.Net.Vocab)
		d := x.Data()
		sigma := make([]float32, hi-lo)
		for i := lo; i < hi; i++ {
			for j, v := range x01[i] {
				d[(i-lo)*per+j] = 2*v - 1
			}
			sigma[i-lo] = float32(r.SDE.SigmaMin())
			if sig != nil {
				sigma[i-lo] = sig[i]
			}
		}
		var rs []float64
		if res != nil {
			rs = res[lo:hi]
		}
		y := r.denorm(nil, r.normalized(gnn.Ctx{}, autograd.Const(x), sigma, rs)).Value.Data()
		for _, v := range y {
			out = append(out, float64(v))
		}
	}
	return out
}

// Data is a labelled set for a regressor: clean one-hot matrices (N·V
// values in {0, 1} each), targets and, for resolution-aware regressors,
// the resolution of each sample.
type Data struct {
	X   [][]float32
	Y   []float64
	Res []float64
}

// Metrics are held-out quality numbers.
type Metrics struct {
	N        int     `json:"n"`
	RMSE     float64 `json:"rmse"` // in the target's unit
	MAPE     float64 `json:"mape"` // mean |pred − true|/|true|
	Spearman float64 `json:"spearman"`
	Kendall  float64 `json:"kendall"`
}

func (m Metrics) String() string {
	return fmt.Sprintf("n %d  rmse %.4g  mape %.2f%%  spearman %.4f  kendall %.4f", m.N, m.RMSE, 100*m.MAPE, m.Spearman, m.Kendall)
}

// Report is the outcome of Train.
type Report struct {
	Steps     int           `json:"steps"`
	FinalLoss float64       `json:"final_loss"`
	TrainN    int           `json:"train_n"`
	Clean     Metrics       `json:"clean"` // held-out, σ_min
	Noisy     Metrics       `json:"noisy"` // held-out, σ(t), t ~ U(1e-5, 1)
	Elapsed   time.Duration `json:"elapsed_ns"`
}

// timeEps is the smallest training time (reference eps = 1e-5).
const timeEps = 1e-5

// Train fits a regressor of cfg (Mean/Std/Train are set here) on d with a
// held-out fraction tc.EvalFrac and reports held-out metrics. Training is
// noise-aware: each sample is x_t = x_s + σ(t)·z with t ~ U(1e-5, 1), and
// σ(t) is the time input (reference §5.3).
func Train(ctx context.Context, cfg RegressorConfig, d *Data, tc TrainConfig, log io.Writer) (*Regressor, *Report, error) {
	if log == nil {
		log = io.Discard
	}
	n := len(d.X)
	if len(d.Y) != n || (d.Res != nil && len(d.Res) != n) {
		return nil, nil, fmt.Errorf("train regressor: %d inputs, %d targets, %d resolutions", n, len(d.Y), len(d.Res))
	}
	if cfg.CondResolution && d.Res == nil {
		return nil, nil, fmt.Errorf("train regressor: resolution-aware regressor needs per-sample resolutions")
	}
	if tc.Iters < 1 || tc.Batch < 1 || !(tc.EvalFrac >= 0 && tc.EvalFrac < 1) {
		return nil, nil, fmt.Errorf("train regressor: iters %d, batch %d must be positive and eval fraction %g in [0, 1)", tc.Iters, tc.Batch, tc.EvalFrac)
	}
	rng := tensor.NewRNG(tc.Seed)
	perm := rng.Perm(n)
	nEval := int(math.Round(tc.EvalFrac * float64(n)))
	evalIdx, trainIdx := perm[:nEval], perm[nEval:]
	if len(trainIdx) < 2 {
		return nil, nil, fmt.Errorf("train regressor: %d training samples, need at least 2", len(trainIdx))
	}
	tv := func(v float64) float64 {
		if cfg.Log {
			return math.Log(v)
		}
		return v
	}
	for i, y := range d.Y {
		if math.IsNaN(y) || math.IsInf(y, 0) || (cfg.Log && !(y > 0)) {
			return nil, nil, fmt.Errorf("train regressor: target %d is %g (must be finite%s)", i, y, map[bool]string{true: " and positive", false: ""}[cfg.Log])
		}
	}
	var m, s float64
	for _, i := range trainIdx {
		m += tv(d.Y[i])
	}
	m /= float64(len(trainIdx))
	for _, i := range trainIdx {
		s += (tv(d.Y[i]) - m) * (tv(d.Y[i]) - m)
	}
	s = math.Sqrt(s / float64(len(trainIdx)))
	if !(s > 0) {
		return nil, nil, fmt.Errorf("train regressor: all training targets are equal")
	}
	cfg.Mean, cfg.Std, cfg.Train = m, s, tc
	r, err := newRegressor(cfg, rng)
	if err != nil {
		return nil, nil, err
	}
	per := cfg.Net.Nodes * cfg.Net.Vocab
	for i, x := range d.X {
		if len(x) != per {
			return nil, nil, fmt.Errorf("train regressor: input %d has %d values, want %d", i, len(x), per)
		}
	}
	fmt.Fprintf(log, "regressor %s (%s) on %s: %d train / %d held out; target %s, normalised mean %.4g std %.4g; %d parameters; SDE %s\n",
		cfg.Target, cfg.Unit, cfg.Space, len(trainIdx), len(evalIdx), map[bool]string{true: "log", false: "linear"}[cfg.Log], m, s, countParams(r.params), r.SDE)
	opt, err := optim.New(r.params, optim.Config{LR: tc.LR, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Warmup: tc.Warmup, GradClip: 1})
	if err != nil {
		return nil, nil, fmt.Errorf("train regressor: %w", err)
	}
	start := time.Now()
	bs := min(tc.Batch, len(trainIdx))
	x := tensor.Zeros(bs, cfg.Net.Nodes, cfg.Net.Vocab)
	xd := x.Data()
	y := tensor.Zeros(bs)
	sigma := make([]float32, bs)
	res := make([]float64, bs)
	z := make([]float32, per)
	tp := autograd.NewTape()
	var recent []float64
	order, pos := rng.Perm(len(trainIdx)), 0
	for step := 1; step <= tc.Iters; step++ {
		if err := ctx.Err(); err != nil {
			return nil, nil, fmt.Errorf("train regressor: stopped at step %d: %w", step, err)
		}
		for b := 0; b < bs; b++ {
			if pos == len(order) {
				order, pos = rng.Perm(len(trainIdx)), 0
			}
			i := trainIdx[order[pos]]
			pos++
			t := timeEps + (1-timeEps)*rng.Float64()
			sg := r.SDE.Sigma(t)
			sigma[b] = float32(sg)
			rng.FillNormal(z, 0, 1)
			for j, v := range d.X[i] {
				xd[b*per+j] = 2*v - 1 + float32(sg)*z[j]
			}
			y.Data()[b] = float32((tv(d.Y[i]) - m) / s)
			if d.Res != nil {
				res[b] = d.Res[i]
			}
		}
		var rr []float64
		if cfg.CondResolution {
			rr = res
		}
		pred := r.normalized(gnn.Ctx{Tape: tp, Train: true, RNG: rng}, autograd.Const(x), sigma, rr)
		loss := tp.MSE(pred, autograd.Const(y))
		if err := tp.Backward(loss); err != nil {
			return nil, nil, fmt.Errorf("train regressor step %d: %w", step, err)
		}
		if _, err := opt.Step(); err != nil {
			return nil, nil, fmt.Errorf("train regressor step %d: %w", step, err)
		}
		opt.ZeroGrad()
		tp.Reset()
		lv := float64(loss.Value.Item())
		if math.IsNaN(lv) || math.IsInf(lv, 0) {
			return nil, nil, fmt.Errorf("train regressor: loss is %g at step %d", lv, step)
		}
		recent = append(recent, lv)
		if len(recent) > 100 {
			recent = recent[1:]
		}
		if step%500 == 0 || step == tc.Iters {
			fmt.Fprintf(log, "step %d/%d  loss %.4f  %.1fs\n", step, tc.Iters, meanOf(recent), time.Since(start).Seconds())
		}
	}
	rep := &Report{Steps: tc.Iters, FinalLoss: meanOf(recent), TrainN: len(trainIdx), Elapsed: time.Since(start)}
	if len(evalIdx) > 1 {
		rep.Clean = r.Evaluate(subset(d, evalIdx), false, tc.Seed+1)
		rep.Noisy = r.Evaluate(subset(d, evalIdx), true, tc.Seed+1)
		fmt.Fprintf(log, "held-out clean: %s\nheld-out noisy: %s\n", rep.Clean, rep.Noisy)
	}
	return r, rep, nil
}

func countParams(ps []*autograd.Var) int {
	n := 0
	for _, p := range ps {
		n += p.Value.Len()
	}
	return n
}

func meanOf(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(max(len(v), 1))
}

func subset(d *Data, idx []int) *Data {
	out := &Data{}
	for _, i := range idx {
		out.X = append(out.X, d.X[i])
		out.Y = append(out.Y, d.Y[i])
		if d.Res != nil {
			out.Res = append(out.Res, d.Res[i])
		}
	}
	return out
}

// Evaluate returns metrics of the regressor on d: clean (σ_min) or noisy
// (x_t at t ~ U(1e-5, 1), drawn with seed; the prediction is compared with
// the clean target).
func (r *Regressor) Evaluate(d *Data, noisy bool, seed uint64) Metrics {
	xs := d.X
	var sig []float32
	if noisy {
		rng := tensor.NewRNG(seed)
		per := r.Cfg.Net.Nodes * r.Cfg.Net.Vocab
		xs = make([][]float32, len(d.X))
		sig = make([]float32, len(d.X))
		z := make([]float32, per)
		for i, x := range d.X {
			sg := r.SDE.Sigma(timeEps + (1-timeEps)*rng.Float64())
			sig[i] = float32(sg)
			rng.FillNormal(z, 0, 1)
			v := make([]float32, per)
			for j := range x {
				// predictAt maps 2v−1; add the noise in model space.
				v[j] = x[j] + float32(sg)*z[j]/2
			}
			xs[i] = v
		}
	}
	res := d.Res
	if !r.Cfg.CondResolution {
		res = nil
	}
	pred := r.predictAt(xs, res, sig)
	return metricsOf(pred, d.Y)
}

func metricsOf(pred, truth []float64) Metrics {
	m := Metrics{N: len(truth)}
	for i := range truth {
		e := pred[i] - truth[i]
		m.RMSE += e * e
		if truth[i] != 0 {
			m.MAPE += math.Abs(e / truth[i])
		}
	}
	m.RMSE = math.Sqrt(m.RMSE / float64(max(len(truth), 1)))
	m.MAPE /= float64(max(len(truth), 1))
	m.Spearman = predictor.Spearman(pred, truth)
	m.Kendall = predictor.KendallTau(pred, truth)
	return m
}

// Checkpoint returns the regressor as a checkpoint.
func (r *Regressor) Checkpoint() (*ckpt.Checkpoint, error) {
	b, err := json.Marshal(r.Cfg)
	if err != nil {
		return nil, fmt.Errorf("regressor checkpoint: %w", err)
	}
	c := &ckpt.Checkpoint{Kind: CheckpointKind, Config: b, Seed: r.Cfg.Train.Seed, Step: int64(r.Cfg.Train.Iters),
		Meta: map[string]string{"space": r.Cfg.Space, "target": r.Cfg.Target, "unit": r.Cfg.Unit}}
	c.AddParams(r.Net.Params())
	return c, nil
}

// Save writes the regressor to path atomically.
func (r *Regressor) Save(path string) error {
	c, err := r.Checkpoint()
	if err != nil {
		return err
	}
	if err := ckpt.WriteFile(path, c); err != nil {
		return fmt.Errorf("save regressor: %w", err)
	}
	return nil
}

// Load reads a regressor checkpoint.
func Load(path string) (*Regressor, error) {
	c, err := ckpt.ReadFile(path, CheckpointKind)
	if err != nil {
		return nil, fmt.Errorf("load regressor: %w", err)
	}
	r, err := FromCheckpoint(c)
	if err != nil {
		return nil, fmt.Errorf("load regressor %s: %w", path, err)
	}
	return r, nil
}

// FromCheckpoint rebuilds a regressor from a decoded checkpoint.
func FromCheckpoint(c *ckpt.Checkpoint) (*Regressor, error) {
	var cfg RegressorConfig
	if err := json.Unmarshal(c.Config, &cfg); err != nil {
		return nil, fmt.Errorf("regressor config: %w", err)
	}
	if err := cfg.Net.Validate(); err != nil {
		return nil, err
	}
	if !(cfg.Std > 0) {
		return nil, fmt.Errorf("regressor: target std %g must be positive", cfg.Std)
	}
	r, err := newRegressor(cfg, tensor.NewRNG(0))
	if err != nil {
		return nil, err
	}
	if err := c.LoadParams(r.Net.Params()); err != nil {
		return nil, err
	}
	return r, nil
}
