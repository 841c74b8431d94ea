//go:build !unix

package sgemm

// cpuSeconds is unavailable here; the per-CPU-second metric is skipped.
func cpuSeconds() float64 { return 0 }
