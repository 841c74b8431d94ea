package bo

import (
	"context"

	"github.com/nagml/nag/nag/nb201"
	"github.com/nagml/nag/tensor"
)

// GenRequest is what a generator may use to draw candidates.
type GenRequest struct {
	History   *History
	Surrogate Surrogate
	Acq       Acquisition
	// Best is the incumbent's search value (in the units of the history).
	Best float64
}

// Generator draws a pool of candidate architectures (the acquisition
// optimiser). The pool may contain evaluated architectures and duplicates;
// the BO method filters them.
type Generator interface {
	Name() string
	Generate(ctx context.Context, req GenRequest, rng *tensor.RNG) ([]nb201.Arch, error)
}

// MutationGen mutates the Top best architectures (BANANAS' acquisition
// optimiser): Pool children, parents taken round-robin from best to worst.
type MutationGen struct {
	Top  int `json:"top"`
	Pool int `json:"pool"`
}

// Name implements Generator.
func (MutationGen) Name() string { return "mutation" }

// Generate implements Generator.
func (g MutationGen) Generate(_ context.Context, req GenRequest, rng *tensor.RNG) ([]nb201.Arch, error) {
	top := req.History.Top(max(g.Top, 1))
	out := make([]nb201.Arch, 0, g.Pool)
	for i := 0; i < g.Pool && len(top) > 0; i++ {
		out = append(out, Mutate(top[i%len(top)], rng))
	}
	return out, nil
}

// RandomGen draws Pool uniformly random architectures.
type RandomGen struct {
	Pool int `json:"pool"`
}

// Name implements Generator.
func (RandomGen) Name() string { return "random" }

// Generate implements Generator.
func (g RandomGen) Generate(_ context.Context, _ GenRequest, rng *tensor.RNG) ([]nb201.Arch, error) {
	return nb201.RandomN(rng, g.Pool), nil
}
