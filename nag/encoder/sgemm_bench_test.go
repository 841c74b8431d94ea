package encoder

import (
	"os"

	"github.com/nagml/nag/tensor"
	"github.com/nagml/nag/tensor/sgemm"
)

// With NAG_BENCH_SGEMM=1 the benchmarks run on the packed AVX2 SGEMM
// (tensor/sgemm) instead of the default backend.
func init() {
	if os.Getenv("NAG_BENCH_SGEMM") == "1" {
		tensor.SetDefault(tensor.NewCPUBackend("sgemm", sgemm.Implementation{}))
	}
}
