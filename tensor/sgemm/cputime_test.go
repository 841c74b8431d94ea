package sgemm

import (
	"math"

	"github.com/nagml/nag/internal/proccpu"
)

// cpuSeconds returns the user+system CPU time of this process so far (0 where
// unavailable: the per-CPU-second metric is then skipped); the benchmarks
// divide work by it to report throughput per CPU-second, which is less
// sensitive than wall time to other processes sharing the cores.
func cpuSeconds() float64 {
	if s := proccpu.Seconds(); !math.IsNaN(s) {
		return s
	}
	return 0
}
