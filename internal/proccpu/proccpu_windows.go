//go:build windows

package proccpu

import (
	"math"
	"syscall"
)

// Seconds returns the user + kernel CPU seconds of this process so far, NaN
// when the system cannot tell.
func Seconds() float64 {
	h, err := syscall.GetCurrentProcess()
	if err != nil {
		return math.NaN()
	}
	var created, exited, kernel, user syscall.Filetime
	if err := syscall.GetProcessTimes(h, &created, &exited, &kernel, &user); err != nil {
		return math.NaN()
	}
	// FILETIME counts 100 ns intervals.
	ft := func(f syscall.Filetime) float64 {
		return float64(uint64(f.HighDateTime)<<32|uint64(f.LowDateTime)) / 1e7
	}
	return ft(kernel) + ft(user)
}
