package bo

import (
	"context"
	"testing"

	"github.com/nagml/nag/nag/nb201"
	"github.com/nagml/nag/tensor"
)

// fittedEnsemble builds a GNN ensemble with cfg and fits it to synthValue
// on n random cells drawn from rng.
func fittedEnsemble(tb testing.TB, cfg GNNConfig, n int, rng *tensor.RNG) *GNNEnsemble[nb201.Arch] {
	ens, err := NewGNNEnsemble[nb201.Arch](NB201Space{}, cfg, nil, nil, rng)
	if err != nil {
		tb.Fatal(err)
	}
	archs := nb201.RandomN(rng, n)
	ys := make([]float64, len(archs))
	for i, a := range archs {
		ys[i] = synthValue(a)
	}
	if err := ens.Fit(context.Background(), archs, ys, rng); err != nil {
		tb.Fatal(err)
	}
	return ens
}

// benchEnsemble is the default GNN ensemble fitted on 30 random cells.
func benchEnsemble(b *testing.B) (*GNNEnsemble[nb201.Arch], *tensor.RNG) {
	rng := tensor.NewRNG(1)
	return fittedEnsemble(b, DefaultGNNConfig(), 30, rng), rng
}

// BenchmarkAcqGrad: the guidance gradient of DiffusionGen's default pool
// (128 noisy cells) through the default 3-member ensemble; a BO round
// takes 100 of these.
func BenchmarkAcqGrad(b *testing.B) {
	ens, rng := benchEnsemble(b)
	x := tensor.RandN(rng, 128, nb201.NumNodes, nb201.NumTypes)
	sigma := make([]float32, 128)
	for i := range sigma {
		sigma[i] = 0.5
	}
	acq := Acquisition{Kind: AcqEI}
	partials := func(i int, mu, sd float64) (float64, float64) { return acq.Partials(mu, sd, 0.5, 0) }
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := ens.AcqGrad(x, sigma, partials); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEnsembleRefit: one warm-started refit (60 steps per member) on
// 50 evaluated cells, as after every BO round.
func BenchmarkEnsembleRefit(b *testing.B) {
	ens, rng := benchEnsemble(b)
	archs := nb201.RandomN(rng, 50)
	ys := make([]float64, len(archs))
	for i, a := range archs {
		ys[i] = synthValue(a)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := ens.Fit(context.Background(), archs, ys, rng); err != nil {
			b.Fatal(err)
		}
	}
}
