package sgemm

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// measure runs op in a b.Loop and reports GFLOP/s of wall time and, where
// the OS reports process CPU time, GFLOP per CPU-second ("GFLOP/cpu-s",
// summed over threads: for one worker it is the per-core rate while the
// core was ours, which stays meaningful when other processes share the
// machine).
func measure(b *testing.B, flops float64, op func()) {
	c0 := cpuSeconds()
	for b.Loop() {
		op()
	}
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	if dc := cpuSeconds() - c0; c0 > 0 && dc > 0 {
		b.ReportMetric(flops*float64(b.N)/dc/1e9, "GFLOP/cpu-s")
	}
}

// benchShapes are the products the score network spends its time in. The
// forward ones multiply activations [m, k] by a weight [n, k] transposed, as
// Linear does (tB); the two backward ones are Linear's input gradient
// dX = dY·W (NN) and weight gradient dW = dYᵀ·X (tA).
var benchShapes = []struct {
	name    string
	m, n, k int
	tA, tB  bool
}{
	{"256x256x256", 256, 256, 256, false, false},
	{"readout_2048x768_by_768x1536", 2048, 1536, 768, false, true},
	{"hidden_2048x1536_by_1536x1536", 2048, 1536, 1536, false, true},
	{"attn_2048x64_by_64x64", 2048, 64, 64, false, true},
	{"attn_2048x64_by_64x128", 2048, 128, 64, false, true},
	{"bwd_dX_2048x1536_by_1536x768", 2048, 768, 1536, false, false},
	{"bwd_dW_1536x2048_by_2048x768", 1536, 768, 2048, true, false},
	// Predictor aggregation, node-major: adjacency [8, 8] times the batch's
	// node features [8, 128·64], and its backward (Aᵀ·dH).
	{"agg_8x8_by_8x8192", 8, 8192, 8, false, false},
	{"agg_bwd_8x8T_by_8x8192", 8, 8192, 8, true, false},
	// Meta-predictor (GCN hidden 144, batch 256 x 8 nodes): a DiGCN linear
	// layer, its input gradient, and the aggregation at that width.
	{"pred_2048x144_by_144x144", 2048, 144, 144, false, true},
	{"pred_dX_2048x144_by_144x144", 2048, 144, 144, false, false},
	{"agg_8x8_by_8x36864", 8, 36864, 8, false, false},
}

// BenchmarkSgemm compares this package (1 and 2 workers, each kernel) with
// gonum's blas/gonum Sgemm (which itself uses GOMAXPROCS goroutines) in the
// same run, reporting GFLOP/s.
func BenchmarkSgemm(b *testing.B) {
	type impl struct {
		name string
		blas blas.Float32Level3
	}
	var impls []impl
	for _, w := range []int{1, 2} {
		impls = append(impls, impl{fmt.Sprintf("nag-%s-w%d", defaultKernel.name, w), Implementation{Workers: w}})
	}
	for _, k := range asmKernels {
		if k != defaultKernel {
			impls = append(impls, impl{fmt.Sprintf("nag-%s-w1", k.name), Implementation{Workers: 1, kern: k}})
		}
	}
	impls = append(impls,
		impl{"nag-go-4x4-w1", Implementation{Workers: 1, PureGo: true}},
		impl{"gonum", gonum.Implementation{}},
	)
	for _, s := range benchShapes {
		rng := rand.New(rand.NewPCG(1, 2))
		a := randSlice(rng, s.m*s.k)
		bm := randSlice(rng, s.k*s.n)
		c := make([]float32, s.m*s.n)
		lda, tA := s.k, blas.NoTrans
		if s.tA {
			lda, tA = s.m, blas.Trans
		}
		ldb, tB := s.n, blas.NoTrans
		if s.tB {
			ldb, tB = s.k, blas.Trans
		}
		for _, im := range impls {
			if im.name == "nag-go-4x4-w1" && s.m*s.n*s.k > 1<<24 {
				continue // the portable kernel takes seconds here
			}
			b.Run(s.name+"/"+im.name, func(b *testing.B) {
				measure(b, 2*float64(s.m)*float64(s.n)*float64(s.k), func() {
					im.blas.Sgemm(tA, tB, s.m, s.n, s.k, 1, a, lda, bm, ldb, 0, c, s.n)
				})
			})
		}
	}
}

// BenchmarkSgemmBiasAct measures the fused Linear+ELU epilogue against the
// plain product on the score network's hidden layer.
func BenchmarkSgemmBiasAct(b *testing.B) {
	const m, n, k = 2048, 1536, 768
	rng := rand.New(rand.NewPCG(1, 2))
	x, w, bias := randSlice(rng, m*k), randSlice(rng, n*k), randSlice(rng, n)
	y := make([]float32, m*n)
	for _, act := range []Activation{None, ReLU, ELU, SiLU} {
		for _, workers := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/w%d", act, workers), func(b *testing.B) {
				impl := Implementation{Workers: workers}
				measure(b, 2*float64(m)*n*k, func() {
					impl.SgemmBiasAct(blas.NoTrans, blas.Trans, m, n, k, 1, x, k, w, k, 0, y, n, bias, act)
				})
			})
		}
	}
}

// BenchmarkKernel measures each micro-kernel alone on L1-resident packed
// panels (k = blockK): the ceiling the blocked GEMM can approach.
func BenchmarkKernel(b *testing.B) {
	for _, kern := range kernels() {
		b.Run(kern.name, func(b *testing.B) {
			const k = blockK
			rng := rand.New(rand.NewPCG(1, 2))
			a, bp := randSlice(rng, kern.mr*k), randSlice(rng, kern.nr*k)
			c := make([]float32, kern.mr*kern.nr)
			measure(b, 2*float64(kern.mr*kern.nr*k), func() {
				kern.fn(k, a, 1, kern.mr, bp, c, kern.nr, 1, 0)
			})
		})
	}
}

// BenchmarkBlocking sweeps the K and M block sizes (single worker) on the
// model's two big products, for re-tuning blockK/blockM on a new machine.
func BenchmarkBlocking(b *testing.B) {
	for _, s := range benchShapes[1:3] {
		rng := rand.New(rand.NewPCG(1, 2))
		a, bm, c := randSlice(rng, s.m*s.k), randSlice(rng, s.k*s.n), make([]float32, s.m*s.n)
		for _, tn := range [][2]int{{256, 144}, {256, 72}, {256, 288}, {384, 96}, {192, 192}, {512, 72}} {
			b.Run(fmt.Sprintf("%s/kc%d_mc%d", s.name, tn[0], tn[1]), func(b *testing.B) {
				impl := Implementation{Workers: 1, tune: tn}
				measure(b, 2*float64(s.m*s.n*s.k), func() {
					impl.Sgemm(blas.NoTrans, blas.Trans, s.m, s.n, s.k, 1, a, s.k, bm, s.k, 0, c, s.n)
				})
			})
		}
	}
}
