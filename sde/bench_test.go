package sde

import (
	"context"
	"testing"

	"github.com/nagml/nag/tensor"
)

// constScore returns a hook that always returns the same preallocated
// tensor, so the benchmarks measure the sampler's own per-step cost.
func constScore(shape ...int) ScoreFn {
	s := tensor.Full(-0.1, shape...)
	return func(*tensor.Tensor, float64, []float32) (*tensor.Tensor, error) { return s, nil }
}

// BenchmarkPCStep is the overhead of one PC timestep (Langevin corrector +
// Euler–Maruyama predictor, two hook calls, two noise draws) on the NB201
// batch [256, 8, 7] with a trivial score: ns/op is per timestep (Steps = b.N).
func BenchmarkPCStep(b *testing.B) {
	shape := []int{256, 8, 7}
	score := constScore(shape...)
	b.ReportAllocs()
	b.ResetTimer()
	if _, err := SamplePC(context.Background(), DefaultVE(), score, shape, Options{Steps: b.N, Seed: 1}); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPCStepNoCorrector is BenchmarkPCStep with the predictor only.
func BenchmarkPCStepNoCorrector(b *testing.B) {
	shape := []int{256, 8, 7}
	score := constScore(shape...)
	b.ReportAllocs()
	b.ResetTimer()
	if _, err := SamplePC(context.Background(), DefaultVE(), score, shape, Options{Steps: b.N, Seed: 1, Corrector: NoCorrector}); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkODEStep is one Euler step of the probability-flow ODE sampler on
// [256, 8, 7] with a trivial score (ns/op per step).
func BenchmarkODEStep(b *testing.B) {
	shape := []int{256, 8, 7}
	score := constScore(shape...)
	b.ReportAllocs()
	b.ResetTimer()
	if _, err := SampleODE(context.Background(), DefaultVE(), score, shape, Options{Steps: b.N, Seed: 1}); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkDSMLoss is the loss (draws, perturbation and the fused
// objective) on a [256, 8, 7] batch with a trivial score.
func BenchmarkDSMLoss(b *testing.B) {
	x0 := tensor.Full(1, 256, 8, 7)
	rng := tensor.NewRNG(1)
	s := DefaultVE()
	score := gaussScoreVar(s, 0, 1, 1)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := DSMLoss(nil, s, score, x0, rng); err != nil {
			b.Fatal(err)
		}
	}
}
