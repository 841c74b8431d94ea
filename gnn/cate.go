package gnn

import (
	"fmt"
	"math"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/tensor"
)

// CATE is the DiffusionNAG score network (reference §2): a graph
// transformer over the N node rows of a diffused node-type matrix X [B, N, V].
//
//	e  = Dropout(Linear_V→d(X)·√d) + PE           (fixed sinusoidal positions)
//	h0 = e + MLP_time(sinusoid(σ))                 (Linear d→T, SiLU, Linear T→d)
//	h  = h + Dropout(MHA(LN(h), mask))             (per block, pre-LayerNorm)
//	h  = h + Dropout(W2·Dropout(ReLU(W1·LN(h))))
//	o_ℓ = LN_ℓ(h)                                  (recorded after every block)
//	s  = MLP_ELU(concat(o_1..o_L))                 [B, N, V], used as the score
//
// The attention of query node i is restricted to key nodes j with
// mask[i][j] = 1 (scores of masked keys are set to -1e9, so a node with no
// allowed key attends uniformly to all nodes, as in the reference).
//
// All node rows of the batch go through each linear layer as one GEMM
// ([B·N, in] x [in, out]); with a nil tape the forward records nothing.
type CATE struct {
	cfg    CATEConfig
	embed  *Linear
	pe     *tensor.Tensor // [N, d]
	time0  *Linear
	time1  *Linear
	blocks []*cateBlock
	read   []*Linear
	params []*autograd.Var
}

type cateBlock struct {
	ln1, ln2, lnOut *LayerNorm
	attn            *MultiHeadAttention
	ff1, ff2        *Linear
}

// NewCATE builds a score network with PyTorch's default initialisation
// (Linear: U(±1/√fan_in) for weights and biases; LayerNorm: γ = 1, β = 0)
// drawn from rng.
func NewCATE(cfg CATEConfig, rng *tensor.RNG) (*CATE, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &CATE{cfg: cfg}
	d := cfg.DModel
	m.embed = m.linear("embed", cfg.Vocab, d, rng)
	if cfg.PosEnc == "stagewise" {
		m.pe = StageWisePositionalEncoding(cfg.Nodes, d, cfg.StageLen)
	} else {
		m.pe = CellPositionalEncoding(cfg.Nodes, d)
	}
	m.time0 = m.linear("time.0", d, cfg.TimeHidden, rng)
	m.time1 = m.linear("time.2", cfg.TimeHidden, d, rng)
	for l := 0; l < cfg.Layers; l++ {
		p := fmt.Sprintf("blocks.%d.", l)
		b := &cateBlock{}
		b.ln1 = m.norm(p+"ln1", d)
		b.attn = NewMultiHeadAttention(p+"attn", d, cfg.Heads, float32(cfg.Dropout), rng)
		m.params = append(m.params, b.attn.Params()...)
		b.ln2 = m.norm(p+"ln2", d)
		b.ff1 = m.linear(p+"ff.0", d, cfg.DFF, rng)
		b.ff2 = m.linear(p+"ff.1", cfg.DFF, d, rng)
		b.lnOut = m.norm(p+"norm_out", d)
		m.blocks = append(m.blocks, b)
	}
	in := cfg.Layers * d
	for i, h := range append(append([]int(nil), cfg.MLPHidden...), cfg.Vocab) {
		m.read = append(m.read, m.linear(fmt.Sprintf("readout.%d", i), in, h, rng))
		in = h
	}
	return m, nil
}

func (m *CATE) linear(name string, in, out int, rng *tensor.RNG) *Linear {
	l := NewLinear(name, in, out, true, rng)
	m.params = append(m.params, l.Params()...)
	return l
}

func (m *CATE) norm(name string, d int) *LayerNorm {
	n := NewLayerNorm(name, d)
	m.params = append(m.params, n.Params()...)
	return n
}

// Config returns the network's configuration.
func (m *CATE) Config() CATEConfig { return m.cfg }

// Params returns the parameters in a fixed order with hierarchical names
// (embed.weight, time.0.weight, blocks.3.attn.q.weight, blocks.3.norm_out.bias,
// readout.2.weight, ...): the checkpoint tensor names.
func (m *CATE) Params() []*autograd.Var { return m.params }

// NumParams is the total number of parameter elements.
func (m *CATE) NumParams() int {
	n := 0
	for _, p := range m.params {
		n += p.Value.Len()
	}
	return n
}

// Forward returns the score [B, N, V] for the noisy node matrices x
// [B, N, V] (model space), the time inputs sigma (one per sample: σ(t) for a
// VE-SDE) and the 0/1 attention mask ([N, N] shared, or [B, N, N]). Dropout
// is active when ctx.Train is set (drawing from ctx.RNG). Forward panics on
// shapes that disagree with the config (a programming error).
func (m *CATE) Forward(ctx Ctx, x *autograd.Var, sigma []float32, mask *tensor.Tensor) *autograd.Var {
	tp := ctx.Tape
	c := m.cfg
	sh := x.Shape()
	if len(sh) != 3 || sh[1] != c.Nodes || sh[2] != c.Vocab {
		panic(fmt.Sprintf("gnn: CATE input shape %v, want [B %d %d]", sh, c.Nodes, c.Vocab))
	}
	b, d := sh[0], c.DModel
	if len(sigma) != b {
		panic(fmt.Sprintf("gnn: CATE got %d time inputs for a batch of %d", len(sigma), b))
	}
	p := float32(c.Dropout)
	drop := func(v *autograd.Var) *autograd.Var {
		if !ctx.Train || p == 0 {
			return v
		}
		return tp.Dropout(v, p, ctx.RNG, true)
	}
	lin := func(v *autograd.Var, l *Linear) *autograd.Var { return l.Forward(ctx, v) }
	ln := func(v *autograd.Var, l *LayerNorm) *autograd.Var { return l.Forward(ctx, v) }

	h := drop(tp.Scale(lin(x, m.embed), float32(math.Sqrt(float64(d)))))
	h = tp.Add(h, autograd.Const(m.pe))
	temb := autograd.Const(TimestepEmbedding(sigma, d))
	temb = lin(tp.LinearAct(temb, m.time0.Weight, m.time0.Bias, tensor.ActSiLU), m.time1)
	h = tp.Add(h, tp.Reshape(temb, b, 1, d))

	outs := make([]*autograd.Var, 0, len(m.blocks))
	for _, blk := range m.blocks {
		h = tp.Add(h, drop(blk.attn.Forward(ctx, ln(h, blk.ln1), mask)))
		f := drop(linearAct(tp, ln(h, blk.ln2), blk.ff1, tensor.ActReLU))
		h = tp.Add(h, drop(lin(f, blk.ff2)))
		outs = append(outs, ln(h, blk.lnOut))
	}
	r := outs[0]
	if len(outs) > 1 {
		r = tp.Concat(-1, outs...)
	}
	for i, l := range m.read {
		act := tensor.ActELU
		if i == len(m.read)-1 {
			act = tensor.ActNone
		}
		r = linearAct(tp, r, l, act)
	}
	return r
}
