package bo

import (
	"sort"

	"github.com/nagml/nag/nag/nb201"
)

// Entry is one evaluated architecture.
type Entry struct {
	Arch  nb201.Arch
	Value float64 // the search value
	Test  float64 // the reported test value (NaN when unknown)
}

// History is the ordered list of evaluations of a run plus everything that
// must not be proposed again (evaluated or failed).
type History struct {
	Entries []Entry
	seen    map[nb201.Arch]bool
}

// NewHistory returns an empty history.
func NewHistory() *History { return &History{seen: map[nb201.Arch]bool{}} }

// Len is the number of successful evaluations.
func (h *History) Len() int { return len(h.Entries) }

// Seen reports whether a was evaluated (or failed) already.
func (h *History) Seen(a nb201.Arch) bool { return h.seen[a] }

// Add appends an evaluation.
func (h *History) Add(e Entry) {
	h.Entries = append(h.Entries, e)
	h.seen[e.Arch] = true
}

// markFailed excludes a from further proposals without recording a value.
func (h *History) markFailed(a nb201.Arch) { h.seen[a] = true }

// Best returns the index of the entry with the largest value (first on
// ties), or -1 when the history is empty.
func (h *History) Best() int {
	best := -1
	for i, e := range h.Entries {
		if best < 0 || e.Value > h.Entries[best].Value {
			best = i
		}
	}
	return best
}

// Archs returns the evaluated architectures in order.
func (h *History) Archs() []nb201.Arch {
	out := make([]nb201.Arch, len(h.Entries))
	for i, e := range h.Entries {
		out[i] = e.Arch
	}
	return out
}

// Values returns the search values in order.
func (h *History) Values() []float64 {
	out := make([]float64, len(h.Entries))
	for i, e := range h.Entries {
		out[i] = e.Value
	}
	return out
}

// Top returns the k architectures with the largest values, best first
// (stable for ties: earlier evaluations first).
func (h *History) Top(k int) []nb201.Arch {
	idx := make([]int, len(h.Entries))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return h.Entries[idx[a]].Value > h.Entries[idx[b]].Value })
	if k > len(idx) {
		k = len(idx)
	}
	out := make([]nb201.Arch, k)
	for i := 0; i < k; i++ {
		out[i] = h.Entries[idx[i]].Arch
	}
	return out
}
