//go:build cuda

package kernels

import (
	"fmt"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/tensor"
)

// ParamSet mirrors a model's parameters on the device for a device-resident
// runner (step 1 of the plan in doc.go): values, gradients, Adam moments and
// the EMA shadow each live in one flat buffer in Module.Params order, so a
// whole optimiser step is one AdamEMA launch and per-parameter tensors are
// views (Value(i), Grad(i)).
type ParamSet struct {
	Names   []string
	Shapes  [][]int
	Offsets []int // element offset of parameter i in the flat buffers

	Values, Grads, M, V *DeviceTensor
	Shadow              *DeviceTensor // nil without EMA
	Steps               int64         // Adam steps taken
	EMAUpdates          int64         // EMA updates taken
}

// NewParamSet uploads params (values; gradients and moments zeroed; the EMA
// shadow, when withEMA, starts as a copy of the values as optim.NewEMA does).
func (d *Device) NewParamSet(params []*autograd.Var, withEMA bool) (*ParamSet, error) {
	s := &ParamSet{}
	total := 0
	for _, p := range params {
		s.Names = append(s.Names, p.Name)
		s.Shapes = append(s.Shapes, append([]int(nil), p.Shape()...))
		s.Offsets = append(s.Offsets, total)
		total += p.Value.Len()
	}
	host := make([]float32, total)
	for i, p := range params {
		copy(host[s.Offsets[i]:], p.Value.Contiguous().Data())
	}
	var err error
	fail := func(e error) (*ParamSet, error) { s.Free(); return nil, fmt.Errorf("kernels: parameter set: %w", e) }
	if s.Values, err = d.UploadSlice(host, total); err != nil {
		return fail(err)
	}
	for _, b := range []**DeviceTensor{&s.Grads, &s.M, &s.V} {
		if *b, err = d.Zeros(total); err != nil {
			return fail(err)
		}
	}
	if withEMA {
		if s.Shadow, err = d.UploadSlice(host, total); err != nil {
			return fail(err)
		}
	}
	return s, nil
}

// Len returns the total number of parameter values.
func (s *ParamSet) Len() int { return s.Values.Len() }

func (s *ParamSet) view(buf *DeviceTensor, i int) *DeviceTensor {
	n := 1
	for _, v := range s.Shapes[i] {
		n *= v
	}
	return buf.Rows(s.Offsets[i], s.Offsets[i]+n).Reshape(s.Shapes[i]...)
}

// Value returns parameter i's values as a view into the flat buffer.
func (s *ParamSet) Value(i int) *DeviceTensor { return s.view(s.Values, i) }

// Grad returns parameter i's gradient buffer as a view.
func (s *ParamSet) Grad(i int) *DeviceTensor { return s.view(s.Grads, i) }

// ZeroGrad clears all gradients.
func (s *ParamSet) ZeroGrad() error { return s.Values.dev.Fill(s.Grads, 0) }

// Step applies one fused Adam (+EMA, if the set has a shadow) update with the
// semantics of optim.Adam.StepEMA: ema decay min(emaDecay, (1+n)/(10+n)) for
// update n = 1, 2, ...
func (s *ParamSet) Step(lr, beta1, beta2, eps, wd, emaDecay float64) error {
	s.Steps++
	decay := 0.0
	if s.Shadow != nil {
		n := float64(s.EMAUpdates + 1)
		decay = min(emaDecay, (1+n)/(10+n))
		s.EMAUpdates++
	}
	return s.Values.dev.AdamEMA(s.Values, s.Grads, s.M, s.V, s.Shadow,
		NewAdamStep(lr, beta1, beta2, eps, wd, s.Steps, decay))
}

// CopyTo downloads the values (or, with ema, the EMA shadow) into params,
// which must match the set's names and shapes.
func (s *ParamSet) CopyTo(params []*autograd.Var, ema bool) error {
	if len(params) != len(s.Names) {
		return fmt.Errorf("kernels: parameter set has %d tensors, destination %d", len(s.Names), len(params))
	}
	src := s.Values
	if ema {
		if s.Shadow == nil {
			return fmt.Errorf("kernels: parameter set has no EMA shadow")
		}
		src = s.Shadow
	}
	for i, p := range params {
		if p.Name != s.Names[i] || !tensor.EqualInts(p.Shape(), s.Shapes[i]) {
			return fmt.Errorf("kernels: parameter %d is %q %v, the set has %q %v", i, p.Name, p.Shape(), s.Names[i], s.Shapes[i])
		}
	}
	host := make([]float32, src.Len())
	if err := src.CopyTo(host); err != nil {
		return err
	}
	for i, p := range params {
		d := p.Value.Data()
		copy(d, host[s.Offsets[i]:s.Offsets[i]+len(d)])
	}
	return nil
}

// Free releases the device buffers.
func (s *ParamSet) Free() {
	for _, b := range []*DeviceTensor{s.Values, s.Grads, s.M, s.V, s.Shadow} {
		b.Free()
	}
}
