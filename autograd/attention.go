package autograd

import (
	"fmt"

	"github.com/nagml/nag/tensor"
)

// MaskedAttention is fused masked scaled-dot-product attention over q, k, v
// [B, H, N, D] (see tensor.MaskedAttention): mask is a 0/1 tensor per graph
// ([N, N], [B, N, N] or [B, 1, N, N]; nil = no mask), masked scores become
// -1e9 before the softmax. With train set and dropP > 0 the attention
// weights are dropped out (inverted dropout drawn from rng) before they mix
// v. The backward is hand-written and fused (dQ, dK, dV in one pass per
// graph and head); masked scores pass no gradient.
func (tp *Tape) MaskedAttention(q, k, v *Var, mask *tensor.Tensor, scale, dropP float32, rng *tensor.RNG, train bool) *Var {
	s := q.Shape()
	if len(s) != 4 {
		panic(fmt.Sprintf("autograd: MaskedAttention q shape %v, want [B, H, N, D]", s))
	}
	b, h, n := s[0], s[1], s[2]
	var keep *tensor.Tensor
	if train && dropP > 0 {
		if rng == nil {
			panic("autograd: MaskedAttention with dropout in training mode needs an RNG")
		}
		keep = tensor.AttentionDropoutKeep(rng, dropP, b, h, n, n)
	}
	out := tensor.Zeros(s...)
	probs := tensor.Zeros(b, h, n, n)
	tensor.MaskedAttentionInto(out, probs, q.Value, k.Value, v.Value, mask, keep, scale)
	return tp.Record(out, func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		res := make([]*tensor.Tensor, 3)
		for i := range res {
			if needs[i] {
				res[i] = tensor.Zeros(s...)
			}
		}
		tensor.MaskedAttentionBackwardInto(res[0], res[1], res[2], g, q.Value, k.Value, v.Value, mask, probs, keep, scale)
		return res
	}, q, k, v)
}
