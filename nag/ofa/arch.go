// Package ofa implements the Once-for-All (OFA) MobileNetV3 search space as
// DiffusionNAG encodes it (reference §1.3): 5 stages of 2..4 MBConv layers,
// each layer with kernel 3/5/7 and expand ratio 3/4/6, as a 20x9 one-hot
// matrix whose rows for skipped layers are zero, over a fixed chain
// adjacency. It also gives the string form, OFA's ks/e/d lists, validity,
// uniform sampling, and FLOPs/params of the sub-network at a resolution and
// width multiplier.
package ofa

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nagml/nag/tensor"
)

// Space dimensions.
const (
	NumStages      = 5
	LayersPerStage = 4
	NumLayers      = NumStages * LayersPerStage // 20 rows
	NumTypes       = 9                          // kernel x expand
	MinDepth       = 2
	MaxDepth       = 4
)

// Kernels and Expands are the allowed kernel sizes and expand ratios, in
// vocabulary order (type = 3*kernelIndex + expandIndex, kernel-major).
var (
	Kernels = [3]int{3, 5, 7}
	Expands = [3]int{3, 4, 6}
	Depths  = [3]int{2, 3, 4}
)

func kernelIndex(k int) int {
	for i, v := range Kernels {
		if v == k {
			return i
		}
	}
	return -1
}

func expandIndex(e int) int {
	for i, v := range Expands {
		if v == e {
			return i
		}
	}
	return -1
}

// TypeOf returns the vocabulary index of a (kernel, expand) pair, or -1.
func TypeOf(kernel, expand int) int {
	ki, ei := kernelIndex(kernel), expandIndex(expand)
	if ki < 0 || ei < 0 {
		return -1
	}
	return 3*ki + ei
}

// TypeName returns the reference's name of vocabulary entry t, "{k}-{e}".
func TypeName(t int) string { return fmt.Sprintf("%d-%d", Kernels[t/3], Expands[t%3]) }

// Arch is one OFA MobileNetV3 sub-network (without the input resolution).
// Slot i = 4*stage + layer; KS[i] and E[i] are 0 for inactive slots
// (layer >= D[stage]).
type Arch struct {
	KS [NumLayers]int
	E  [NumLayers]int
	D  [NumStages]int
}

// Validate checks depths in 2..4, kernels/expands in range on active slots
// and zeros on inactive ones.
func (a Arch) Validate() error {
	for s, d := range a.D {
		if d < MinDepth || d > MaxDepth {
			return fmt.Errorf("ofa: stage %d depth %d, want 2..4", s, d)
		}
		for j := 0; j < LayersPerStage; j++ {
			i := s*LayersPerStage + j
			if j < d {
				if kernelIndex(a.KS[i]) < 0 {
					return fmt.Errorf("ofa: layer %d (stage %d): kernel %d, want 3, 5 or 7", i, s, a.KS[i])
				}
				if expandIndex(a.E[i]) < 0 {
					return fmt.Errorf("ofa: layer %d (stage %d): expand ratio %d, want 3, 4 or 6", i, s, a.E[i])
				}
			} else if a.KS[i] != 0 || a.E[i] != 0 {
				return fmt.Errorf("ofa: layer %d (stage %d) is beyond depth %d but has kernel %d, expand %d (want 0)", i, s, d, a.KS[i], a.E[i])
			}
		}
	}
	return nil
}

// FromLists builds an Arch from OFA's lists: ks and e of length 20, d of
// length 5. Values in inactive slots (layer >= d[stage]) are ignored and
// zeroed, as OFA ignores them.
func FromLists(ks, e, d []int) (Arch, error) {
	var a Arch
	if len(ks) != NumLayers || len(e) != NumLayers || len(d) != NumStages {
		return a, fmt.Errorf("ofa: want ks[20], e[20], d[5]; have ks[%d], e[%d], d[%d]", len(ks), len(e), len(d))
	}
	copy(a.D[:], d)
	for s := 0; s < NumStages; s++ {
		for j := 0; j < LayersPerStage && j < d[s]; j++ {
			i := s*LayersPerStage + j
			a.KS[i], a.E[i] = ks[i], e[i]
		}
	}
	return a, a.Validate()
}

// Lists returns OFA's ks, e, d lists (0 in inactive slots).
func (a Arch) Lists() (ks, e, d []int) {
	return append([]int(nil), a.KS[:]...), append([]int(nil), a.E[:]...), append([]int(nil), a.D[:]...)
}

// String returns DiffusionNAG's string form: 20 tokens "{d}-{ks}-{e}" (d the
// stage depth) or "0-0-0" for a skipped layer, joined by '_'.
func (a Arch) String() string {
	var b strings.Builder
	for i := 0; i < NumLayers; i++ {
		if i > 0 {
			b.WriteByte('_')
		}
		if a.KS[i] == 0 {
			b.WriteString("0-0-0")
			continue
		}
		fmt.Fprintf(&b, "%d-%d-%d", a.D[i/LayersPerStage], a.KS[i], a.E[i])
	}
	return b.String()
}

// Parse reads the string form. Errors name the token (layer) and its byte
// offset.
func Parse(s string) (Arch, error) {
	var a Arch
	toks := strings.Split(s, "_")
	if len(toks) != NumLayers {
		return a, fmt.Errorf("ofa: arch string %q: %d '_'-separated tokens, want 20", truncate(s), len(toks))
	}
	off := 0
	var depthTok [NumStages]int
	for i, tok := range toks {
		bad := func(format string, args ...any) error {
			return fmt.Errorf("ofa: arch string token %d (layer %d, offset %d) %q: %s", i+1, i, off, tok, fmt.Sprintf(format, args...))
		}
		parts := strings.Split(tok, "-")
		if len(parts) != 3 {
			return Arch{}, bad("want \"d-ks-e\"")
		}
		var v [3]int
		for k, p := range parts {
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 || strings.TrimSpace(p) != p || (len(p) > 1 && p[0] == '0') {
				return Arch{}, bad("%q is not a small non-negative integer", p)
			}
			v[k] = n
		}
		s, j := i/LayersPerStage, i%LayersPerStage
		if v == [3]int{} {
			off += len(tok) + 1
			continue
		}
		if v[0] == 0 || v[1] == 0 || v[2] == 0 {
			return Arch{}, bad("a skipped layer must be \"0-0-0\"")
		}
		if j != a.D[s] {
			return Arch{}, bad("active layer after a skipped one in stage %d", s)
		}
		if kernelIndex(v[1]) < 0 {
			return Arch{}, bad("kernel %d, want 3, 5 or 7", v[1])
		}
		if expandIndex(v[2]) < 0 {
			return Arch{}, bad("expand ratio %d, want 3, 4 or 6", v[2])
		}
		if depthTok[s] == 0 {
			depthTok[s] = v[0]
		} else if depthTok[s] != v[0] {
			return Arch{}, bad("depth %d differs from %d given earlier in stage %d", v[0], depthTok[s], s)
		}
		a.D[s]++
		a.KS[i], a.E[i] = v[1], v[2]
		off += len(tok) + 1
	}
	for s := 0; s < NumStages; s++ {
		if a.D[s] < MinDepth {
			return Arch{}, fmt.Errorf("ofa: arch string: stage %d has %d active layers, want 2..4", s, a.D[s])
		}
		if depthTok[s] != a.D[s] {
			return Arch{}, fmt.Errorf("ofa: arch string: stage %d tokens say depth %d but %d layers are active", s, depthTok[s], a.D[s])
		}
	}
	return a, nil
}

func truncate(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// X is the 20x9 node-feature matrix: one-hot type per active layer, zero
// rows for skipped layers.
type X [NumLayers][NumTypes]float32

// OneHot returns the architecture's matrix.
func (a Arch) OneHot() X {
	var x X
	for i := range x {
		if a.KS[i] != 0 {
			x[i][TypeOf(a.KS[i], a.E[i])] = 1
		}
	}
	return x
}

// Slice returns the matrix as a new row-major []float32 of length 180.
func (x *X) Slice() []float32 {
	out := make([]float32, 0, NumLayers*NumTypes)
	for i := range x {
		out = append(out, x[i][:]...)
	}
	return out
}

// Tensor returns the matrix as a new [20, 9] tensor.
func (x *X) Tensor() *tensor.Tensor { return tensor.FromSlice(x.Slice(), NumLayers, NumTypes) }

// XFromSlice reads a row-major 20x9 matrix.
func XFromSlice(s []float32) (X, error) {
	var x X
	if len(s) != NumLayers*NumTypes {
		return x, fmt.Errorf("ofa: node matrix needs %d values (20x9), have %d", NumLayers*NumTypes, len(s))
	}
	for i := range x {
		copy(x[i][:], s[i*NumTypes:(i+1)*NumTypes])
	}
	return x, nil
}

// OneHotBatch stacks matrices into a [len(archs), 20, 9] tensor.
func OneHotBatch(archs []Arch) *tensor.Tensor {
	data := make([]float32, 0, len(archs)*NumLayers*NumTypes)
	for _, a := range archs {
		x := a.OneHot()
		data = append(data, x.Slice()...)
	}
	return tensor.FromSlice(data, len(archs), NumLayers, NumTypes)
}

// Adjacency returns the fixed 20x20 chain A[i][i+1] = 1 (also the attention
// mask: the reference's mask algorithm for OFA is 'none').
func Adjacency() [NumLayers][NumLayers]float32 {
	var a [NumLayers][NumLayers]float32
	for i := 0; i+1 < NumLayers; i++ {
		a[i][i+1] = 1
	}
	return a
}

// AdjacencyTensor returns Adjacency as a [20, 20] tensor.
func AdjacencyTensor() *tensor.Tensor {
	a := Adjacency()
	data := make([]float32, 0, NumLayers*NumLayers)
	for i := range a {
		data = append(data, a[i][:]...)
	}
	return tensor.FromSlice(data, NumLayers, NumLayers)
}

// Random draws a sub-network as OFA's sample_active_subnet does: each
// stage depth uniform in {2,3,4}, each active layer's kernel and expand
// ratio uniform and independent.
func Random(rng *tensor.RNG) Arch {
	var a Arch
	for s := 0; s < NumStages; s++ {
		a.D[s] = Depths[rng.IntN(len(Depths))]
		for j := 0; j < a.D[s]; j++ {
			i := s*LayersPerStage + j
			a.KS[i] = Kernels[rng.IntN(3)]
			a.E[i] = Expands[rng.IntN(3)]
		}
	}
	return a
}

// NumArchs returns the number of distinct sub-networks: (9^2 + 9^3 + 9^4)^5.
func NumArchs() float64 {
	per := 81.0 + 729 + 6561
	return per * per * per * per * per
}

// RandomUniform draws uniformly from the distinct sub-networks: a stage has
// 9^d configurations of depth d, so depth d is drawn with probability
// 9^d / (9^2 + 9^3 + 9^4), then each active layer uniformly. (Random, OFA's
// sampler, gives every depth probability 1/3 instead.)
func RandomUniform(rng *tensor.RNG) Arch {
	var a Arch
	for s := 0; s < NumStages; s++ {
		u := rng.IntN(81 + 729 + 6561)
		switch {
		case u < 81:
			a.D[s] = 2
		case u < 81+729:
			a.D[s] = 3
		default:
			a.D[s] = 4
		}
		for j := 0; j < a.D[s]; j++ {
			i := s*LayersPerStage + j
			a.KS[i] = Kernels[rng.IntN(3)]
			a.E[i] = Expands[rng.IntN(3)]
		}
	}
	return a
}
