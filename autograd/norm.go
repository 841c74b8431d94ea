package autograd

import "github.com/nagml/nag/tensor"

// affineInputs returns the inputs list [x, gamma?, beta?] and the positions
// of gamma and beta in it (-1 when absent).
func affineInputs(x, gamma, beta *Var) (inputs []*Var, gi, bi int) {
	inputs = []*Var{x}
	gi, bi = -1, -1
	if gamma != nil {
		gi = len(inputs)
		inputs = append(inputs, gamma)
	}
	if beta != nil {
		bi = len(inputs)
		inputs = append(inputs, beta)
	}
	return inputs, gi, bi
}

func valueOf(v *Var) *tensor.Tensor {
	if v == nil {
		return nil
	}
	return v.Value
}

// LayerNorm normalises x over its last axis and applies the optional affine
// gamma, beta ([D] each, either may be nil); see tensor.LayerNorm. The
// backward is the fused closed form of tensor.LayerNormBackward.
func (tp *Tape) LayerNorm(x, gamma, beta *Var, eps float32) *Var {
	out, mean, rstd := tensor.LayerNorm(x.Value, valueOf(gamma), valueOf(beta), eps)
	inputs, gi, bi := affineInputs(x, gamma, beta)
	return tp.Record(out, func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		wantAffine := (gi >= 0 && needs[gi]) || (bi >= 0 && needs[bi])
		dx, dg, db := tensor.LayerNormBackward(g, x.Value, valueOf(gamma), mean, rstd, wantAffine)
		res := make([]*tensor.Tensor, len(inputs))
		if needs[0] {
			res[0] = dx
		}
		if gi >= 0 && needs[gi] {
			res[gi] = dg.Reshape(gamma.Shape()...)
		}
		if bi >= 0 && needs[bi] {
			res[bi] = db.Reshape(beta.Shape()...)
		}
		return res
	}, inputs...)
}

// GroupNorm normalises x [N, C, ...] over groups of channels and applies the
// optional per-channel affine gamma, beta ([C] each, either may be nil); see
// tensor.GroupNorm.
func (tp *Tape) GroupNorm(x *Var, groups int, gamma, beta *Var, eps float32) *Var {
	out, mean, rstd := tensor.GroupNorm(x.Value, groups, valueOf(gamma), valueOf(beta), eps)
	inputs, gi, bi := affineInputs(x, gamma, beta)
	return tp.Record(out, func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		wantAffine := (gi >= 0 && needs[gi]) || (bi >= 0 && needs[bi])
		dx, dg, db := tensor.GroupNormBackward(g, x.Value, groups, valueOf(gamma), mean, rstd, wantAffine)
		res := make([]*tensor.Tensor, len(inputs))
		if needs[0] {
			res[0] = dx
		}
		if gi >= 0 && needs[gi] {
			res[gi] = dg.Reshape(gamma.Shape()...)
		}
		if bi >= 0 && needs[bi] {
			res[bi] = db.Reshape(beta.Shape()...)
		}
		return res
	}, inputs...)
}
