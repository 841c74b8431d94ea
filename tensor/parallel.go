package tensor

import (
	"runtime"

	"github.com/nagml/nag/internal/par"
)

// parallelMin is the smallest amount of work (elements, weighted by cost)
// worth splitting across goroutines.
const parallelMin = 1 << 15

// parallelFor runs f over [0, n) in contiguous chunks, concurrently when the
// weighted size n·cost is large enough and more than one CPU is available.
// cost is a rough per-element cost relative to a simple add (1).
func parallelFor(n, cost int, f func(lo, hi int)) {
	workers := runtime.GOMAXPROCS(0)
	if w := n * cost / parallelMin; w < workers {
		workers = w
	}
	if workers <= 1 || n < 2 {
		f(0, n)
		return
	}
	chunk := (n + workers - 1) / workers
	par.Do((n+chunk-1)/chunk, func(i int) { f(i*chunk, min((i+1)*chunk, n)) })
}
