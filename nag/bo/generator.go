package bo

import (
	"context"

	"github.com/nagml/nag/tensor"
)

// GenRequest is what a generator may use to draw candidates.
type GenRequest[A Arch] struct {
	History   *History[A]
	Surrogate Surrogate[A]
	Acq       Acquisition
	// Best is the incumbent's search value (in the units of the history).
	Best float64
}

// Generator draws a pool of candidate architectures (the acquisition
// optimiser). The pool may contain evaluated architectures and duplicates;
// the BO method filters them.
type Generator[A Arch] interface {
	Name() string
	Generate(ctx context.Context, req GenRequest[A], rng *tensor.RNG) ([]A, error)
}

// MutationGen mutates the Top best architectures (BANANAS' acquisition
// optimiser): Pool children, parents taken round-robin from best to worst.
type MutationGen[A Arch] struct {
	Space Space[A] `json:"-"`
	Top   int      `json:"top"`
	Pool  int      `json:"pool"`
}

// Name implements Generator.
func (MutationGen[A]) Name() string { return "mutation" }

// Generate implements Generator.
func (g MutationGen[A]) Generate(_ context.Context, req GenRequest[A], rng *tensor.RNG) ([]A, error) {
	top := req.History.Top(max(g.Top, 1))
	out := make([]A, 0, g.Pool)
	for i := 0; i < g.Pool && len(top) > 0; i++ {
		out = append(out, g.Space.Mutate(top[i%len(top)], rng))
	}
	return out, nil
}

// RandomGen draws Pool uniformly random architectures.
type RandomGen[A Arch] struct {
	Space Space[A] `json:"-"`
	Pool  int      `json:"pool"`
}

// Name implements Generator.
func (RandomGen[A]) Name() string { return "random" }

// Generate implements Generator.
func (g RandomGen[A]) Generate(_ context.Context, _ GenRequest[A], rng *tensor.RNG) ([]A, error) {
	out := make([]A, g.Pool)
	for i := range out {
		out[i] = g.Space.Random(rng)
	}
	return out, nil
}
