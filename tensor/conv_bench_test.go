package tensor_test

import (
	"testing"

	"github.com/nagml/nag/tensor"
	"github.com/nagml/nag/tensor/sgemm"
)

// Benchmarks of Conv2D at the shapes of the two feature extractors: im2col
// with gonum's GEMM, im2col with our packed AVX2 SGEMM (tensor/sgemm), and
// the direct kernel. GFLOP/s counts 2 flops per multiply-add. Batch 8.
var convBenchShapes = []struct {
	name         string
	n, c, h, o   int
	k, s, groups int
}{
	{"resnet20/16x32x32-3x3", 8, 16, 32, 16, 3, 1, 1},
	{"resnet20/32x16x16-3x3", 8, 32, 16, 32, 3, 1, 1},
	{"resnet20/64x8x8-3x3", 8, 64, 8, 64, 3, 1, 1},
	{"mbv2-128/stem-3x128-s2", 8, 3, 128, 32, 3, 2, 1},
	{"mbv2-128/pw-24to144x32", 8, 24, 32, 144, 1, 1, 1},
	{"mbv2-128/pw-960to160x4", 8, 960, 4, 160, 1, 1, 1},
	{"mbv2-128/dw-96x64-s2", 8, 96, 64, 96, 3, 2, 96},
	{"mbv2-128/dw-144x32", 8, 144, 32, 144, 3, 1, 144},
	{"mbv2-128/dw-576x8", 8, 576, 8, 576, 3, 1, 576},
}

func BenchmarkConv2D(b *testing.B) {
	rng := tensor.NewRNG(1)
	for _, s := range convBenchShapes {
		x := tensor.RandN(rng, s.n, s.c, s.h, s.h)
		w := tensor.RandN(rng, s.o, s.c/s.groups, s.k, s.k)
		bias := tensor.RandN(rng, s.o)
		pb, pa := tensor.SamePadding(s.h, s.k, s.s)
		oh := tensor.ConvOutSize(s.h, s.k, s.s, pb, pa)
		flops := 2 * float64(s.n*s.o*oh*oh*(s.c/s.groups)*s.k*s.k)
		for _, a := range []struct {
			name    string
			algo    tensor.ConvAlgo
			backend tensor.Backend
		}{
			{"im2col-gonum", tensor.ConvAlgoIm2col, tensor.NewCPUBackend("gonum", nil)},
			{"im2col-sgemm", tensor.ConvAlgoIm2col, tensor.NewCPUBackend("sgemm", sgemm.Implementation{})},
			{"direct", tensor.ConvAlgoDirect, nil},
		} {
			p := tensor.Conv2DParams{StrideH: s.s, StrideW: s.s, PadTop: pb, PadBottom: pa, PadLeft: pb, PadRight: pa,
				Groups: s.groups, Act: tensor.ConvActReLU6, Algo: a.algo}
			b.Run(s.name+"/"+a.name, func(b *testing.B) {
				if a.backend != nil {
					old := tensor.Default()
					tensor.SetDefault(a.backend)
					defer tensor.SetDefault(old)
				}
				for i := 0; i < b.N; i++ {
					tensor.Conv2DWith(x, w, bias, p)
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
