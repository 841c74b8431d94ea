//go:build cuda

package gpu

import (
	"github.com/nagml/nag/kernels"
	"github.com/nagml/nag/tensor"
)

// arena allocates the device buffers of a runner, keeps the first error
// (later calls return nil and do nothing) and frees everything at once.
type arena struct {
	dev  *kernels.Device
	err  error
	bufs []*dt
}

func (a *arena) keep(t *dt, err error) *dt {
	if err != nil {
		a.err = err
		return nil
	}
	a.bufs = append(a.bufs, t)
	return t
}

// empty allocates an uninitialised buffer.
func (a *arena) empty(shape ...int) *dt {
	if a.err != nil {
		return nil
	}
	return a.keep(a.dev.Empty(shape...))
}

// upload copies a host tensor into a new buffer.
func (a *arena) upload(t *tensor.Tensor) *dt {
	if a.err != nil {
		return nil
	}
	return a.keep(a.dev.Upload(t))
}

// perLayer allocates n buffers of one shape.
func (a *arena) perLayer(n int, shape ...int) []*dt {
	out := make([]*dt, n)
	for i := range out {
		out[i] = a.empty(shape...)
	}
	return out
}

// free releases every buffer.
func (a *arena) free() {
	for _, t := range a.bufs {
		t.Free()
	}
	a.bufs = nil
}

// ones returns a host tensor of n ones (the broadcasting operand of the
// K = 1 GEMMs).
func ones(n int) *tensor.Tensor { return tensor.Full(1, n) }
