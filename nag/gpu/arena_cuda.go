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

// gcnStack holds the DiGCN layer buffers of a predictor runner for batches
// of b graphs: the layer inputs and output (hs[0] is the input x [B, N, V],
// hs[i+1] layer i's output [B, N, C]), the input gradients dh[i] (shaped as
// hs[i]) and the per-layer work buffers.
type gcnStack struct {
	hs, dh []*dt
	wk     []*kernels.DiGCNWork
}

// newGCNStack allocates the buffers from a (which keeps the first error).
func newGCNStack(a *arena, b, n, vocab, c, layers int) gcnStack {
	var s gcnStack
	s.hs = []*dt{a.empty(b, n, vocab)}
	in := vocab
	for l := 0; l < layers; l++ {
		s.hs = append(s.hs, a.empty(b, n, c))
		if a.err == nil {
			wk, err := a.dev.NewDiGCNWork(b, n, in, c)
			a.err = err
			if err == nil {
				s.wk = append(s.wk, wk)
			}
		}
		s.dh = append(s.dh, a.empty(b, n, in))
		in = c
	}
	return s
}

// free releases the work buffers (hs and dh belong to the arena).
func (s *gcnStack) free() {
	for _, w := range s.wk {
		w.Free()
	}
	s.wk = nil
}
