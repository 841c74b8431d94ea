package sgemm

import (
	"testing"

	"gonum.org/v1/gonum/blas"
)

func TestExpAllocs(t *testing.T) {
	for _, s := range [][3]int{{8, 8, 8}, {64, 64, 64}, {256, 256, 256}} {
		m, n, k := s[0], s[1], s[2]
		a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
		for _, w := range []int{1, 2} {
			impl := Implementation{Workers: w}
			allocs := testing.AllocsPerRun(20, func() {
				impl.Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, k, b, n, 0, c, n)
			})
			t.Logf("%v w%d: %.1f allocs", s, w, allocs)
		}
	}
}
