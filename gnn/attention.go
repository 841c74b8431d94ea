package gnn

import (
	"fmt"
	"math"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/tensor"
)

// MultiHeadAttention is masked multi-head self-attention over the nodes of
// a batch of small graphs, as the reference's MultiHeadAttention: four
// Linear(d_model → d_model) projections (q, k, v, out), Heads heads of
// width d_model/Heads, scores q·kᵀ/√d_head, masked_fill(mask == 0, −1e9),
// softmax over keys, dropout on the attention weights, weights·v, heads
// concatenated and projected by out. The attention core is the fused
// tensor.MaskedAttention kernel working directly on the [B, N, H·D] layout
// of the projections (no permute copies), with a fused backward.
type MultiHeadAttention struct {
	Q, K, V, Out *Linear
	Heads        int
	DModel       int
	// Dropout is the attention-weight dropout probability (training only).
	Dropout float32
}

// NewMultiHeadAttention returns an attention layer named name (children
// name.q, name.k, name.v, name.out, initialised in that order from rng with
// PyTorch's Linear default).
func NewMultiHeadAttention(name string, dModel, heads int, dropout float32, rng *tensor.RNG) *MultiHeadAttention {
	if heads <= 0 || dModel%heads != 0 {
		panic(fmt.Sprintf("gnn: MultiHeadAttention %q: %d heads do not divide d_model %d", name, heads, dModel))
	}
	if dropout < 0 || dropout >= 1 {
		panic(fmt.Sprintf("gnn: MultiHeadAttention %q: dropout %g outside [0, 1)", name, dropout))
	}
	return &MultiHeadAttention{
		Q:       NewLinear(JoinName(name, "q"), dModel, dModel, true, rng),
		K:       NewLinear(JoinName(name, "k"), dModel, dModel, true, rng),
		V:       NewLinear(JoinName(name, "v"), dModel, dModel, true, rng),
		Out:     NewLinear(JoinName(name, "out"), dModel, dModel, true, rng),
		Heads:   heads,
		DModel:  dModel,
		Dropout: dropout,
	}
}

// Params implements Module.
func (m *MultiHeadAttention) Params() []*autograd.Var {
	return CollectParams(m.Q, m.K, m.V, m.Out)
}

// Forward attends over x [B, N, d_model] with a 0/1 mask ([N, N] shared,
// [B, N, N] or [B, 1, N, N] per graph; nil = full attention) where
// mask[i][j] = 0 forbids node i from attending to node j. It returns
// [B, N, d_model].
func (m *MultiHeadAttention) Forward(c Ctx, x *autograd.Var, mask *tensor.Tensor) *autograd.Var {
	if x.Value.Rank() != 3 || x.Value.Dim(2) != m.DModel {
		panic(fmt.Sprintf("gnn: MultiHeadAttention expects [B, N, %d], got %v", m.DModel, x.Shape()))
	}
	q, k, v := m.Q.Forward(c, x), m.K.Forward(c, x), m.V.Forward(c, x)
	dh := m.DModel / m.Heads
	p := float32(0)
	if c.Train {
		p = m.Dropout
	}
	if p > 0 && c.RNG == nil {
		panic("gnn: MultiHeadAttention in training mode with dropout needs Ctx.RNG")
	}
	a := HeadAttention(c.Tape, q, k, v, mask, m.Heads, float32(1/math.Sqrt(float64(dh))), p, c.RNG)
	return m.Out.Forward(c, a)
}

// HeadAttention is the fused multi-head attention core on the projection
// layout: q, k, v are [B, N, H·D] (head h owns columns h·D..h·D+D−1) and
// the result is [B, N, H·D] with the heads concatenated the same way. mask
// is as in MultiHeadAttention.Forward; dropP > 0 applies attention-weight
// dropout drawn from rng. The backward is fused and writes the gradients in
// the same [B, N, H·D] layout.
func HeadAttention(tp *autograd.Tape, q, k, v *autograd.Var, mask *tensor.Tensor, heads int, scale, dropP float32, rng *tensor.RNG) *autograd.Var {
	s := q.Shape()
	if len(s) != 3 || s[2]%heads != 0 || !tensor.EqualInts(k.Shape(), s) || !tensor.EqualInts(v.Shape(), s) {
		panic(fmt.Sprintf("gnn: HeadAttention q %v, k %v, v %v with %d heads", s, k.Shape(), v.Shape(), heads))
	}
	b, n, hd := s[0], s[1], s[2]
	d := hd / heads
	// [B, N, H, D] buffers seen as [B, H, N, D] views.
	view := func(t *tensor.Tensor) *tensor.Tensor { return t.Reshape(b, n, heads, d).Permute(0, 2, 1, 3) }
	var keep *tensor.Tensor
	if dropP > 0 {
		if rng == nil {
			panic("gnn: HeadAttention with dropout needs an RNG")
		}
		keep = tensor.AttentionDropoutKeep(rng, dropP, b, heads, n, n)
	}
	out := tensor.Zeros(b, n, hd)
	probs := tensor.Zeros(b, heads, n, n)
	qv, kv, vv := view(q.Value.Contiguous()), view(k.Value.Contiguous()), view(v.Value.Contiguous())
	tensor.MaskedAttentionInto(view(out), probs, qv, kv, vv, mask, keep, scale)
	return tp.Record(out, func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		res := make([]*tensor.Tensor, 3)
		var dst [3]*tensor.Tensor
		for i := range res {
			if needs[i] {
				res[i] = tensor.Zeros(b, n, hd)
				dst[i] = view(res[i])
			}
		}
		tensor.MaskedAttentionBackwardInto(dst[0], dst[1], dst[2], view(g.Contiguous()), qv, kv, vv, mask, probs, keep, scale)
		return res
	}, q, k, v)
}
