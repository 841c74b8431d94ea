package gnn

import (
	"fmt"
	"math"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/tensor"
)

// MAB is the multi-head attention block of the Set Transformer as MetaD2A
// modified it (reference §5.2): no LayerNorm, a residual on the projected
// queries, and the softmax scaled by the full width, not the head width:
//
//	Q' = fc_q(Q); K' = fc_k(K); V' = fc_v(K)   (heads = contiguous feature chunks)
//	O  = concat_h(Q'_h + softmax(Q'_h K'_hᵀ / sqrt(dim)) V'_h)
//	O  = O + ReLU(fc_o(O))
type MAB struct {
	Q, K, V, O *Linear
	Heads, Dim int
}

// NewMAB returns a MAB mapping queries of width dimQ and keys of width dimK
// to width dim with the given number of heads (dim must divide evenly).
func NewMAB(name string, dimQ, dimK, dim, heads int, rng *tensor.RNG) *MAB {
	if heads <= 0 || dim%heads != 0 {
		panic(fmt.Sprintf("gnn: MAB %q: dim %d not divisible by %d heads", name, dim, heads))
	}
	return &MAB{
		Q:     NewLinear(JoinName(name, "fc_q"), dimQ, dim, true, rng),
		K:     NewLinear(JoinName(name, "fc_k"), dimK, dim, true, rng),
		V:     NewLinear(JoinName(name, "fc_v"), dimK, dim, true, rng),
		O:     NewLinear(JoinName(name, "fc_o"), dim, dim, true, rng),
		Heads: heads, Dim: dim,
	}
}

// Params implements Module.
func (m *MAB) Params() []*autograd.Var { return CollectParams(m.Q, m.K, m.V, m.O) }

// Forward maps queries q [B, nq, dimQ] and keys k [B, nk, dimK] to [B, nq, dim].
func (m *MAB) Forward(c Ctx, q, k *autograd.Var) *autograd.Var {
	tp := c.Tape
	b, nq, nk := q.Value.Dim(0), q.Value.Dim(1), k.Value.Dim(1)
	h, dh := m.Heads, m.Dim/m.Heads
	qp := m.Q.Forward(c, q)
	kp := m.K.Forward(c, k)
	vp := m.V.Forward(c, k)
	split := func(x *autograd.Var, n int) *autograd.Var {
		return tp.Permute(tp.Reshape(x, b, n, h, dh), 0, 2, 1, 3) // [B, H, n, dh]
	}
	qh, kh, vh := split(qp, nq), split(kp, nk), split(vp, nk)
	scores := tp.Scale(tp.MatMulT(qh, kh, false, true), float32(1/math.Sqrt(float64(m.Dim))))
	att := tp.Softmax(scores, -1)
	o := tp.Add(qh, tp.MatMul(att, vh))                     // [B, H, nq, dh]
	o = tp.Reshape(tp.Permute(o, 0, 2, 1, 3), b, nq, m.Dim) // [B, nq, dim]
	return tp.Add(o, tp.ReLU(m.O.Forward(c, o)))
}

// SetPool is MetaD2A's set encoder (mode "sabPF"): two self-attention
// blocks, pooling by multi-head attention with one learned seed, and a final
// linear layer. It maps a batch of sets [B, n, dimIn] to vectors [B, dim].
type SetPool struct {
	SAB1, SAB2, PMA *MAB
	Seed            *autograd.Var // [1, 1, dim]
	Out             *Linear
	Dim             int
}

// NewSetPool returns a SetPool with 4 heads as in the reference.
func NewSetPool(name string, dimIn, dim, heads int, rng *tensor.RNG) *SetPool {
	s := &SetPool{
		SAB1: NewMAB(JoinName(name, "enc.0"), dimIn, dimIn, dim, heads, rng),
		SAB2: NewMAB(JoinName(name, "enc.1"), dim, dim, dim, heads, rng),
		PMA:  NewMAB(JoinName(name, "dec.0.mab"), dim, dim, dim, heads, rng),
		Dim:  dim,
	}
	seed := tensor.Zeros(1, 1, dim)
	XavierUniform(rng, seed, dim, dim)
	s.Seed = autograd.Param(JoinName(name, "dec.0.S"), seed)
	s.Out = NewLinear(JoinName(name, "dec.1"), dim, dim, true, rng)
	return s
}

// Params implements Module.
func (s *SetPool) Params() []*autograd.Var {
	return append(CollectParams(s.SAB1, s.SAB2, s.PMA), append([]*autograd.Var{s.Seed}, s.Out.Params()...)...)
}

// Forward pools x [B, n, dimIn] into [B, dim].
func (s *SetPool) Forward(c Ctx, x *autograd.Var) *autograd.Var {
	tp := c.Tape
	b := x.Value.Dim(0)
	h1 := s.SAB1.Forward(c, x, x)
	h2 := s.SAB2.Forward(c, h1, h1)
	seeds := tp.Add(autograd.Const(tensor.Zeros(b, 1, s.Dim)), s.Seed) // [B, 1, dim]
	p := s.PMA.Forward(c, seeds, h2)                                   // [B, 1, dim]
	return tp.Reshape(s.Out.Forward(c, p), b, s.Dim)
}

// SetEncoder maps a dataset given as per-class sample features
// [classes, samples, featDim] to one vector [dim]: a SetPool over the
// samples of each class gives one prototype per class, and a second SetPool
// over the prototypes gives the dataset vector (reference §5.2).
type SetEncoder struct {
	Intra, Inter *SetPool
	FeatDim, Dim int
}

// NewSetEncoder returns a set encoder for featDim-wide sample features.
func NewSetEncoder(name string, featDim, dim, heads int, rng *tensor.RNG) *SetEncoder {
	return &SetEncoder{
		Intra:   NewSetPool(JoinName(name, "intra_setpool"), featDim, dim, heads, rng),
		Inter:   NewSetPool(JoinName(name, "inter_setpool"), dim, dim, heads, rng),
		FeatDim: featDim, Dim: dim,
	}
}

// Params implements Module.
func (e *SetEncoder) Params() []*autograd.Var { return CollectParams(e.Intra, e.Inter) }

// Forward encodes feats [C, S, featDim] into [dim].
func (e *SetEncoder) Forward(c Ctx, feats *autograd.Var) *autograd.Var {
	if feats.Value.Rank() != 3 || feats.Value.Dim(2) != e.FeatDim {
		panic(fmt.Sprintf("gnn: SetEncoder expects [classes, samples, %d], got %v", e.FeatDim, feats.Shape()))
	}
	protos := e.Intra.Forward(c, feats) // [C, dim]
	nc := protos.Value.Dim(0)
	d := e.Inter.Forward(c, c.Tape.Reshape(protos, 1, nc, e.Dim)) // [1, dim]
	return c.Tape.Reshape(d, e.Dim)
}
