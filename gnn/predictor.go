package gnn

import (
	"encoding/json"
	"fmt"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/tensor"
)

// PredictorConfig configures the noise-aware meta-predictor (reference §5.1):
// a directed GCN over the architecture graph, a time embedding of σ(t), the
// dataset set encoder and a small regression head. Serialised into
// checkpoints as JSON.
type PredictorConfig struct {
	Nodes        int     `json:"nodes"`         // graph nodes (8 for NB201, 20 for MobileNetV3)
	Vocab        int     `json:"vocab"`         // node types (7 / 9)
	GCNHidden    int     `json:"gcn_hidden"`    // 144
	GCNLayers    int     `json:"gcn_layers"`    // 4
	LinearHidden int     `json:"linear_hidden"` // 128 (graph vector width)
	HS           int     `json:"hs"`            // 32 (head hidden width)
	NZ           int     `json:"nz"`            // 56 (dataset vector width)
	FeatDim      int     `json:"feat_dim"`      // width of per-sample dataset features (512 for ResNet-18)
	SetHeads     int     `json:"set_heads"`     // 4
	Dropout      float32 `json:"dropout"`       // 0.1
	TimeEmbed    bool    `json:"time_embed"`    // add the σ(t) embedding (noise-aware)
}

// PaperPredictorConfig is the reference configuration (505,865 parameters
// in the original, of which 28,728 belong to an unused layer we omit, and we
// add a learned 56-wide "unknown dataset" vector).
func PaperPredictorConfig(nodes, vocab, featDim int) PredictorConfig {
	return PredictorConfig{Nodes: nodes, Vocab: vocab, GCNHidden: 144, GCNLayers: 4, LinearHidden: 128,
		HS: 32, NZ: 56, FeatDim: featDim, SetHeads: 4, Dropout: 0.1, TimeEmbed: true}
}

// Validate checks the configuration.
func (c PredictorConfig) Validate() error {
	switch {
	case c.Nodes <= 0 || c.Vocab <= 0:
		return fmt.Errorf("predictor config: nodes %d, vocab %d must be positive", c.Nodes, c.Vocab)
	case c.GCNHidden <= 0 || c.GCNLayers <= 0 || c.LinearHidden <= 0 || c.HS <= 0:
		return fmt.Errorf("predictor config: widths and layer count must be positive")
	case c.NZ <= 0 || c.SetHeads <= 0 || c.NZ%c.SetHeads != 0:
		return fmt.Errorf("predictor config: nz %d must be a positive multiple of set_heads %d", c.NZ, c.SetHeads)
	case c.FeatDim <= 0:
		return fmt.Errorf("predictor config: feat_dim %d must be positive", c.FeatDim)
	case c.Dropout < 0 || c.Dropout >= 1:
		return fmt.Errorf("predictor config: dropout %g outside [0, 1)", c.Dropout)
	}
	return nil
}

// JSON returns the configuration as JSON.
func (c PredictorConfig) JSON() []byte { b, _ := json.Marshal(c); return b }

// ParsePredictorConfig decodes and validates a JSON configuration.
func ParsePredictorConfig(b []byte) (PredictorConfig, error) {
	var c PredictorConfig
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("predictor config: %w", err)
	}
	return c, c.Validate()
}

// DiGCNLayer is the directed graph convolution of the neural predictor:
//
//	out = Dropout((ReLU(Â·H·W1) + ReLU(Âᵀₙ·H·W2)) / 2)
//
// with Â = rownorm(A + I) and Âᵀₙ = rownorm(Âᵀ): the first term gathers
// from a node's successors, the second from its predecessors.
type DiGCNLayer struct {
	W1, W2 *Linear
}

// NewDiGCNLayer returns a layer with Xavier-uniform weights and no bias.
func NewDiGCNLayer(name string, in, out int, rng *tensor.RNG) *DiGCNLayer {
	return &DiGCNLayer{
		W1: NewLinearInit(JoinName(name, "weight1"), in, out, false, InitXavierUniform, rng),
		W2: NewLinearInit(JoinName(name, "weight2"), in, out, false, InitXavierUniform, rng),
	}
}

// Params implements Module.
func (l *DiGCNLayer) Params() []*autograd.Var { return CollectParams(l.W1, l.W2) }

// Forward maps h [B, N, in] to [B, N, out] with normalised adjacencies
// fwd, bwd [N, N] (see NormalizedAdjacency).
func (l *DiGCNLayer) Forward(c Ctx, h *autograd.Var, fwd, bwd *autograd.Var, dropout float32) *autograd.Var {
	tp := c.Tape
	a := linearAct(tp, tp.MatMul(fwd, h), l.W1, tensor.ActReLU)
	b := linearAct(tp, tp.MatMul(bwd, h), l.W2, tensor.ActReLU)
	return tp.Dropout(tp.Scale(tp.Add(a, b), 0.5), dropout, c.RNG, c.Train)
}

// ForwardNodeMajor is Forward on node-major activations: h [N, B, in] to
// [N, B, out] (the same function of each graph b).
func (l *DiGCNLayer) ForwardNodeMajor(c Ctx, h *autograd.Var, fwd, bwd *autograd.Var, dropout float32) *autograd.Var {
	y := digcnNodeMajor(c.Tape, h, l.W1.Weight, l.W2.Weight, fwd.Value, bwd.Value)
	return c.Tape.Dropout(y, dropout, c.RNG, c.Train)
}

// NormalizedAdjacency returns Â = rownorm(mask + I) and rownorm(Âᵀ) for a
// 0/1 mask [N, N] (mask[i][j] = 1 for an edge i→j).
func NormalizedAdjacency(mask *tensor.Tensor) (fwd, bwd *tensor.Tensor) {
	n := mask.Dim(0)
	a := tensor.Zeros(n, n)
	ad := a.Data()
	m := mask.Contiguous().Data()
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			if m[i*n+j] != 0 || i == j {
				ad[i*n+j] = 1
			}
		}
	}
	rownorm := func(t *tensor.Tensor) *tensor.Tensor {
		d := t.Data()
		for i := 0; i < n; i++ {
			var s float32
			for j := 0; j < n; j++ {
				s += d[i*n+j]
			}
			if s != 0 {
				for j := 0; j < n; j++ {
					d[i*n+j] /= s
				}
			}
		}
		return t
	}
	fwd = rownorm(a)
	bwd = rownorm(fwd.T().Clone())
	return fwd, bwd
}

// Predictor is the noise-aware meta-predictor ŷ(x, σ, dataset). The path
// x → GCN → mean over nodes → + time embedding → fc1 → head is what
// guidance differentiates; the dataset vector does not depend on x and is
// computed once per dataset (EncodeDataset) and shared by the whole batch.
type Predictor struct {
	cfg     PredictorConfig
	GCN     []*DiGCNLayer
	Temb1   *Linear
	Temb2   *Linear
	FC1     *Linear
	Set     *SetEncoder
	Unknown *autograd.Var // [NZ]: learned vector used when a task has no dataset features
	Head1   *Linear
	Head2   *Linear
	params  []*autograd.Var
	tembDim int
}

// NewPredictor builds a predictor with weights drawn from rng.
func NewPredictor(cfg PredictorConfig, rng *tensor.RNG) (*Predictor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Predictor{cfg: cfg, tembDim: cfg.GCNHidden}
	in := cfg.Vocab
	for i := 0; i < cfg.GCNLayers; i++ {
		p.GCN = append(p.GCN, NewDiGCNLayer(fmt.Sprintf("gcn.%d", i), in, cfg.GCNHidden, rng))
		in = cfg.GCNHidden
	}
	if cfg.TimeEmbed {
		p.Temb1 = NewLinear("temb.0", cfg.GCNHidden, 4*cfg.GCNHidden, true, rng)
		p.Temb2 = NewLinear("temb.1", 4*cfg.GCNHidden, cfg.GCNHidden, true, rng)
	}
	p.FC1 = NewLinear("fc1", cfg.GCNHidden, cfg.LinearHidden, false, rng)
	p.Set = NewSetEncoder("set", cfg.FeatDim, cfg.NZ, cfg.SetHeads, rng)
	u := tensor.Zeros(cfg.NZ)
	rng.FillNormal(u.Data(), 0, 0.1)
	p.Unknown = autograd.Param("unknown_dataset", u)
	p.Head1 = NewLinear("pred_fc.0", cfg.NZ+cfg.LinearHidden, cfg.HS, true, rng)
	p.Head2 = NewLinear("pred_fc.2", cfg.HS, 1, true, rng)
	for _, l := range p.GCN {
		p.params = append(p.params, l.Params()...)
	}
	p.params = append(p.params, CollectParams(p.Temb1, p.Temb2, p.FC1, p.Set)...)
	p.params = append(p.params, p.Unknown)
	p.params = append(p.params, CollectParams(p.Head1, p.Head2)...)
	return p, nil
}

// Config returns the configuration.
func (p *Predictor) Config() PredictorConfig { return p.cfg }

// Params implements Module.
func (p *Predictor) Params() []*autograd.Var { return p.params }

// EncodeDataset maps per-class features [C, S, FeatDim] to the dataset
// vector [NZ]. A nil feats gives the learned "unknown dataset" vector.
func (p *Predictor) EncodeDataset(c Ctx, feats *tensor.Tensor) *autograd.Var {
	if feats == nil {
		return p.Unknown
	}
	return p.Set.Forward(c, autograd.Const(feats))
}

// Forward predicts [B] values for node matrices x [B, N, V] (noisy, in the
// scaled space), time inputs sigma [B] (σ(t)), normalised adjacencies fwd,
// bwd [N, N] (NormalizedAdjacency) and a dataset vector ds [NZ]
// (EncodeDataset).
func (p *Predictor) Forward(c Ctx, x *autograd.Var, sigma []float32, fwd, bwd *tensor.Tensor, ds *autograd.Var) *autograd.Var {
	tp := c.Tape
	sh := x.Shape()
	if len(sh) != 3 || sh[1] != p.cfg.Nodes || sh[2] != p.cfg.Vocab {
		panic(fmt.Sprintf("gnn: predictor expects x [B, %d, %d], got %v", p.cfg.Nodes, p.cfg.Vocab, sh))
	}
	b := sh[0]
	if len(sigma) != b {
		panic(fmt.Sprintf("gnn: predictor got %d sigmas for batch %d", len(sigma), b))
	}
	fa, ba := autograd.Const(fwd), autograd.Const(bwd)
	// The GCN stack runs node-major ([N, B, C]): the neighbourhood
	// aggregation of the whole batch is then one [N, N]·[N, B·C] product
	// instead of B small ones.
	h := tp.Reshape(tp.Permute(x, 1, 0, 2), p.cfg.Nodes, b, p.cfg.Vocab)
	for _, l := range p.GCN {
		h = l.ForwardNodeMajor(c, h, fa, ba, p.cfg.Dropout)
	}
	g := tp.Mean(h, 0, false) // [B, GCNHidden]
	if p.cfg.TimeEmbed {
		// A sampler's batch shares one time: embed it once and broadcast.
		ts := sigma
		if uniform(sigma) {
			ts = sigma[:1]
		}
		te := autograd.Const(TimestepEmbedding(ts, p.tembDim))
		te = p.Temb2.Forward(c, tp.SiLU(p.Temb1.Forward(c, te)))
		g = tp.Add(g, te)
	}
	a := tp.Dropout(p.FC1.Forward(c, g), p.cfg.Dropout, c.RNG, c.Train) // [B, LinearHidden]
	d := tp.Add(autograd.Const(tensor.Zeros(b, p.cfg.NZ)), ds)          // [B, NZ]
	z := tp.Concat(1, d, a)
	out := p.Head2.Forward(c, tp.Tanh(p.Head1.Forward(c, z)))
	return tp.Reshape(out, b)
}

// uniform reports whether all values are equal (false for an empty slice).
func uniform(v []float32) bool {
	if len(v) == 0 {
		return false
	}
	for _, x := range v[1:] {
		if x != v[0] {
			return false
		}
	}
	return true
}
