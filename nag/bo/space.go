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

// randomUnseen draws a uniformly random architecture that is not seen; ok
// is false when the space is exhausted (checked by enumeration where the
// space allows it).
func randomUnseen[A Arch](sp Space[A], rng *tensor.RNG, seen func(A) bool) (A, bool) {
	for try := 0; try < 1000; try++ {
		a := sp.Random(rng)
		if !seen(a) {
			return a, true
		}
	}
	// Nearly exhausted: scan from a random start.
	var zero A
	n := sp.Size()
	if n == 0 {
		return zero, false
	}
	start := rng.IntN(n)
	for k := 0; k < n; k++ {
		a, ok := sp.At((start + k) % n)
		if ok && !seen(a) {
			return a, true
		}
	}
	return zero, false
}

// Arch is what the loop can hold: a comparable architecture value with its
// canonical string (nb201.Arch, ofa.Arch).
type Arch interface {
	comparable
	String() string
}

// Space is a search space the BO loop and its methods work in: how to draw,
// mutate and enumerate neighbours of architectures, how surrogates see them
// (a fixed-length feature vector for the MLP ensemble; an N x V one-hot graph
// with a fixed adjacency for the GNN ensemble and the score network), and how
// samples of the score network become architectures.
type Space[A Arch] interface {
	// Name is the space's name in records ("nb201", "mbv3").
	Name() string
	Random(rng *tensor.RNG) A
	// Mutate returns a different architecture close to a.
	Mutate(a A, rng *tensor.RNG) A
	// Neighbours lists the architectures one choice away from a.
	Neighbours(a A) []A
	// FeatureDim and Features give the MLP surrogate's encoding.
	FeatureDim() int
	Features(a A) []float32
	// OneHot returns [len(archs), N, V] 0/1 node matrices; Mask the N x N
	// 0/1 adjacency the GNN surrogate propagates along.
	OneHot(archs []A) *tensor.Tensor
	Mask() *tensor.Tensor
	// Project maps data-space samples [B, N, V] (values near 0/1) to the
	// nearest valid architectures, one per sample; DecodeArgmax is the
	// stricter decoder that may reject samples (err[i] != nil).
	Project(x *tensor.Tensor) []A
	DecodeArgmax(x *tensor.Tensor) ([]A, []error, error)
	Parse(s string) (A, error)
	// Size is the number of architectures when they can be enumerated with
	// At(i), i < Size (0: too many to enumerate).
	Size() int
	At(i int) (A, bool)
}

// NB201Space is the NAS-Bench-201 cell space (15,625 cells).
type NB201Space struct{}

// Name implements Space.
func (NB201Space) Name() string { return "nb201" }

// Random implements Space.
func (NB201Space) Random(rng *tensor.RNG) nb201.Arch { return nb201.Random(rng) }

// Mutate implements Space.
func (NB201Space) Mutate(a nb201.Arch, rng *tensor.RNG) nb201.Arch { return Mutate(a, rng) }

// Neighbours implements Space.
func (NB201Space) Neighbours(a nb201.Arch) []nb201.Arch { return Neighbours(a) }

// FeatureDim implements Space (the BANANAS path encoding).
func (NB201Space) FeatureDim() int { return PathEncodingDim }

// Features implements Space.
func (NB201Space) Features(a nb201.Arch) []float32 { return PathEncoding(a) }

// OneHot implements Space.
func (NB201Space) OneHot(archs []nb201.Arch) *tensor.Tensor { return nb201.OneHotBatch(archs) }

// Mask implements Space: the default graph's attention mask.
func (NB201Space) Mask() *tensor.Tensor {
	m := nb201.DefaultGraphConfig().AttentionMask()
	return m.Tensor()
}

// Project implements Space: row k (1..6) becomes the operation whose node
// type has the largest entry.
func (NB201Space) Project(x *tensor.Tensor) []nb201.Arch { return projectBatch(x) }

// DecodeArgmax implements Space.
func (NB201Space) DecodeArgmax(x *tensor.Tensor) ([]nb201.Arch, []error, error) {
	return nb201.DecodeBatch(x, nb201.DecodeArgmax)
}

// Parse implements Space.
func (NB201Space) Parse(s string) (nb201.Arch, error) { return nb201.Parse(s) }

// Size implements Space.
func (NB201Space) Size() int { return nb201.NumArchs }

// At implements Space.
func (NB201Space) At(i int) (nb201.Arch, bool) {
	a, err := nb201.FromKey(i)
	return a, err == nil
}
