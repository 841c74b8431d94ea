package bo

import (
	"context"
	"fmt"
	"math"

	"github.com/nagml/nag/nag/diffusion"
	"github.com/nagml/nag/nag/nb201"
	"github.com/nagml/nag/sde"
	"github.com/nagml/nag/tensor"
)

// DiffusionGen is DiffusionNAG as the acquisition optimiser: it samples the
// candidate pool from the score network with the acquisition as the guide,
//
//	S(x, t) = score(x, σ(t)) + w·∇x acq(μ(x, σ(t)), σ_ens(x, σ(t))),
//
// where μ and σ_ens are the mean and spread of the noise-aware GNN ensemble
// (the surrogate must be a *GNNEnsemble) and the gradient goes through the
// whole ensemble (GNNEnsemble.AcqGrad). With Ratio set, w is per sample
// Scale·‖score‖/‖∇acq‖ (the reference MobileNetV3 sampler's weight_ratio
// option), which keeps the guidance commensurate with the score across noise
// levels and surrogate refits; otherwise w = Scale.
//
// Inside BO the sampler runs Steps predictor-corrector steps (default 100
// instead of the reference's 1000) to fit the time budget, and by default the
// acquisition gradient is computed once per timestep (at the corrector call)
// and reused for the predictor call of the same timestep (EveryCall false),
// which halves the surrogate's share of the sampling cost.
//
// Decode turns the final samples into architectures: "threshold" is the
// reference (element-wise threshold at 0.5, invalid samples dropped),
// "argmax" takes the largest entry of each row (still dropping rows that pick
// the input or output type), and "project" (the default) takes, for the six
// operation rows, the largest of the five operation entries, so every sample
// becomes a cell. The validity under the reference threshold rule is counted
// either way (Validity).
//
// LocalFrac (an extension, 0 = off, the method as published) draws that
// fraction of the pool not from the prior but from the Top best evaluated
// architectures perturbed to time LocalStart (SDEdit starts,
// diffusion.SampleOptions.Init): the same guided reverse SDE then proposes
// neighbours of the incumbents, diffusion's counterpart of BANANAS'
// mutations.
type DiffusionGen[A Arch] struct {
	Space      Space[A]         `json:"-"`
	Model      *diffusion.Model `json:"-"`
	Pool       int              `json:"pool"`
	Steps      int              `json:"steps"`
	Scale      float64          `json:"scale"`
	Ratio      bool             `json:"ratio"`
	EveryCall  bool             `json:"every_call,omitempty"`
	Decode     string           `json:"decode"`
	LocalFrac  float64          `json:"local_frac,omitempty"`
	LocalStart float64          `json:"local_start,omitempty"`
	LocalTop   int              `json:"local_top,omitempty"`

	samples, valid int
}

// Decoders accepted by DiffusionGen.Decode.
const (
	DecodeThreshold = "threshold"
	DecodeArgmax    = "argmax"
	DecodeProject   = "project"
)

// Name implements Generator.
func (*DiffusionGen[A]) Name() string { return "diffusion" }

// Validity is the fraction of generated samples that decoded to a valid
// architecture so far.
func (g *DiffusionGen[A]) Validity() float64 {
	if g.samples == 0 {
		return math.NaN()
	}
	return float64(g.valid) / float64(g.samples)
}

// Generate implements Generator.
func (g *DiffusionGen[A]) Generate(ctx context.Context, req GenRequest[A], rng *tensor.RNG) ([]A, error) {
	ens, ok := req.Surrogate.(*GNNEnsemble[A])
	if !ok {
		return nil, fmt.Errorf("diffusion generator needs the GNN ensemble surrogate, got %T", req.Surrogate)
	}
	if g.Model == nil {
		return nil, fmt.Errorf("diffusion generator: no score network")
	}
	bestZ := ens.Standardised(req.Best)
	eps := make([]float64, g.Pool)
	for i := range eps {
		eps[i] = rng.Norm()
	}
	acq := req.Acq
	// guideFrom guides a run whose row i is pool slot off+i.
	guideFrom := func(off int) func(score sde.ScoreFn) sde.ScoreFn {
		partials := func(i int, mu, sd float64) (float64, float64) {
			return acq.Partials(mu, sd, bestZ, eps[(off+i)%len(eps)])
		}
		return func(score sde.ScoreFn) sde.ScoreFn {
			return g.guided(score, ens, partials)
		}
	}
	nLocal := 0
	var parents []A
	if g.LocalFrac > 0 {
		parents = req.History.Top(max(g.LocalTop, 1))
		if len(parents) > 0 {
			nLocal = min(g.Pool, int(math.Round(g.LocalFrac*float64(g.Pool))))
		}
	}
	var runs []*diffusion.Samples
	if n := g.Pool - nLocal; n > 0 {
		res, err := g.Model.Sample(ctx, diffusion.SampleOptions{N: n, Batch: n, Steps: g.Steps, Seed: rng.Uint64(), Guide: guideFrom(0)})
		if err != nil {
			return nil, fmt.Errorf("guided sampling: %w", err)
		}
		runs = append(runs, res)
	}
	if nLocal > 0 {
		starts := make([]A, nLocal)
		for i := range starts {
			starts[i] = parents[i%len(parents)]
		}
		res, err := g.Model.Sample(ctx, diffusion.SampleOptions{N: nLocal, Batch: nLocal, Steps: g.Steps, Seed: rng.Uint64(),
			Guide: guideFrom(g.Pool - nLocal), Init: g.Space.OneHot(starts), Start: g.LocalStart})
		if err != nil {
			return nil, fmt.Errorf("guided sampling from the incumbents: %w", err)
		}
		runs = append(runs, res)
	}
	var out []A
	for _, res := range runs {
		archs, err := g.decode(res)
		if err != nil {
			return nil, err
		}
		out = append(out, archs...)
	}
	return out, nil
}

// guided wraps score with the acquisition gradient through the ensemble.
func (g *DiffusionGen[A]) guided(score sde.ScoreFn, ens *GNNEnsemble[A], partials func(i int, mu, sd float64) (float64, float64)) sde.ScoreFn {
	lastT := math.NaN()
	var lastG *tensor.Tensor
	return func(x *tensor.Tensor, t float64, cond []float32) (*tensor.Tensor, error) {
		s, err := score(x, t, cond)
		if err != nil {
			return nil, err
		}
		if g.Scale == 0 {
			return s, nil
		}
		gr := lastG
		if g.EveryCall || t != lastT || gr == nil || gr.Dim(0) != x.Dim(0) {
			if gr, err = ens.AcqGrad(x, cond, partials); err != nil {
				return nil, err
			}
			lastT, lastG = t, gr
		}
		return addGuidance(s, gr, g.Scale, g.Ratio), nil
	}
}

// decode turns one sampler run into architectures with the chosen decoder
// and counts its validity.
func (g *DiffusionGen[A]) decode(res *diffusion.Samples) ([]A, error) {
	out := make([]A, 0, len(res.Archs))
	for i := range res.Archs {
		g.samples++
		if res.Valid[i] {
			g.valid++
		}
	}
	switch g.Decode {
	case DecodeThreshold:
		for i, s := range res.Archs {
			if !res.Valid[i] {
				continue
			}
			a, err := g.Space.Parse(s)
			if err != nil {
				return nil, fmt.Errorf("guided sampling decoded %q: %w", s, err)
			}
			out = append(out, a)
		}
	case DecodeArgmax:
		archs, errs, err := g.Space.DecodeArgmax(res.X)
		if err != nil {
			return nil, fmt.Errorf("guided sampling: %w", err)
		}
		for i, a := range archs {
			if errs[i] == nil {
				out = append(out, a)
			}
		}
	case DecodeProject, "":
		out = append(out, g.Space.Project(res.X)...)
	default:
		return nil, fmt.Errorf("unknown decoder %q (want threshold, argmax or project)", g.Decode)
	}
	return out, nil
}

// projectBatch maps samples [B, 8, 7] (data space) to cells: row k (1..6)
// becomes the operation whose node type has the largest entry in that row.
func projectBatch(x *tensor.Tensor) []nb201.Arch {
	d := x.Contiguous().Data()
	per := nb201.NumNodes * nb201.NumTypes
	out := make([]nb201.Arch, x.Dim(0))
	for i := range out {
		for e := 0; e < nb201.NumEdges; e++ {
			row := d[i*per+(e+1)*nb201.NumTypes : i*per+(e+2)*nb201.NumTypes]
			best := nb201.Op(0)
			for o := nb201.Op(1); o < nb201.NumOps; o++ {
				if row[o.Type()] > row[best.Type()] {
					best = o
				}
			}
			out[i][e] = best
		}
	}
	return out
}

// addGuidance returns s + w·gr with w = scale, or per sample
// scale·‖s_i‖/‖gr_i‖ when ratio is set (0 where the gradient vanishes).
func addGuidance(s, gr *tensor.Tensor, scale float64, ratio bool) *tensor.Tensor {
	out := s.Contiguous().Clone()
	od, gd := out.Data(), gr.Data()
	b := out.Dim(0)
	per := len(od) / b
	for i := 0; i < b; i++ {
		row, grow := od[i*per:(i+1)*per], gd[i*per:(i+1)*per]
		w := scale
		if ratio {
			var ns, ng float64
			for k := range row {
				ns += float64(row[k]) * float64(row[k])
				ng += float64(grow[k]) * float64(grow[k])
			}
			if ng == 0 {
				continue
			}
			w = scale * math.Sqrt(ns/ng)
		}
		for k := range row {
			row[k] += float32(w) * grow[k]
		}
	}
	return out
}
