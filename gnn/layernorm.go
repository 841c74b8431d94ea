package gnn

import (
	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/tensor"
)

// DefaultNormEps is PyTorch's default epsilon for LayerNorm and GroupNorm.
const DefaultNormEps = 1e-5

// LayerNorm normalises over the last axis of width D with a learned affine
// (weight initialised to 1, bias to 0), as torch.nn.LayerNorm.
type LayerNorm struct {
	// Weight (gamma) and Bias (beta) are [D].
	Weight, Bias *autograd.Var
	Eps          float32
}

// NewLayerNorm returns a LayerNorm named name over width d with eps 1e-5.
func NewLayerNorm(name string, d int) *LayerNorm {
	return &LayerNorm{
		Weight: autograd.Param(JoinName(name, "weight"), tensor.Full(1, d)),
		Bias:   autograd.Param(JoinName(name, "bias"), tensor.Zeros(d)),
		Eps:    DefaultNormEps,
	}
}

// Params implements Module.
func (l *LayerNorm) Params() []*autograd.Var { return []*autograd.Var{l.Weight, l.Bias} }

// Forward normalises x [..., D].
func (l *LayerNorm) Forward(c Ctx, x *autograd.Var) *autograd.Var {
	return c.Tape.LayerNorm(x, l.Weight, l.Bias, l.Eps)
}
