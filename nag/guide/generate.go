package guide

import (
	"context"
	"fmt"
	"sort"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/nag/nb201"
	"github.com/nagml/nag/nag/predictor"
	"github.com/nagml/nag/sde"
	"github.com/nagml/nag/tensor"
)

// Options configures Generate. Zero values take the reference defaults
// (except ScaleStep).
type Options struct {
	// Scale is the guidance scale of the first round (reference 10000; 0 is
	// allowed only with NoGuidance).
	Scale float64
	// ScaleStep is subtracted from the scale after every round (the
	// reference uses 300; 0 keeps the scale constant). Set Schedule for a
	// custom per-round scale instead.
	ScaleStep float64
	// Schedule, if set, gives the scale of round r (0-based) and overrides
	// Scale/ScaleStep.
	Schedule func(round int) float64
	// NoGuidance samples without the predictor term.
	NoGuidance bool
	// Want is the number of unique valid architectures to collect
	// (reference 10); generation stops after the first round reaching it.
	Want int
	// MaxRounds bounds the rounds (reference patient_factor 20).
	MaxRounds int
	// Batch is the number of samples per round (reference 256).
	Batch int
	// Sampler configures each round's PC sampler (Steps, SNR, ...); its RNG
	// and Seed are ignored: round r uses a generator derived from Seed.
	Sampler sde.Options
	// Seed drives all rounds.
	Seed uint64
	// Cost is the dataset whose params/FLOPs are reported (default CIFAR-10).
	Cost nb201.Dataset
	// Progress, if set, is called after every sampler step.
	Progress func(round, step, total int)
	// Guided, if set, returns the score hook of a round with guidance scale
	// scale: score + scale·∂ŷ/∂x computed elsewhere (nag/gpu on a CUDA
	// device), with the same predictor and dataset vector as Generate's. It
	// replaces base and the host-side Hook.
	Guided func(scale float64) sde.ScoreFn
}

func (o *Options) fill() error {
	if o.Want == 0 {
		o.Want = 10
	}
	if o.MaxRounds == 0 {
		o.MaxRounds = 20
	}
	if o.Batch == 0 {
		o.Batch = 256
	}
	if o.Scale == 0 && o.Schedule == nil && !o.NoGuidance {
		o.Scale = 10000
	}
	if o.Cost.Name == "" {
		o.Cost = nb201.CIFAR10
	}
	switch {
	case o.Want < 1:
		return fmt.Errorf("generate: want %d must be positive", o.Want)
	case o.MaxRounds < 1:
		return fmt.Errorf("generate: max rounds %d must be positive", o.MaxRounds)
	case o.Batch < 1:
		return fmt.Errorf("generate: batch %d must be positive", o.Batch)
	}
	return nil
}

// ScaleAt returns the guidance scale of round r.
func (o *Options) ScaleAt(r int) float64 {
	if o.NoGuidance {
		return 0
	}
	if o.Schedule != nil {
		return o.Schedule(r)
	}
	return o.Scale - float64(r)*o.ScaleStep
}

// Candidate is one generated architecture.
type Candidate struct {
	Arch   string  `json:"arch"`
	Pred   float64 `json:"pred"`   // predicted accuracy (%), clean input
	Params int64   `json:"params"` // parameters of the full NB201 network
	FLOPs  int64   `json:"flops"`  // multiply-accumulates (NB201 convention)
	Count  int     `json:"count"`  // how many valid samples decoded to it
	Round  int     `json:"round"`  // first round it appeared in (0-based)
}

// Result is the outcome of Generate.
type Result struct {
	// Archs are the unique valid architectures, sorted by predicted accuracy
	// (descending; ties by string).
	Archs   []Candidate `json:"archs"`
	Rounds  int         `json:"rounds"`
	Sampled int         `json:"sampled"`
	Valid   int         `json:"valid"`
	Scales  []float64   `json:"scales"` // scale used in each round
}

// Validity is Valid/Sampled.
func (r *Result) Validity() float64 {
	if r.Sampled == 0 {
		return 0
	}
	return float64(r.Valid) / float64(r.Sampled)
}

// Generate runs guided sampling in rounds of opt.Batch samples (scale
// decreasing by ScaleStep per round) until Want unique valid NB201
// architectures are collected or MaxRounds is reached, then ranks all
// unique valid ones by the predictor's clean prediction for dataset vector
// ds. s is the score network's SDE, base its unguided score hook (model
// space [B, 8, 7], time input σ(t)). pred may be nil only with NoGuidance
// (then Pred is 0 and the order is by count).
func Generate(ctx context.Context, s sde.SDE, base sde.ScoreFn, pred *predictor.Model, ds *autograd.Var, opt Options) (*Result, error) {
	if err := opt.fill(); err != nil {
		return nil, err
	}
	if pred == nil && !opt.NoGuidance {
		return nil, fmt.Errorf("generate: guidance needs a predictor")
	}
	if pred != nil && ds == nil {
		ds = pred.Net.Unknown
	}
	var reg Regressor
	if pred != nil {
		reg = ModelRegressor{M: pred, DS: ds}
		defer Freeze(reg.Params())()
	}
	seeds := tensor.NewRNG(opt.Seed)
	res := &Result{}
	seen := map[string]*Candidate{}
	var order []string
	shape := []int{opt.Batch, nb201.NumNodes, nb201.NumTypes}
	for r := 0; r < opt.MaxRounds; r++ {
		scale := opt.ScaleAt(r)
		res.Scales = append(res.Scales, scale)
		so := opt.Sampler
		so.RNG = seeds.Split()
		if opt.Progress != nil {
			round := r
			so.Progress = func(step, total int) { opt.Progress(round, step, total) }
		}
		hook := base
		switch {
		case opt.Guided != nil:
			if reg == nil {
				scale = 0
			}
			hook = opt.Guided(scale)
		case scale != 0 && reg != nil:
			hook = Hook(base, reg, scale, nil)
		}
		x, err := sde.SamplePC(ctx, s, hook, shape, so)
		if err != nil {
			return nil, fmt.Errorf("generate round %d: %w", r, err)
		}
		archs := DecodeBatch(x)
		res.Rounds++
		res.Sampled += len(archs)
		for _, a := range archs {
			if a == nil {
				continue
			}
			res.Valid++
			str := a.String()
			if c, ok := seen[str]; ok {
				c.Count++
				continue
			}
			seen[str] = &Candidate{Arch: str, Params: a.Params(opt.Cost), FLOPs: a.FLOPs(opt.Cost), Count: 1, Round: r}
			order = append(order, str)
		}
		if len(seen) >= opt.Want {
			break
		}
	}
	cands := make([]Candidate, len(order))
	archs := make([]nb201.Arch, len(order))
	for i, str := range order {
		cands[i] = *seen[str]
		archs[i] = nb201.MustParse(str)
	}
	if pred != nil && len(archs) > 0 {
		for i, p := range pred.PredictClean(archs, ds) {
			cands[i].Pred = p
		}
	}
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].Pred != cands[j].Pred {
			return cands[i].Pred > cands[j].Pred
		}
		if cands[i].Count != cands[j].Count {
			return cands[i].Count > cands[j].Count
		}
		return cands[i].Arch < cands[j].Arch
	})
	res.Archs = cands
	return res, nil
}

// DecodeBatch maps a sampler output [B, 8, 7] in model space to
// architectures: (x+1)/2, per-element threshold at 0.5, validity check
// (reference §4.3); nil marks an invalid sample.
func DecodeBatch(x *tensor.Tensor) []*nb201.Arch {
	b := x.Dim(0)
	per := nb201.NumNodes * nb201.NumTypes
	d := x.Contiguous().Data()
	out := make([]*nb201.Arch, b)
	buf := make([]float32, per)
	for i := 0; i < b; i++ {
		for j := 0; j < per; j++ {
			buf[j] = (d[i*per+j] + 1) / 2
		}
		xm, err := nb201.XFromSlice(buf)
		if err != nil {
			continue
		}
		a, err := nb201.Decode(xm, nb201.DecodeThreshold)
		if err != nil {
			continue
		}
		out[i] = &a
	}
	return out
}
