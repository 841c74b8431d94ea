package diffusion

import (
	"context"
	"fmt"
	"strings"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/nag/ckpt"
	"github.com/nagml/nag/nag/nb201"
	"github.com/nagml/nag/sde"
	"github.com/nagml/nag/tensor"
)

// Model is a trained score network ready for sampling.
type Model struct {
	// Config is the training configuration stored in the checkpoint.
	Config Config
	// Space is the search space the network was trained on.
	Space Space
	// Net holds the sampling weights (the EMA average when the checkpoint
	// has one, see Weights).
	Net *gnn.CATE
	// SDE is the forward SDE of the training configuration.
	SDE sde.SDE
	// TrainIndices are the dataset indices of the training set.
	TrainIndices []int
	// Step is the number of training iterations behind the weights.
	Step int64
	// Weights is "ema" when Net holds the EMA weights, "live" otherwise.
	Weights string
}

// spaceFor rebuilds the space a checkpoint was trained on.
func spaceFor(cfg Config) (Space, error) {
	switch cfg.Space {
	case "nb201":
		topo, mask, ok := strings.Cut(cfg.Mask, "/")
		if !ok {
			return Space{}, fmt.Errorf("nb201 mask %q: want topology/mask (e.g. reference/raw)", cfg.Mask)
		}
		t, err := nb201.ParseTopology(topo)
		if err != nil {
			return Space{}, err
		}
		m, err := nb201.ParseMaskMode(mask)
		if err != nil {
			return Space{}, err
		}
		return NB201Space(nb201.GraphConfig{Topology: t, Mask: m}), nil
	}
	return Space{}, fmt.Errorf("unknown search space %q (supported: nb201)", cfg.Space)
}

// LoadModelFile reads a score-network checkpoint file.
func LoadModelFile(path string) (*Model, error) {
	c, err := ckpt.ReadFile(path, CheckpointKind)
	if err != nil {
		return nil, err
	}
	m, err := LoadModel(c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// LoadModel builds the sampling model of a checkpoint: the EMA weights when
// the checkpoint holds them (a training checkpoint), the plain parameters
// otherwise (an exported one, whose parameters are the EMA weights).
func LoadModel(c *ckpt.Checkpoint) (*Model, error) { return LoadModelIn(c, spaceFor) }

// LoadModelIn is LoadModel for spaces this package does not know: space
// rebuilds the checkpoint's space from its configuration (for example
// mbv3.SpaceFromConfig for MobileNetV3 score networks).
func LoadModelIn(c *ckpt.Checkpoint, space func(Config) (Space, error)) (*Model, error) {
	if c.Kind != CheckpointKind {
		return nil, fmt.Errorf("checkpoint kind %q, want %q", c.Kind, CheckpointKind)
	}
	cfg, err := parseConfig(c.Config)
	if err != nil {
		return nil, err
	}
	sp, err := space(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Model.Nodes != sp.Nodes || cfg.Model.Vocab != sp.Vocab {
		return nil, fmt.Errorf("model is for %dx%d node matrices, space %s has %dx%d", cfg.Model.Nodes, cfg.Model.Vocab, sp.Name, sp.Nodes, sp.Vocab)
	}
	net, err := gnn.NewCATE(cfg.Model, tensor.NewRNG(0))
	if err != nil {
		return nil, err
	}
	s, err := sde.New(cfg.SDE)
	if err != nil {
		return nil, err
	}
	m := &Model{Config: cfg, Space: sp, Net: net, SDE: s, Step: c.Step, Weights: "live"}
	if err := c.LoadParams(net.Params()); err != nil {
		return nil, err
	}
	if _, ok := c.Entry(ckpt.PrefixOptim + "ema." + net.Params()[0].Name); ok {
		if err := loadEMA(c, net.Params()); err != nil {
			return nil, err
		}
		m.Weights = "ema"
	} else if c.Meta["weights"] == "ema" {
		m.Weights = "ema"
	}
	if m.TrainIndices, err = c.Ints(EntryTrainIndices); err != nil {
		return nil, err
	}
	for _, i := range m.TrainIndices {
		if i < 0 || i >= sp.Size {
			return nil, fmt.Errorf("training index %d outside the %s dataset (size %d)", i, sp.Name, sp.Size)
		}
	}
	return m, nil
}

// loadEMA copies the optimiser's EMA shadow (entries optim.ema.<name>) into
// params; nothing is changed on a mismatch.
func loadEMA(c *ckpt.Checkpoint, params []*autograd.Var) error {
	src := make([]*tensor.Tensor, len(params))
	for i, p := range params {
		t, err := c.Tensor(ckpt.PrefixOptim + "ema." + p.Name)
		if err != nil {
			return fmt.Errorf("load EMA weights: %w", err)
		}
		if !tensor.EqualInts(t.Shape(), p.Value.Shape()) {
			return fmt.Errorf("load EMA weights: %q has shape %v, model %v", p.Name, t.Shape(), p.Value.Shape())
		}
		src[i] = t
	}
	for i, p := range params {
		p.Value.CopyFrom(src[i])
	}
	return nil
}

// Export returns a compact sampling checkpoint of m: configuration, step,
// the sampling weights as parameters (no optimiser state, no RNG) and the
// training indices (for novelty). It is what nag/assets embeds.
func (m *Model) Export() *ckpt.Checkpoint {
	c := &ckpt.Checkpoint{Kind: CheckpointKind, Config: m.Config.json(), Step: m.Step,
		Meta: map[string]string{"space": m.Space.Name, "mask": m.Space.MaskName,
			"train_size": fmt.Sprint(len(m.TrainIndices)), "weights": m.Weights}}
	c.AddParams(m.Net.Params())
	c.AddInts(EntryTrainIndices, m.TrainIndices)
	return c
}

// TrainingArchs returns the architecture strings of the training set (the
// reference set for novelty).
func (m *Model) TrainingArchs() []string {
	out := make([]string, len(m.TrainIndices))
	for k, i := range m.TrainIndices {
		out[k] = m.Space.ArchString(i)
	}
	return out
}

// ScoreFn returns the sampling score hook of the network: eval mode, no
// tape, the given attention mask (nil: the space's mask), and the SDE's
// time conditioning (σ(t) for VE) supplied by the sampler as cond. The hook
// reuses its buffers (gnn.CATEScorer): its result is valid until the next
// call, and it must not be called concurrently.
func (m *Model) ScoreFn(mask *tensor.Tensor) sde.ScoreFn {
	if mask == nil {
		mask = m.Space.Mask
	}
	sc := m.Net.NewScorer()
	return func(x *tensor.Tensor, _ float64, cond []float32) (*tensor.Tensor, error) {
		return sc.Score(x, cond, mask), nil
	}
}

// Sampler names accepted by SampleOptions.Sampler.
const (
	SamplerPC  = "pc"
	SamplerODE = "ode"
)

// SampleOptions configures Model.Sample.
type SampleOptions struct {
	// N is the number of samples; Batch the number per sampler run (default 256).
	N, Batch int
	// Steps is the number of timesteps (default 1000).
	Steps int
	// Sampler is SamplerPC (Euler–Maruyama + Langevin, snr 0.16; default)
	// or SamplerODE (probability-flow ODE, Euler).
	Sampler string
	// SNR overrides the Langevin signal-to-noise ratio (default 0.16).
	SNR float64
	// Seed seeds the sampler's randomness.
	Seed uint64
	// Mask overrides the attention mask (nil: the training mask).
	Mask *tensor.Tensor
	// Guide, if set, wraps the network's score hook (predictor guidance).
	Guide func(score sde.ScoreFn) sde.ScoreFn
	// Score, if set, replaces the network's CPU score hook (e.g. the same
	// network on a CUDA device, nag/gpu); it must compute the same function
	// with the sampling mask.
	Score sde.ScoreFn
	// Progress, if set, is called after every timestep with the number of
	// timesteps done over all batches and their total.
	Progress func(done, total int)
	// Init, if set, starts sample i from Init[i] (data space, [N, nodes,
	// vocab], e.g. one-hot architectures) perturbed to time Start instead
	// of from the prior (SDEdit: the samples stay near Init, the more the
	// smaller Start; sde.Options.Init). Start must then lie in (0, 1].
	Init  *tensor.Tensor
	Start float64
}

// Samples holds the result of Model.Sample.
type Samples struct {
	// X are the final samples in data space ((x+1)/2), [N, nodes, vocab].
	X *tensor.Tensor
	// Archs are the decoded architecture strings ("" when invalid).
	Archs []string
	// Valid tells which samples decoded to a valid architecture.
	Valid []bool
}

// Sample draws opt.N architectures: batches of opt.Batch from the prior,
// integrated by the chosen sampler with the network's score, mapped back
// with (x+1)/2 and decoded by the space's decoder (threshold 0.5 for NB201).
func (m *Model) Sample(ctx context.Context, opt SampleOptions) (*Samples, error) {
	if opt.N < 1 {
		return nil, fmt.Errorf("sample: number of samples %d must be >= 1", opt.N)
	}
	if opt.Batch == 0 {
		opt.Batch = 256
	}
	if opt.Batch < 1 {
		return nil, fmt.Errorf("sample: batch size %d must be >= 1", opt.Batch)
	}
	if opt.Steps == 0 {
		opt.Steps = 1000
	}
	if opt.Steps < 1 {
		return nil, fmt.Errorf("sample: steps %d must be >= 1", opt.Steps)
	}
	if opt.Sampler == "" {
		opt.Sampler = SamplerPC
	}
	if opt.Sampler != SamplerPC && opt.Sampler != SamplerODE {
		return nil, fmt.Errorf("sample: unknown sampler %q (want pc or ode)", opt.Sampler)
	}
	if opt.Mask != nil && !tensor.EqualInts(opt.Mask.Shape(), []int{m.Space.Nodes, m.Space.Nodes}) {
		return nil, fmt.Errorf("sample: mask shape %v, want [%d %d]", opt.Mask.Shape(), m.Space.Nodes, m.Space.Nodes)
	}
	if opt.Init != nil && !tensor.EqualInts(opt.Init.Shape(), []int{opt.N, m.Space.Nodes, m.Space.Vocab}) {
		return nil, fmt.Errorf("sample: initial architectures %v, want [%d %d %d]", opt.Init.Shape(), opt.N, m.Space.Nodes, m.Space.Vocab)
	}
	score := opt.Score
	if score == nil {
		score = m.ScoreFn(opt.Mask)
	}
	if opt.Guide != nil {
		score = opt.Guide(score)
	}
	nodes, vocab := m.Space.Nodes, m.Space.Vocab
	per := nodes * vocab
	out := tensor.Zeros(opt.N, nodes, vocab)
	od := out.Data()
	rng := tensor.NewRNG(opt.Seed)
	nb := (opt.N + opt.Batch - 1) / opt.Batch
	total := nb * opt.Steps
	for k := 0; k < nb; k++ {
		lo := k * opt.Batch
		b := min(opt.Batch, opt.N-lo)
		so := sde.Options{Steps: opt.Steps, SNR: opt.SNR, RNG: rng}
		if opt.Init != nil {
			so.Init = sde.ScaleData(opt.Init.Slice(0, lo, lo+b).Contiguous())
			so.Start = opt.Start
		}
		if opt.Progress != nil {
			so.Progress = func(step, _ int) { opt.Progress(k*opt.Steps+step, total) }
		}
		var x *tensor.Tensor
		var err error
		if opt.Sampler == SamplerODE {
			x, err = sde.SampleODE(ctx, m.SDE, score, []int{b, nodes, vocab}, so)
		} else {
			x, err = sde.SamplePC(ctx, m.SDE, score, []int{b, nodes, vocab}, so)
		}
		if err != nil {
			return nil, fmt.Errorf("sample: batch %d/%d: %w", k+1, nb, err)
		}
		copy(od[lo*per:(lo+b)*per], sde.UnscaleData(x).Data())
	}
	res := &Samples{X: out, Archs: make([]string, opt.N), Valid: make([]bool, opt.N)}
	for i := 0; i < opt.N; i++ {
		res.Archs[i], res.Valid[i] = m.Space.Decode(od[i*per : (i+1)*per])
	}
	return res, nil
}
