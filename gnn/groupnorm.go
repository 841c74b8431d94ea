package gnn

import (
	"fmt"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/tensor"
)

// GroupNorm normalises x [N, C, ...] over groups of channels with a learned
// per-channel affine (weight 1, bias 0 at init), as torch.nn.GroupNorm.
type GroupNorm struct {
	// Weight (gamma) and Bias (beta) are [C].
	Weight, Bias *autograd.Var
	Groups       int
	Eps          float32
}

// NewGroupNorm returns a GroupNorm named name with the given number of
// groups over channels channels (which groups must divide), eps 1e-5.
func NewGroupNorm(name string, groups, channels int) *GroupNorm {
	if groups <= 0 || channels%groups != 0 {
		panic(fmt.Sprintf("gnn: GroupNorm %q: %d groups do not divide %d channels", name, groups, channels))
	}
	return &GroupNorm{
		Weight: autograd.Param(JoinName(name, "weight"), tensor.Full(1, channels)),
		Bias:   autograd.Param(JoinName(name, "bias"), tensor.Zeros(channels)),
		Groups: groups,
		Eps:    DefaultNormEps,
	}
}

// Params implements Module.
func (g *GroupNorm) Params() []*autograd.Var { return []*autograd.Var{g.Weight, g.Bias} }

// Forward normalises x [N, C, ...].
func (g *GroupNorm) Forward(c Ctx, x *autograd.Var) *autograd.Var {
	return c.Tape.GroupNorm(x, g.Groups, g.Weight, g.Bias, g.Eps)
}
