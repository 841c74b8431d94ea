package tensor

import "testing"

func epiMinMax(v []float32, bias float32) {
	for j, x := range v {
		v[j] = min(max(x+bias, 0), 6)
	}
}

func epiBits(v []float32, bias float32) {
	for j, x := range v {
		v[j] = 6 - convRelu(6-convRelu(x+bias))
	}
}

func BenchmarkConvEpilogueTmp(b *testing.B) {
	rng := NewRNG(1)
	v := make([]float32, 1<<14)
	rng.FillNormal(v, 0, 4)
	w := make([]float32, len(v))
	for _, c := range []struct {
		n string
		f func([]float32, float32)
	}{{"minmax", epiMinMax}, {"bits", epiBits}, {"minmax", epiMinMax}, {"bits", epiBits}} {
		b.Run(c.n, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				copy(w, v)
				c.f(w, 0.1)
			}
		})
	}
}
