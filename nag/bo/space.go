package bo

import (
	"github.com/nagml/nag/nag/nb201"
	"github.com/nagml/nag/tensor"
)

// Mutate returns a copy of a with at least one edge changed: every edge is
// re-drawn with probability 1/6 to a different operation, and if none was
// chosen one uniformly chosen edge is (NASLib-style mutation of NB201 cells).
func Mutate(a nb201.Arch, rng *tensor.RNG) nb201.Arch {
	out := a
	changed := false
	for e := range out {
		if rng.IntN(nb201.NumEdges) == 0 {
			out[e] = otherOp(out[e], rng)
			changed = true
		}
	}
	if !changed {
		e := rng.IntN(nb201.NumEdges)
		out[e] = otherOp(out[e], rng)
	}
	return out
}

// otherOp draws an operation different from o uniformly.
func otherOp(o nb201.Op, rng *tensor.RNG) nb201.Op {
	k := nb201.Op(rng.IntN(nb201.NumOps - 1))
	if k >= o {
		k++
	}
	return k
}

// Neighbours returns the 24 cells that differ from a in exactly one edge,
// edge by edge, operations in increasing order.
func Neighbours(a nb201.Arch) []nb201.Arch {
	out := make([]nb201.Arch, 0, nb201.NumEdges*(nb201.NumOps-1))
	for e := 0; e < nb201.NumEdges; e++ {
		for o := nb201.Op(0); o < nb201.NumOps; o++ {
			if o == a[e] {
				continue
			}
			b := a
			b[e] = o
			out = append(out, b)
		}
	}
	return out
}

// nb201Paths lists the input→output paths of the NB201 cell as edge indices
// in string order: 0→3, 0→1→3, 0→2→3, 0→1→2→3.
var nb201Paths = [][]int{{3}, {0, 4}, {1, 5}, {0, 2, 5}}

// PathEncodingDim is the length of PathEncoding: one entry per sequence of
// 1 to 3 non-zero operations (4 + 16 + 64).
const PathEncodingDim = 4 + 16 + 64

// PathEncoding is the BANANAS path encoding of an NB201 cell: a 0/1 vector
// with one entry per possible input→output path labelled with its sequence
// of operations. A path through a "none" edge carries no signal and is
// left out, so only the four ops skip, conv 1x1, conv 3x3 and avg pool label
// paths.
func PathEncoding(a nb201.Arch) []float32 {
	v := make([]float32, PathEncodingDim)
	offsets := []int{0, 0, 4, 20}
	for _, p := range nb201Paths {
		idx, ok := 0, true
		for _, e := range p {
			if a[e] == nb201.None {
				ok = false
				break
			}
			idx = idx*4 + int(a[e]) - 1
		}
		if ok {
			v[offsets[len(p)]+idx] = 1
		}
	}
	return v
}

// randomUnseen draws a uniformly random cell that is not in seen (nor in
// extra); ok is false when the space is exhausted.
func randomUnseen(rng *tensor.RNG, seen func(nb201.Arch) bool) (nb201.Arch, bool) {
	for try := 0; try < 1000; try++ {
		a := nb201.Random(rng)
		if !seen(a) {
			return a, true
		}
	}
	// Nearly exhausted: scan from a random start.
	start := rng.IntN(nb201.NumArchs)
	for k := 0; k < nb201.NumArchs; k++ {
		a, err := nb201.FromKey((start + k) % nb201.NumArchs)
		if err == nil && !seen(a) {
			return a, true
		}
	}
	return nb201.Arch{}, false
}
