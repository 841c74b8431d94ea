package sgemm

import (
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
)

func BenchmarkExpPackA(b *testing.B) {
	for _, s := range benchShapes[:3] {
		rng := rand.New(rand.NewPCG(1, 2))
		a, bm, c := randSlice(rng, s.m*s.k), randSlice(rng, s.k*s.n), make([]float32, s.m*s.n)
		ldb, tB := s.n, blas.NoTrans
		if s.tB {
			ldb, tB = s.k, blas.Trans
		}
		for _, mode := range []int{1, -1} {
			b.Run(s.name+map[int]string{1: "/pack", -1: "/inplace"}[mode], func(b *testing.B) {
				impl := Implementation{Workers: 1, packA: mode}
				measure(b, 2*float64(s.m*s.n*s.k), func() {
					impl.Sgemm(blas.NoTrans, tB, s.m, s.n, s.k, 1, a, s.k, bm, ldb, 0, c, s.n)
				})
			})
		}
	}
}
