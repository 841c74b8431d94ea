package bo

import (
	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/tensor"
)

type tensorRNG = tensor.RNG

func newTestRNG(seed uint64) *tensor.RNG { return tensor.NewRNG(seed) }

func autogradConst(t *tensor.Tensor) *autograd.Var { return autograd.Const(t) }
