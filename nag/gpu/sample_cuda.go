//go:build cuda

package gpu

import (
	"fmt"

	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/kernels"
	"github.com/nagml/nag/sde"
	"github.com/nagml/nag/tensor"
)

// Scorer serves sde.ScoreFn evaluations of a score network (and optionally
// predictor guidance) from a device. It keeps one device runner per batch
// size it has seen (a sampling run's last batch may be smaller). Not safe for
// concurrent use.
type Scorer struct {
	dev   *kernels.Device
	net   *gnn.CATE
	mask  *tensor.Tensor
	nets  map[int]*CATE
	pred  *gnn.Predictor
	ds    *tensor.Tensor
	fwd   *tensor.Tensor
	bwd   *tensor.Tensor
	preds map[int]*Predictor
	out   map[int]*tensor.Tensor
}

// NewScorer returns a scorer for net with the attention mask [N, N].
func NewScorer(dev *kernels.Device, net *gnn.CATE, mask *tensor.Tensor) *Scorer {
	return &Scorer{dev: dev, net: net, mask: mask, nets: map[int]*CATE{}, preds: map[int]*Predictor{}, out: map[int]*tensor.Tensor{}}
}

// SetPredictor enables guidance by the meta-predictor p with dataset vector
// ds [NZ] and the normalised adjacencies fwd, bwd [N, N] of its GCN.
func (s *Scorer) SetPredictor(p *gnn.Predictor, ds, fwd, bwd *tensor.Tensor) {
	s.pred, s.ds, s.fwd, s.bwd = p, ds, fwd, bwd
	for _, r := range s.preds {
		r.Free()
	}
	s.preds = map[int]*Predictor{}
}

// Free releases every device runner.
func (s *Scorer) Free() {
	for _, r := range s.nets {
		r.Free()
	}
	for _, r := range s.preds {
		r.Free()
	}
	s.nets, s.preds = map[int]*CATE{}, map[int]*Predictor{}
}

func (s *Scorer) runner(b int) (*CATE, error) {
	if r, ok := s.nets[b]; ok {
		return r, nil
	}
	r, err := NewCATE(s.dev, s.net, b, false)
	if err != nil {
		return nil, err
	}
	if err := r.SetMask(s.mask); err != nil {
		r.Free()
		return nil, err
	}
	s.nets[b] = r
	return r, nil
}

func (s *Scorer) predictor(b int) (*Predictor, error) {
	if r, ok := s.preds[b]; ok {
		return r, nil
	}
	r, err := NewPredictor(s.dev, s.pred, s.ds, s.fwd, s.bwd, b)
	if err != nil {
		return nil, err
	}
	s.preds[b] = r
	return r, nil
}

// ScoreFn returns the unguided score hook.
func (s *Scorer) ScoreFn() sde.ScoreFn { return s.Guided(0, nil) }

// Guided returns the hook score + w(t)·∂(Σ ŷ)/∂x with w(t) = scale ·
// schedule(t) (nil schedule: constant), computed on the device: one upload
// of x per network, the launches, one download of the guided score. With a
// zero weight or no predictor it is the plain score.
func (s *Scorer) Guided(scale float64, schedule func(t float64) float64) sde.ScoreFn {
	return func(x *tensor.Tensor, t float64, cond []float32) (*tensor.Tensor, error) {
		sh := x.Shape()
		if len(sh) != 3 {
			return nil, fmt.Errorf("gpu: score input shape %v, want [B N V]", sh)
		}
		b := sh[0]
		r, err := s.runner(b)
		if err != nil {
			return nil, err
		}
		xd := x.Contiguous().Data()
		sc, err := r.ScoreDevice(xd, cond)
		if err != nil {
			return nil, err
		}
		w := scale
		if schedule != nil {
			w *= schedule(t)
		}
		if w != 0 && s.pred != nil {
			p, err := s.predictor(b)
			if err != nil {
				return nil, err
			}
			g, err := p.InputGradDevice(xd, cond)
			if err != nil {
				return nil, err
			}
			if err := s.dev.Axpby(float32(w), g, 1, sc, sc); err != nil {
				return nil, err
			}
		}
		out, ok := s.out[b]
		if !ok {
			out = tensor.Zeros(sh...)
			s.out[b] = out
		}
		if err := sc.CopyTo(out.Data()); err != nil {
			return nil, err
		}
		return out, nil
	}
}

// tembCache uploads the sinusoidal time embedding [B, d] of sigma into dst,
// skipping the work when sigma equals the previous call's (the corrector and
// predictor of a PC step share one time) and computing a single row when
// every sample has the same time (sampling).
type tembCache struct {
	last []float32
	host []float32
}

func (c *tembCache) upload(dst *dt, sigma []float32, d int) error {
	if c.last != nil && len(c.last) == len(sigma) {
		same := true
		for i, s := range sigma {
			if s != c.last[i] {
				same = false
				break
			}
		}
		if same {
			return nil
		}
	}
	uniform := true
	for _, s := range sigma[1:] {
		if s != sigma[0] {
			uniform = false
			break
		}
	}
	if len(c.host) != len(sigma)*d {
		c.host = make([]float32, len(sigma)*d)
	}
	if uniform {
		row := gnn.TimestepEmbedding(sigma[:1], d).Data()
		for i := range sigma {
			copy(c.host[i*d:(i+1)*d], row)
		}
	} else {
		copy(c.host, gnn.TimestepEmbedding(sigma, d).Data())
	}
	if err := dst.CopyFrom(c.host); err != nil {
		c.last = nil
		return err
	}
	c.last = append(c.last[:0], sigma...)
	return nil
}
