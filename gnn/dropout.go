package gnn

import (
	"fmt"

	"github.com/nagml/nag/autograd"
)

// Dropout zeroes elements with probability P and scales the survivors by
// 1/(1−P) in training mode (Ctx.Train), drawing from Ctx.RNG; in eval mode
// it is the identity.
type Dropout struct {
	P float32
}

// NewDropout returns a Dropout with probability p in [0, 1).
func NewDropout(p float32) *Dropout {
	if p < 0 || p >= 1 {
		panic(fmt.Sprintf("gnn: dropout probability %g outside [0, 1)", p))
	}
	return &Dropout{P: p}
}

// Params implements Module (dropout has none).
func (d *Dropout) Params() []*autograd.Var { return nil }

// Forward applies dropout to x.
func (d *Dropout) Forward(c Ctx, x *autograd.Var) *autograd.Var {
	if !c.Train || d.P == 0 {
		return x
	}
	if c.RNG == nil {
		panic("gnn: Dropout in training mode needs Ctx.RNG")
	}
	return c.Tape.Dropout(x, d.P, c.RNG, true)
}
