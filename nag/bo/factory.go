package bo

import (
	"fmt"

	"github.com/nagml/nag/nag/diffusion"
	"github.com/nagml/nag/nag/predictor"
	"github.com/nagml/nag/sde"
	"github.com/nagml/nag/tensor"
)

// MethodNames lists the methods NewMethod builds.
var MethodNames = []string{"random", "rea", "ls", "bananas", "gnn-mutation", "diffusionnag"}

// MethodOptions configures NewMethod; zero fields take the defaults of
// DefaultMethodOptions.
type MethodOptions struct {
	// Init is the size of the random initial design (BO methods, local search).
	Init int
	// Acq is the acquisition of the BO methods.
	Acq Acquisition
	// Pool is the candidate pool per round (mutation and diffusion generators).
	Pool int
	// MutateTop is the number of best architectures the mutation generator mutates.
	MutateTop int
	REA       REAConfig
	GNN       GNNConfig
	MLP       MLPConfig
	// Model is the score network (diffusionnag only); Steps the PC steps per
	// guided sampling run; Scale and Ratio the guidance weight (see DiffusionGen).
	Model *diffusion.Model
	Steps int
	Scale float64
	Ratio bool
	// Decode is the diffusion generator's decoder (see DiffusionGen).
	Decode string
	// LocalFrac, LocalStart and LocalTop are the diffusion generator's
	// proposals from perturbed incumbents (see DiffusionGen; LocalFrac 0,
	// the default, is the published method). LocalTop 0 means MutateTop.
	LocalFrac, LocalStart float64
	LocalTop              int
	// WarmStart, if set, is the meta-trained predictor the GNN ensemble
	// starts from (see NewGNNEnsembleWarm).
	WarmStart *predictor.Model
}

// DefaultMethodOptions returns the defaults: 10 initial random evaluations,
// ITS acquisition, pools of 100 candidates from the 10 best (mutation) or 128
// guided samples (diffusion, 100 PC steps, guidance 0.3·‖score‖/‖∇acq‖, projection decoding), REA population
// 20 / sample 10, DefaultGNNConfig and DefaultMLPConfig.
func DefaultMethodOptions() MethodOptions {
	return MethodOptions{Init: 10, Acq: Acquisition{Kind: AcqITS}, Pool: 100, MutateTop: 10,
		REA: REAConfig{Population: 20, Sample: 10}, GNN: DefaultGNNConfig(), MLP: DefaultMLPConfig(),
		Steps: 100, Scale: 0.3, Ratio: true, Decode: DecodeProject}
}

// MethodLabel is the name a run of method name with options o is recorded
// under (record files, reports): "diffusionnag-local" for DiffusionNAG with
// proposals from perturbed incumbents (LocalFrac > 0), else name.
func MethodLabel(name string, o MethodOptions) string {
	if name == "diffusionnag" && o.LocalFrac > 0 {
		return "diffusionnag-local"
	}
	return name
}

// NewMethod builds the named method (see MethodNames) for one run; seed
// fixes the surrogate's initialisation. It also returns the settings to store
// in the run record.
func NewMethod[A Arch](sp Space[A], name string, o MethodOptions, seed uint64) (Method[A], map[string]any, error) {
	settings := map[string]any{}
	switch name {
	case "random":
		return RandomSearch[A]{Space: sp}, settings, nil
	case "rea":
		if o.REA.Population < 1 || o.REA.Sample < 1 || o.REA.Sample > o.REA.Population {
			return nil, nil, fmt.Errorf("rea: population %d and sample %d must be positive with sample <= population", o.REA.Population, o.REA.Sample)
		}
		settings["rea"] = o.REA
		return REA[A]{REAConfig: o.REA, Space: sp}, settings, nil
	case "ls":
		settings["n_init"] = o.Init
		return &LocalSearch[A]{Init: o.Init, Space: sp}, settings, nil
	}
	if o.Init < 1 {
		return nil, nil, fmt.Errorf("%s: initial design %d must be >= 1", name, o.Init)
	}
	if o.Pool < 1 {
		return nil, nil, fmt.Errorf("%s: pool %d must be >= 1", name, o.Pool)
	}
	settings["n_init"], settings["acquisition"], settings["pool"] = o.Init, o.Acq.String(), o.Pool
	rng := tensor.NewRNG(seed ^ 0x5eed5eed5eed)
	switch name {
	case "bananas":
		s, err := NewMLPEnsemble(sp, o.MLP)
		if err != nil {
			return nil, nil, err
		}
		g := MutationGen[A]{Space: sp, Top: o.MutateTop, Pool: o.Pool}
		settings["surrogate"], settings["generator"] = o.MLP, g
		return &BO[A]{Label: name, Init: o.Init, Space: sp, Surrogate: s, Gen: g, Acq: o.Acq}, settings, nil
	case "gnn-mutation", "diffusionnag":
		var ve *sde.VE
		if o.Model != nil {
			v, ok := o.Model.SDE.(*sde.VE)
			if !ok {
				return nil, nil, fmt.Errorf("%s: score network uses %s; the guided surrogate needs a VE-SDE", name, o.Model.SDE)
			}
			ve = v
		}
		var s *GNNEnsemble[A]
		var err error
		if o.WarmStart != nil {
			s, err = NewGNNEnsembleWarm(sp, o.GNN, o.WarmStart, rng)
			settings["warm_start"] = o.WarmStart.Cfg.Source
		} else {
			s, err = NewGNNEnsemble(sp, o.GNN, nil, ve, rng)
		}
		if err != nil {
			return nil, nil, err
		}
		settings["surrogate"] = o.GNN
		if name == "gnn-mutation" {
			g := MutationGen[A]{Space: sp, Top: o.MutateTop, Pool: o.Pool}
			settings["generator"] = g
			return &BO[A]{Label: name, Init: o.Init, Space: sp, Surrogate: s, Gen: g, Acq: o.Acq}, settings, nil
		}
		if o.Model == nil {
			return nil, nil, fmt.Errorf("diffusionnag: no score network")
		}
		if o.Steps < 1 {
			return nil, nil, fmt.Errorf("diffusionnag: sampler steps %d must be >= 1", o.Steps)
		}
		g := &DiffusionGen[A]{Space: sp, Model: o.Model, Pool: o.Pool, Steps: o.Steps, Scale: o.Scale, Ratio: o.Ratio, Decode: o.Decode}
		if o.LocalFrac != 0 {
			if !(o.LocalFrac > 0 && o.LocalFrac <= 1) || !(o.LocalStart > 0 && o.LocalStart <= 1) {
				return nil, nil, fmt.Errorf("diffusionnag: local fraction %g must lie in (0, 1] and its start time %g in (0, 1]", o.LocalFrac, o.LocalStart)
			}
			g.LocalFrac, g.LocalStart, g.LocalTop = o.LocalFrac, o.LocalStart, o.LocalTop
			if g.LocalTop == 0 {
				g.LocalTop = max(o.MutateTop, 1)
			}
		}
		settings["generator"] = g
		settings["score_net"] = map[string]any{"step": o.Model.Step, "weights": o.Model.Weights, "preset": o.Model.Config.Preset, "sde": o.Model.SDE.String()}
		return &BO[A]{Label: MethodLabel(name, o), Init: o.Init, Space: sp, Surrogate: s, Gen: g, Acq: o.Acq}, settings, nil
	}
	return nil, nil, fmt.Errorf("unknown method %q (want one of %v)", name, MethodNames)
}
