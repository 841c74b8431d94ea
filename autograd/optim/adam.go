package optim

import (
	"fmt"
	"math"
	"runtime"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/internal/par"
	"github.com/nagml/nag/tensor"
)

// Adam is the Adam optimiser of torch.optim.Adam (amsgrad off): with
// g = grad + wd*p,
//
//	m = m + (1-b1)*(g - m)        (torch's lerp)
//	v = b2*v + (1-b2)*g*g
//	p = p - lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
//
// where t counts the steps taken including this one. A parameter without a
// gradient is skipped (its moments stay); unlike torch, which counts steps
// per parameter, the bias correction uses the optimiser's single step count.
// In DiffusionNAG every parameter gets a gradient on every step, so the two
// agree.
type Adam struct {
	// Beta1, Beta2, Eps and WeightDecay are as in Config.
	Beta1, Beta2, Eps, WeightDecay float64

	params []*autograd.Var
	m, v   []*tensor.Tensor
	steps  int64
}

// NewAdam returns an Adam optimiser over params (which must have unique,
// non-empty names) with zero moments.
func NewAdam(params []*autograd.Var, beta1, beta2, eps, weightDecay float64) (*Adam, error) {
	if err := checkParams(params); err != nil {
		return nil, err
	}
	cfg := Config{Beta1: beta1, Beta2: beta2, Eps: eps, WeightDecay: weightDecay}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &Adam{Beta1: beta1, Beta2: beta2, Eps: eps, WeightDecay: weightDecay, params: params}
	for _, p := range params {
		a.m = append(a.m, tensor.Zeros(p.Shape()...))
		a.v = append(a.v, tensor.Zeros(p.Shape()...))
	}
	return a, nil
}

// Steps is the number of steps taken.
func (a *Adam) Steps() int64 { return a.steps }

// Params returns the parameters the optimiser updates.
func (a *Adam) Params() []*autograd.Var { return a.params }

// Step applies one Adam update with learning rate lr. It does not check the
// gradients for NaN/Inf; Optimizer.Step does (through ClipGradNorm).
func (a *Adam) Step(lr float64) error { return a.step(lr, nil) }

// StepEMA applies one Adam update with learning rate lr and then updates
// ema (which must track the same parameters), in one sweep over each
// parameter's memory. A nil ema is a plain Step.
func (a *Adam) StepEMA(lr float64, ema *EMA) error { return a.step(lr, ema) }

func (a *Adam) step(lr float64, ema *EMA) error {
	if !(lr >= 0) || math.IsInf(lr, 0) {
		return fmt.Errorf("optim: learning rate %v must be finite and >= 0", lr)
	}
	if ema != nil {
		if ema.swapped {
			return fmt.Errorf("optim: step while the EMA weights are swapped in; swap them back first")
		}
		if !sameParams(a.params, ema.params) {
			return fmt.Errorf("optim: the EMA tracks different parameters than the optimiser")
		}
	}
	grads := make([][]float32, len(a.params))
	for i, p := range a.params {
		g, err := gradData(p)
		if err != nil {
			return err
		}
		grads[i] = g
	}
	a.steps++
	t := float64(a.steps)
	bc1 := 1 - math.Pow(a.Beta1, t)
	bc2 := 1 - math.Pow(a.Beta2, t)
	stepSize := float32(lr / bc1)
	bc2Sqrt := float32(math.Sqrt(bc2))
	w1 := float32(1 - a.Beta1)
	b2 := float32(a.Beta2)
	w2 := float32(1 - a.Beta2)
	eps := float32(a.Eps)
	wd := float32(a.WeightDecay)
	var emaRate float32
	if ema != nil {
		emaRate = float32(1 - ema.nextDecay())
		ema.updates++
	}
	k := adamConsts{w1: w1, b2: b2, w2: w2, eps: eps, wd: wd, stepSize: stepSize, bc2Sqrt: bc2Sqrt, emaRate: emaRate}
	// The update is element-wise, so splitting it into chunks across
	// goroutines gives bit-identical results to one sweep.
	var chunks []sweepChunk
	for i, par := range a.params {
		n := par.Value.Len()
		for lo := 0; lo < n; lo += sweepChunkLen {
			chunks = append(chunks, sweepChunk{i, lo, min(lo+sweepChunkLen, n)})
		}
	}
	parallelChunks(chunks, func(c sweepChunk) {
		i := c.param
		p := a.params[i].Value.Data()[c.lo:c.hi]
		var s []float32
		if ema != nil {
			s = ema.shadow[i].Data()[c.lo:c.hi]
		}
		g := grads[i]
		if g == nil {
			// No gradient: Adam leaves the parameter; the EMA still moves
			// toward it, as the reference's EMA update does.
			if ema != nil {
				emaSweep(s, p, emaRate)
			}
			return
		}
		adamSweep(p, g[c.lo:c.hi], a.m[i].Data()[c.lo:c.hi], a.v[i].Data()[c.lo:c.hi], s, &k)
	})
	return nil
}

// adamConsts holds the per-step scalars of the fused Adam (+EMA) sweep.
type adamConsts struct {
	w1, b2, w2, eps, wd, stepSize, bc2Sqrt, emaRate float32
}

// adamSweep applies the Adam update to p (len n) from gradient g with
// moments m, v, and, when s is not nil, moves the EMA shadow s toward the
// new p, in one pass.
func adamSweep(p, g, m, v, s []float32, k *adamConsts) {
	n := len(p)
	g, m, v = g[:n], m[:n], v[:n]
	w1, b2, w2, eps, wd, stepSize, bc2Sqrt := k.w1, k.b2, k.w2, k.eps, k.wd, k.stepSize, k.bc2Sqrt
	if s == nil {
		for j := range p {
			gj := g[j]
			if wd != 0 {
				gj += wd * p[j]
			}
			mj := m[j] + w1*(gj-m[j])
			vj := v[j]*b2 + w2*gj*gj
			m[j], v[j] = mj, vj
			p[j] -= stepSize * (mj / (float32(math.Sqrt(float64(vj)))/bc2Sqrt + eps))
		}
		return
	}
	s = s[:n]
	emaRate := k.emaRate
	for j := range p {
		gj := g[j]
		if wd != 0 {
			gj += wd * p[j]
		}
		mj := m[j] + w1*(gj-m[j])
		vj := v[j]*b2 + w2*gj*gj
		m[j], v[j] = mj, vj
		pj := p[j] - stepSize*(mj/(float32(math.Sqrt(float64(vj)))/bc2Sqrt+eps))
		p[j] = pj
		s[j] -= emaRate * (s[j] - pj)
	}
}

// sweepChunkLen is the number of elements of one parameter a worker
// updates at a time (large enough to amortise scheduling, small enough to
// balance a few big weight matrices across cores).
const sweepChunkLen = 1 << 15

// sweepChunk is the element range [lo, hi) of parameter param.
type sweepChunk struct{ param, lo, hi int }

// parallelChunks runs f on every chunk on the engine's helper pool
// (internal/par; the caller included), chunks taken in order from a shared
// counter. Small workloads (under two chunks' worth of elements) run on
// the caller alone.
func parallelChunks(chunks []sweepChunk, f func(sweepChunk)) {
	total := 0
	for _, c := range chunks {
		total += c.hi - c.lo
	}
	workers := min(runtime.GOMAXPROCS(0), len(chunks), total/sweepChunkLen)
	if workers <= 1 {
		for _, c := range chunks {
			f(c)
		}
		return
	}
	par.Do(len(chunks), func(i int) { f(chunks[i]) })
}

func sameParams(a, b []*autograd.Var) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
