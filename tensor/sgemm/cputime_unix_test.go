//go:build unix

package sgemm

import "syscall"

// cpuSeconds returns the user+system CPU time of this process so far; the
// benchmarks divide work by it to report throughput per CPU-second, which
// is less sensitive than wall time to other processes sharing the cores.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
