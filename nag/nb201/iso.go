package nb201

import (
	"sort"
	"strings"
)

// Canonical returns a canonical form of the cell under NB201's notion of
// isomorphism (the one behind the benchmark's "unique" architectures and the
// `iso_index` column): two cells are isomorphic when their canonical forms
// are equal.
//
// Each cell node is written as the sorted '+'-join of its incoming terms,
// where an incoming edge contributes
//   - "#" if its op is none or its source node is exactly "#" (a zero input),
//   - the source's form itself for skip_connect,
//   - "(" + source form + ")@" + op name otherwise.
//
// The form of node 3 is the result. Sorting makes the sum over incoming
// edges order-free; skip_connect is transparent. Note that a node whose
// several inputs are all zero is written "#+#" (not "#"), so it is not treated
// as zero downstream; this matches the benchmark's 6,466 classes exactly.
func (a Arch) Canonical() string {
	var nodes [4]string
	nodes[0] = "0"
	e := 0
	terms := make([]string, 0, 3)
	for j := 1; j <= 3; j++ {
		terms = terms[:0]
		for i := 0; i < j; i++ {
			op, src := a[e], nodes[i]
			e++
			switch {
			case op == None || src == "#":
				terms = append(terms, "#")
			case op == Skip:
				terms = append(terms, src)
			default:
				terms = append(terms, "("+src+")@"+op.String())
			}
		}
		sort.Strings(terms)
		nodes[j] = strings.Join(terms, "+")
	}
	return nodes[3]
}

// IsoClasses groups archs by Canonical form and returns, for each position,
// the smallest position whose cell is isomorphic to it (the class
// representative). Applied to the benchmark rows in index order it yields
// the `iso_index` column.
func IsoClasses(archs []Arch) []int {
	first := make(map[string]int, len(archs))
	out := make([]int, len(archs))
	for i, a := range archs {
		c := a.Canonical()
		if r, ok := first[c]; ok {
			out[i] = r
		} else {
			first[c] = i
			out[i] = i
		}
	}
	return out
}
