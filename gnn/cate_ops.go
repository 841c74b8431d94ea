package gnn

import (
	"math"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/tensor"
)

// eluFast is ELU with α = 1, y = x (x > 0) or e^x − 1, with a float32
// exponential (|relative error| < 2e-7 for e^x): the readout MLP applies it
// to every hidden unit of every node row at every sampler step, and the
// float64 math.Expm1 path costs more than the readout's GEMMs there. The
// gradient is 1 (x > 0) or y + 1.
func eluFast(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	xv := x.Value.Contiguous()
	out := tensor.Zeros(xv.Shape()...)
	xd, od := xv.Data(), out.Data()
	for i, v := range xd {
		if v > 0 {
			od[i] = v
		} else {
			od[i] = expf(v) - 1
		}
	}
	return tp.Record(out, func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		if !needs[0] {
			return []*tensor.Tensor{nil}
		}
		gi := tensor.Zeros(out.Shape()...)
		gd, gg := gi.Data(), g.Contiguous().Data()
		for i, v := range xd {
			if v > 0 {
				gd[i] = gg[i]
			} else {
				gd[i] = gg[i] * (od[i] + 1)
			}
		}
		return []*tensor.Tensor{gi}
	}, x)
}

// expf is e^x in float32 arithmetic for -87 <= x <= 0 (ELU's negative
// branch): x = n·ln2 + r with |r| <= ln2/2, e^r by a degree-7 Taylor
// polynomial, scaled by 2^n through the exponent bits. Below -87 it
// returns 0; it must not be called with x > 0.
func expf(x float32) float32 {
	if x < -87 {
		return 0
	}
	const ln2hi, ln2lo, log2e = 0.693359375, -2.12194440e-4, 1.44269504088896341
	ni := int32(x*log2e - 0.5) // round to nearest for x <= 0
	n := float32(ni)
	r := x - n*ln2hi - n*ln2lo
	p := 1 + r*(1+r*(0.5+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720+r*(1.0/5040)))))))
	return p * math.Float32frombits(uint32(ni+127)<<23)
}
