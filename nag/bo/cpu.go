package bo

import "github.com/nagml/nag/internal/proccpu"

// processCPU returns the user+system CPU seconds of this process so far
// (NaN when unavailable).
func processCPU() float64 { return proccpu.Seconds() }
