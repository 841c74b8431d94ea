package par

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestDoRunsEachIndexOnce checks that every index runs exactly once for
// sizes around the helper count, with one and several CPUs.
func TestDoRunsEachIndexOnce(t *testing.T) {
	for _, procs := range []int{1, 2, 4} {
		old := runtime.GOMAXPROCS(procs)
		for _, n := range []int{0, 1, 2, 3, 7, 64, 1000} {
			counts := make([]atomic.Int32, n)
			Do(n, func(i int) { counts[i].Add(1) })
			for i := range counts {
				if c := counts[i].Load(); c != 1 {
					t.Fatalf("procs %d n %d: index %d ran %d times", procs, n, i, c)
				}
			}
		}
		runtime.GOMAXPROCS(old)
	}
}

// TestDoNestedAndConcurrent checks that a Do inside f and Do from several
// goroutines at once complete every index (they run inline rather than
// deadlock on the busy pool).
func TestDoNestedAndConcurrent(t *testing.T) {
	old := runtime.GOMAXPROCS(2)
	defer runtime.GOMAXPROCS(old)
	var total atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < 50; r++ {
				Do(3, func(i int) {
					Do(4, func(k int) { total.Add(int64(i*4 + k + 1)) })
				})
			}
		}()
	}
	wg.Wait()
	// Each Do(3) adds sum_{i<3,k<4} (4i+k+1) = 78.
	if got, want := total.Load(), int64(4*50*78); got != want {
		t.Fatalf("total %d, want %d", got, want)
	}
}

// TestDoUsesHelpers checks that with two CPUs a second goroutine does take
// part: f(0) waits (bounded) until f(1) has started, which only a helper can
// make happen while the caller is inside f(0).
func TestDoUsesHelpers(t *testing.T) {
	old := runtime.GOMAXPROCS(2)
	defer runtime.GOMAXPROCS(old)
	overlapped := false
	for try := 0; try < 20 && !overlapped; try++ {
		var started atomic.Bool
		var saw atomic.Bool
		Do(2, func(i int) {
			if i == 1 {
				started.Store(true)
				return
			}
			deadline := time.Now().Add(100 * time.Millisecond)
			for time.Now().Before(deadline) {
				if started.Load() {
					saw.Store(true)
					return
				}
				runtime.Gosched()
			}
		})
		overlapped = saw.Load()
	}
	if !overlapped {
		t.Fatal("index 1 never ran while index 0 was running: no helper took part")
	}
}

// BenchmarkDoWake measures a Do of two tiny indices, the overhead a
// parallel kernel pays per call with a warm helper.
func BenchmarkDoWake(b *testing.B) {
	var sink atomic.Int64
	for b.Loop() {
		Do(2, func(i int) { sink.Add(int64(i)) })
	}
}
