package proccpu

import (
	"math"
	"runtime"
	"testing"
	"time"
)

// TestSecondsCountsWork: CPU time grows by about the CPU work done (a busy
// loop of at least 50 ms of CPU on this goroutine), never by far more than
// the wall time allows on this machine's cores.
func TestSecondsCountsWork(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" && runtime.GOOS != "windows" {
		if !math.IsNaN(Seconds()) {
			t.Fatalf("Seconds() = %v on %s, want NaN", Seconds(), runtime.GOOS)
		}
		return
	}
	before := Seconds()
	if !(before > 0) {
		t.Fatalf("Seconds() = %v, want > 0", before)
	}
	x := 0.0
	deadline := time.Now().Add(5 * time.Second)
	for Seconds()-before < 0.05 {
		if time.Now().After(deadline) {
			t.Fatalf("CPU time grew by %.3f s in 5 s of busy work", Seconds()-before)
		}
		for i := 0; i < 1e6; i++ {
			x += math.Sqrt(float64(i))
		}
	}
	after := Seconds()
	if d := after - before; d < 0.05 || d > 5 {
		t.Errorf("CPU time grew by %.3f s over the busy loop, want 0.05-5 s (x=%g)", d, x)
	}
}
