//go:build !unix && !windows

package proccpu

import "math"

// Seconds is unavailable on this platform: NaN.
func Seconds() float64 { return math.NaN() }
