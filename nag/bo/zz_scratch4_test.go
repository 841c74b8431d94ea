//go:build boscratch

package bo

import (
	"testing"

	"github.com/nagml/nag/tensor"
)

func BenchmarkAcqGrad(b *testing.B) {
	rng := tensor.NewRNG(1)
	ens, _ := NewGNNEnsemble(DefaultGNNConfig(), nil, nil, rng)
	x := tensor.Zeros(128, 8, 7)
	rng.FillNormal(x.Data(), 0, 1)
	sig := make([]float32, 128)
	for i := range sig {
		sig[i] = 1
	}
	ens.mu, ens.sd = 0, 1
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ens.AcqGrad(x, sig, func(int, float64, float64) (float64, float64) { return 1, 0.5 })
	}
}
