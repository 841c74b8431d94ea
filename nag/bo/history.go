package bo

import (
	"sort"
)

// Entry is one evaluated architecture.
type Entry[A Arch] struct {
	Arch  A
	Value float64 // the search value
	Test  float64 // the reported test value (NaN when unknown)
}

// History is the ordered list of evaluations of a run plus everything that
// must not be proposed again (evaluated or failed).
type History[A Arch] struct {
	Entries []Entry[A]
	seen    map[A]bool
}

// NewHistory returns an empty history.
func NewHistory[A Arch]() *History[A] { return &History[A]{seen: map[A]bool{}} }

// Len is the number of successful evaluations.
func (h *History[A]) Len() int { return len(h.Entries) }

// Seen reports whether a was evaluated (or failed) already.
func (h *History[A]) Seen(a A) bool { return h.seen[a] }

// Add appends an evaluation.
func (h *History[A]) Add(e Entry[A]) {
	h.Entries = append(h.Entries, e)
	h.seen[e.Arch] = true
}

// markFailed excludes a from further proposals without recording a value.
func (h *History[A]) markFailed(a A) { h.seen[a] = true }

// Best returns the index of the entry with the largest value (first on
// ties), or -1 when the history is empty.
func (h *History[A]) Best() int {
	best := -1
	for i, e := range h.Entries {
		if best < 0 || e.Value > h.Entries[best].Value {
			best = i
		}
	}
	return best
}

// Archs returns the evaluated architectures in order.
func (h *History[A]) Archs() []A {
	out := make([]A, len(h.Entries))
	for i, e := range h.Entries {
		out[i] = e.Arch
	}
	return out
}

// Values returns the search values in order.
func (h *History[A]) Values() []float64 {
	out := make([]float64, len(h.Entries))
	for i, e := range h.Entries {
		out[i] = e.Value
	}
	return out
}

// Top returns the k architectures with the largest values, best first
// (stable for ties: earlier evaluations first).
func (h *History[A]) Top(k int) []A {
	idx := make([]int, len(h.Entries))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return h.Entries[idx[a]].Value > h.Entries[idx[b]].Value })
	if k > len(idx) {
		k = len(idx)
	}
	out := make([]A, k)
	for i := 0; i < k; i++ {
		out[i] = h.Entries[idx[i]].Arch
	}
	return out
}
