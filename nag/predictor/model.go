package predictor

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/nag/ckpt"
	"github.com/nagml/nag/nag/nb201"
	"github.com/nagml/nag/sde"
	"github.com/nagml/nag/tensor"
)

// CheckpointKind is the kind of predictor checkpoints.
const CheckpointKind = "nb201-predictor"

// Norm is the invertible target transform y = ((acc − Mean)/Std)/100.
type Norm struct {
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
}

// ComputeNorm returns the mean and (population) standard deviation of the
// samples' accuracies.
func ComputeNorm(s []Sample) Norm {
	var m float64
	for _, x := range s {
		m += x.Acc
	}
	m /= float64(len(s))
	var v float64
	for _, x := range s {
		v += (x.Acc - m) * (x.Acc - m)
	}
	return Norm{Mean: m, Std: math.Sqrt(v / float64(len(s)))}
}

// Target maps an accuracy to the training target.
func (n Norm) Target(acc float64) float32 { return float32((acc - n.Mean) / n.Std / 100) }

// Acc maps a prediction back to an accuracy in percent.
func (n Norm) Acc(y float32) float64 { return float64(y)*100*n.Std + n.Mean }

// ModelConfig is everything needed to rebuild a trained predictor; it is
// the checkpoint's JSON config.
type ModelConfig struct {
	Net gnn.PredictorConfig `json:"net"`
	// Graph is the fixed NB201 graph the GCN runs on ("true/raw" etc., see
	// nb201.GraphConfig).
	Graph string `json:"graph"`
	// SDE is the noise process of training (VE, σ 0.1..5 by default).
	SDE sde.Config `json:"sde"`
	// Norm is the target transform.
	Norm Norm `json:"norm"`
	// WithFeatures reports whether any training task had dataset features
	// (otherwise the set encoder is untrained and only the unknown-dataset
	// vector is meaningful).
	WithFeatures bool `json:"with_features"`
	// Train records the training run.
	Train TrainConfig `json:"train"`
	// Source describes the training data.
	Source string `json:"source"`
}

// Model is a trained (or training) predictor with its target transform and
// graph.
type Model struct {
	Cfg      ModelConfig
	Net      *gnn.Predictor
	SDE      *sde.VE
	Fwd, Bwd *tensor.Tensor // normalised adjacencies of the GCN
}

// ParseGraph reads "reference/raw", "true/raw", "true/closure", ...
func ParseGraph(s string) (nb201.GraphConfig, error) {
	var g nb201.GraphConfig
	top, mask, ok := strings.Cut(s, "/")
	if !ok || top == "" {
		return g, fmt.Errorf("graph %q: want TOPOLOGY/MASK, e.g. true/raw", s)
	}
	var err error
	if g.Topology, err = nb201.ParseTopology(top); err != nil {
		return g, err
	}
	if g.Mask, err = nb201.ParseMaskMode(mask); err != nil {
		return g, err
	}
	return g, nil
}

// NewModel builds an untrained model from cfg with weights drawn from rng.
func NewModel(cfg ModelConfig, rng *tensor.RNG) (*Model, error) {
	net, err := gnn.NewPredictor(cfg.Net, rng)
	if err != nil {
		return nil, err
	}
	return newModel(cfg, net)
}

func newModel(cfg ModelConfig, net *gnn.Predictor) (*Model, error) {
	if cfg.Net.Nodes != nb201.NumNodes || cfg.Net.Vocab != nb201.NumTypes {
		return nil, fmt.Errorf("predictor: nodes %d vocab %d, NB201 needs %d x %d", cfg.Net.Nodes, cfg.Net.Vocab, nb201.NumNodes, nb201.NumTypes)
	}
	g, err := ParseGraph(cfg.Graph)
	if err != nil {
		return nil, fmt.Errorf("predictor: %w", err)
	}
	if cfg.SDE.Kind != sde.KindVE {
		return nil, fmt.Errorf("predictor: SDE kind %q, only %q is supported", cfg.SDE.Kind, sde.KindVE)
	}
	ve, err := sde.NewVE(cfg.SDE.SigmaMin, cfg.SDE.SigmaMax, max(cfg.SDE.N, 1))
	if err != nil {
		return nil, fmt.Errorf("predictor: %w", err)
	}
	if cfg.Norm.Std <= 0 || math.IsNaN(cfg.Norm.Mean) {
		cfg.Norm = Norm{Mean: 0, Std: 1}
	}
	m := g.AttentionMask()
	fwd, bwd := gnn.NormalizedAdjacency(m.Tensor())
	return &Model{Cfg: cfg, Net: net, SDE: ve, Fwd: fwd, Bwd: bwd}, nil
}

// Norm returns the target transform.
func (m *Model) Norm() Norm { return m.Cfg.Norm }

// DatasetVector returns the dataset encoding for per-class features
// [classes, per_class, dim] (nil: the unknown-dataset vector), computed
// once and reusable for any number of Forward calls. c.Tape may be nil.
func (m *Model) DatasetVector(c gnn.Ctx, feats *tensor.Tensor) (*autograd.Var, error) {
	if feats == nil {
		return m.Net.EncodeDataset(c, nil), nil
	}
	if feats.Rank() != 3 || feats.Dim(0) < 1 || feats.Dim(1) < 1 {
		return nil, fmt.Errorf("dataset features: shape %v, want [classes, per_class, dim]", feats.Shape())
	}
	if feats.Dim(2) != m.Cfg.Net.FeatDim {
		return nil, fmt.Errorf("dataset features have width %d, the predictor was built for %d", feats.Dim(2), m.Cfg.Net.FeatDim)
	}
	return m.Net.EncodeDataset(c, feats), nil
}

// EncodeTasks returns the dataset vectors [len(feats), NZ] of several
// tasks at once: tasks whose features have the same [classes, per_class]
// shape go through the set encoder together (the intra-class pool over all
// their classes in one call, the inter-class pool over all tasks in one
// call), which gives the same vectors as DatasetVector one by one.
func (m *Model) EncodeTasks(c gnn.Ctx, feats []*tensor.Tensor) (*autograd.Var, error) {
	type key struct{ c, s int }
	groups := map[key][]int{}
	var order []key
	for i, f := range feats {
		if f == nil || f.Rank() != 3 || f.Dim(2) != m.Cfg.Net.FeatDim {
			var sh []int
			if f != nil {
				sh = f.Shape()
			}
			return nil, fmt.Errorf("dataset features %d: shape %v, want [classes, per_class, %d]", i, sh, m.Cfg.Net.FeatDim)
		}
		k := key{f.Dim(0), f.Dim(1)}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], i)
	}
	tp := c.Tape
	set := m.Net.Set
	var parts []*autograd.Var
	pos := make([]int, len(feats)) // row of task i in the concatenation
	n := 0
	for _, k := range order {
		idx := groups[k]
		ts := make([]*tensor.Tensor, len(idx))
		for j, i := range idx {
			ts[j] = feats[i]
			pos[i] = n + j
		}
		x := tensor.Concat(0, ts...) // [T·C, S, D]
		protos := set.Intra.Forward(c, autograd.Const(x))
		parts = append(parts, set.Inter.Forward(c, tp.Reshape(protos, len(idx), k.c, set.Dim))) // [T, NZ]
		n += len(idx)
	}
	all := parts[0]
	if len(parts) > 1 {
		all = tp.Concat(0, parts...)
	}
	return tp.Gather(all, 0, pos), nil
}

// Forward returns the normalised predictions [B] for x [B, 8, 7] in model
// space (2·onehot − 1, possibly noisy) at noise levels sigma [B] and dataset
// vector ds ([NZ], or [B, NZ] for per-sample datasets).
func (m *Model) Forward(c gnn.Ctx, x *autograd.Var, sigma []float32, ds *autograd.Var) *autograd.Var {
	return m.Net.Forward(c, x, sigma, m.Fwd, m.Bwd, ds)
}

// PredictClean returns predicted accuracies (in %) of clean architectures
// at the smallest noise level σ_min, for dataset vector ds, in batches.
func (m *Model) PredictClean(archs []nb201.Arch, ds *autograd.Var) []float64 {
	out := make([]float64, 0, len(archs))
	const bs = 512
	sig := float32(m.SDE.SigmaMin())
	for lo := 0; lo < len(archs); lo += bs {
		hi := min(lo+bs, len(archs))
		x := ModelSpace(archs[lo:hi])
		sigma := make([]float32, hi-lo)
		for i := range sigma {
			sigma[i] = sig
		}
		y := m.Forward(gnn.Ctx{}, autograd.Const(x), sigma, ds).Value.Data()
		for _, v := range y {
			out = append(out, m.Cfg.Norm.Acc(v))
		}
	}
	return out
}

// ModelSpace returns the one-hot matrices of archs scaled to {−1, +1}
// ([len(archs), 8, 7]), the space the networks see.
func ModelSpace(archs []nb201.Arch) *tensor.Tensor {
	per := nb201.NumNodes * nb201.NumTypes
	x := tensor.Zeros(len(archs), nb201.NumNodes, nb201.NumTypes)
	d := x.Data()
	for i, a := range archs {
		oh := a.OneHot()
		for j, v := range oh.Slice() {
			d[i*per+j] = 2*v - 1
		}
	}
	return x
}

// Checkpoint returns the model's parameters and configuration as a
// checkpoint (optimiser state is not included).
func (m *Model) Checkpoint(step int64, seed uint64) (*ckpt.Checkpoint, error) {
	cfg, err := json.Marshal(m.Cfg)
	if err != nil {
		return nil, fmt.Errorf("predictor checkpoint: %w", err)
	}
	c := &ckpt.Checkpoint{Kind: CheckpointKind, Config: cfg, Seed: seed, Step: step,
		Meta: map[string]string{"source": m.Cfg.Source}}
	c.AddParams(m.Net.Params())
	return c, nil
}

// Save writes the model to path atomically.
func (m *Model) Save(path string, step int64, seed uint64) error {
	c, err := m.Checkpoint(step, seed)
	if err != nil {
		return err
	}
	if err := ckpt.WriteFile(path, c); err != nil {
		return fmt.Errorf("save predictor: %w", err)
	}
	return nil
}

// FromCheckpoint rebuilds a model from a checkpoint.
func FromCheckpoint(c *ckpt.Checkpoint) (*Model, error) {
	var cfg ModelConfig
	if err := json.Unmarshal(c.Config, &cfg); err != nil {
		return nil, fmt.Errorf("predictor checkpoint config: %w", err)
	}
	if err := cfg.Net.Validate(); err != nil {
		return nil, fmt.Errorf("predictor checkpoint: %w", err)
	}
	if !(cfg.Norm.Std > 0) {
		return nil, fmt.Errorf("predictor checkpoint: target std %g must be positive", cfg.Norm.Std)
	}
	net, err := gnn.NewPredictor(cfg.Net, tensor.NewRNG(0))
	if err != nil {
		return nil, err
	}
	if err := c.LoadParams(net.Params()); err != nil {
		return nil, fmt.Errorf("predictor checkpoint: %w", err)
	}
	return newModel(cfg, net)
}

// Load reads a predictor checkpoint file.
func Load(path string) (*Model, error) {
	c, err := ckpt.ReadFile(path, CheckpointKind)
	if err != nil {
		return nil, fmt.Errorf("load predictor: %w", err)
	}
	m, err := FromCheckpoint(c)
	if err != nil {
		return nil, fmt.Errorf("load predictor %s: %w", path, err)
	}
	return m, nil
}

// LoadBytes reads a predictor checkpoint held in memory (e.g. embedded).
func LoadBytes(b []byte) (*Model, error) {
	c, err := ckpt.ReadBytes(b, CheckpointKind)
	if err != nil {
		return nil, fmt.Errorf("load predictor: %w", err)
	}
	return FromCheckpoint(c)
}
