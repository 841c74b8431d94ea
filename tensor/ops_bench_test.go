package tensor

import (
	"fmt"
	"testing"
)

// BenchmarkLinear measures x·wᵀ at the score network's shapes (2048 rows).
func BenchmarkLinear(b *testing.B) {
	shapes := []struct{ m, in, out int }{{2048, 64, 64}, {2048, 768, 1536}, {2048, 1536, 1536}}
	for _, s := range shapes {
		b.Run(fmt.Sprintf("%dx%dx%d", s.m, s.in, s.out), func(b *testing.B) {
			rng := NewRNG(1)
			x, w, bias := RandN(rng, s.m, s.in), RandN(rng, s.out, s.in), RandN(rng, s.out)
			dst := Zeros(s.m, s.out)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				LinearInto(dst, x, w, bias)
			}
			flops := 2 * float64(s.m) * float64(s.in) * float64(s.out)
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkMatMulBatched measures a batched product shaped like attention
// scores ([256·8 heads, 8, 8] x [.., 8, 8]).
func BenchmarkMatMulBatched(b *testing.B) {
	rng := NewRNG(2)
	q, k := RandN(rng, 256, 8, 8, 8), RandN(rng, 256, 8, 8, 8)
	dst := Zeros(256, 8, 8, 8)
	kt := k.T()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		MatMulInto(dst, q, kt)
	}
	b.ReportMetric(2*256*8*8*8*8*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func benchBytes(b *testing.B, bytesPerOp float64) {
	b.ReportMetric(bytesPerOp*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
}

// BenchmarkElementwise measures element-wise throughput on 2048x1536.
func BenchmarkElementwise(b *testing.B) {
	rng := NewRNG(3)
	x, y, bias := RandN(rng, 2048, 1536), RandN(rng, 2048, 1536), RandN(rng, 1536)
	dst := Zeros(2048, 1536)
	n := float64(x.Len() * 4)
	cases := []struct {
		name  string
		bytes float64
		f     func()
	}{
		{"Add", 3 * n, func() { AddInto(dst, x, y) }},
		{"Mul", 3 * n, func() { MulInto(dst, x, y) }},
		{"AddBias", 2 * n, func() { AddInto(dst, x, bias) }},
		{"Scale", 2 * n, func() { ScaleInto(dst, x, 0.5) }},
		{"ReLU", 2 * n, func() { ReLUInto(dst, x) }},
		{"SiLU", 2 * n, func() { SiLUInto(dst, x) }},
		{"GELU", 2 * n, func() { GELUInto(dst, x) }},
		{"Softmax", 2 * n, func() { SoftmaxInto(dst, x, -1) }},
		{"SumAxis0", n, func() { Sum(x, 0, false) }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				c.f()
			}
			benchBytes(b, c.bytes)
		})
	}
}
