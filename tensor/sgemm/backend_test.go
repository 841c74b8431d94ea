package sgemm_test

import (
	"testing"

	"github.com/nagml/nag/tensor"
	"github.com/nagml/nag/tensor/sgemm"
	"gonum.org/v1/gonum/blas"
)

// TestTensorBackend checks that tensor's default CPU backend is this
// package's SGEMM ("cpu") and that gonum's stays registered ("cpu-gonum"),
// and that both give the same product through the Backend seam.
func TestTensorBackend(t *testing.T) {
	def := tensor.Default()
	if def.Name() != "cpu" {
		t.Fatalf("default backend %q, want cpu", def.Name())
	}
	cb, ok := def.(*tensor.CPUBackend)
	if !ok {
		t.Fatalf("default backend is %T, want *tensor.CPUBackend", def)
	}
	if _, ok := cb.BLAS.(sgemm.Implementation); !ok {
		t.Fatalf("default backend BLAS is %T, want sgemm.Implementation", cb.BLAS)
	}
	g, ok := tensor.LookupBackend("cpu-gonum")
	if !ok {
		t.Fatal("cpu-gonum backend not registered")
	}
	const m, n, k = 7, 19, 33
	a := make([]float32, m*k)
	b := make([]float32, n*k)
	for i := range a {
		a[i] = float32(i%11) - 5
	}
	for i := range b {
		b[i] = float32(i%7) - 3
	}
	// Small integers: both products are exact, so they must agree bit for bit.
	c1 := make([]float32, m*n)
	c2 := make([]float32, m*n)
	def.Sgemm(blas.NoTrans, blas.Trans, m, n, k, 1, a, k, b, k, 0, c1, n)
	g.Sgemm(blas.NoTrans, blas.Trans, m, n, k, 1, a, k, b, k, 0, c2, n)
	for i := range c1 {
		if c1[i] != c2[i] {
			t.Fatalf("C[%d] = %g (cpu), %g (cpu-gonum)", i, c1[i], c2[i])
		}
	}
}
