//go:build !unix

package bo

import "math"

// processCPU is unavailable on this platform.
func processCPU() float64 { return math.NaN() }
