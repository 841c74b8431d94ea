//go:build cuda

package kernels

import (
	"fmt"
	"sync"

	"github.com/nagml/nag/tensor"
	"gonum.org/v1/gonum/blas"
)

// Backend implements tensor.Backend on the first CUDA device. It opens the
// device lazily (on the first Sgemm or Device call), so registering it at init
// costs nothing. Sgemm works on host slices: it uploads op(A), op(B) (and C
// when beta != 0), runs the tiled SGEMM and downloads C. That is correct but
// transfer-bound (PCIe moves ~4·(mk+kn+2mn) bytes per call), so it only pays
// for large products; model code should use the device-resident API.
type Backend struct {
	once sync.Once
	dev  *Device
	err  error
}

func init() { tensor.RegisterBackend(&Backend{}) }

// Name implements tensor.Backend.
func (b *Backend) Name() string { return "cuda" }

// Device opens (once) and returns device 0.
func (b *Backend) Device() (*Device, error) {
	b.once.Do(func() { b.dev, b.err = Open(0) })
	return b.dev, b.err
}

// Sgemm implements tensor.Backend with blas semantics on row-major host
// slices. CUDA errors panic (the interface has no error return).
func (b *Backend) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, bb []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if err := b.sgemm(tA != blas.NoTrans, tB != blas.NoTrans, m, n, k, alpha, a, lda, bb, ldb, beta, c, ldc); err != nil {
		panic(fmt.Sprintf("kernels: cuda Sgemm %dx%dx%d: %v", m, n, k, err))
	}
}

func (b *Backend) sgemm(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, bb []float32, ldb int, beta float32, c []float32, ldc int) error {
	d, err := b.Device()
	if err != nil {
		return err
	}
	ar, ac, br, bc := GemmArgs{TransA: ta, TransB: tb, M: m, N: n, K: k}.operandShapes()
	sa, sb, sc := gemmSpan(ar, ac, lda), gemmSpan(br, bc, ldb), gemmSpan(m, n, ldc)
	if len(a) < sa || len(bb) < sb || len(c) < sc {
		return fmt.Errorf("slices too short: a %d/%d, b %d/%d, c %d/%d", len(a), sa, len(bb), sb, len(c), sc)
	}
	up := func(s []float32) (*DeviceTensor, error) {
		if len(s) == 0 {
			return d.Empty(1)
		}
		return d.UploadSlice(s, len(s))
	}
	da, err := up(a[:sa])
	if err != nil {
		return err
	}
	defer da.Free()
	db, err := up(bb[:sb])
	if err != nil {
		return err
	}
	defer db.Free()
	var dc *DeviceTensor
	if beta != 0 {
		dc, err = up(c[:sc])
	} else {
		dc, err = d.Empty(sc)
	}
	if err != nil {
		return err
	}
	defer dc.Free()
	g := GemmArgs{TransA: ta, TransB: tb, M: m, N: n, K: k, Alpha: alpha, Beta: beta, Lda: lda, Ldb: ldb, Ldc: ldc}
	if err := d.GemmWith("sgemm_tiled", g, da, db, dc); err != nil {
		return err
	}
	if ldc == n {
		return dc.CopyTo(c[:sc])
	}
	// Gaps between rows of C (ldc > n) must keep their host values.
	tmp := make([]float32, sc)
	if err := dc.CopyTo(tmp); err != nil {
		return err
	}
	for i := 0; i < m; i++ {
		copy(c[i*ldc:i*ldc+n], tmp[i*ldc:i*ldc+n])
	}
	return nil
}
