//go:build unix

package proccpu

import (
	"math"
	"syscall"
)

// Seconds returns the user + system CPU seconds of this process so far, NaN
// when the system cannot tell.
func Seconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return math.NaN()
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}
