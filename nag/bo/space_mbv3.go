package bo

import (
	"github.com/nagml/nag/nag/ofa"
	"github.com/nagml/nag/tensor"
)

// MBV3Space is the once-for-all MobileNetV3 space: 5 stages of 2-4 layers,
// each active layer one of 9 (kernel, expand) types; 20 x 9 node matrices
// over a chain. Too large to enumerate (about 2·10^19 networks).
type MBV3Space struct{}

// Name implements Space.
func (MBV3Space) Name() string { return "mbv3" }

// Random implements Space: OFA's sampler (depth 2/3/4 equally likely per
// stage, kernel and expansion uniform per layer).
func (MBV3Space) Random(rng *tensor.RNG) ofa.Arch { return ofa.Random(rng) }

// numChoices is the number of choices a mutation may redraw: one type per
// layer slot and one depth per stage.
const mbv3Choices = ofa.NumLayers + ofa.NumStages

// Mutate implements Space: every active layer's type and every stage's depth
// is redrawn to a different value with probability 1/25; if nothing changed,
// one of them is. Layers switched on by a deeper stage copy the type of the
// layer before them.
func (MBV3Space) Mutate(a ofa.Arch, rng *tensor.RNG) ofa.Arch {
	out := a
	changed := false
	for {
		for c := 0; c < mbv3Choices; c++ {
			if rng.IntN(mbv3Choices) == 0 && mbv3Redraw(&out, c, rng) {
				changed = true
			}
		}
		if changed {
			return out
		}
		if mbv3Redraw(&out, rng.IntN(mbv3Choices), rng) {
			return out
		}
	}
}

// mbv3Redraw changes choice c (a layer slot below NumLayers, else a stage's
// depth) to a different value; false when c is an inactive slot.
func mbv3Redraw(a *ofa.Arch, c int, rng *tensor.RNG) bool {
	if c < ofa.NumLayers {
		s := c / ofa.LayersPerStage
		if c%ofa.LayersPerStage >= a.D[s] {
			return false
		}
		cur := ofa.TypeOf(a.KS[c], a.E[c])
		t := rng.IntN(ofa.NumTypes - 1)
		if t >= cur {
			t++
		}
		a.KS[c], a.E[c] = ofa.Kernels[t/3], ofa.Expands[t%3]
		return true
	}
	s := c - ofa.NumLayers
	d := ofa.MinDepth + rng.IntN(ofa.MaxDepth-ofa.MinDepth)
	if d >= a.D[s] {
		d++
	}
	setDepth(a, s, d)
	return true
}

// setDepth changes stage s to depth d, clearing dropped slots and giving new
// ones the type of the layer before them.
func setDepth(a *ofa.Arch, s, d int) {
	base := s * ofa.LayersPerStage
	for l := 0; l < ofa.LayersPerStage; l++ {
		i := base + l
		switch {
		case l >= d:
			a.KS[i], a.E[i] = 0, 0
		case l >= a.D[s]:
			a.KS[i], a.E[i] = a.KS[i-1], a.E[i-1]
		}
	}
	a.D[s] = d
}

// Neighbours implements Space: every other type of each active layer and
// every other depth of each stage.
func (MBV3Space) Neighbours(a ofa.Arch) []ofa.Arch {
	var out []ofa.Arch
	for i := 0; i < ofa.NumLayers; i++ {
		s := i / ofa.LayersPerStage
		if i%ofa.LayersPerStage >= a.D[s] {
			continue
		}
		cur := ofa.TypeOf(a.KS[i], a.E[i])
		for t := 0; t < ofa.NumTypes; t++ {
			if t == cur {
				continue
			}
			b := a
			b.KS[i], b.E[i] = ofa.Kernels[t/3], ofa.Expands[t%3]
			out = append(out, b)
		}
	}
	for s := 0; s < ofa.NumStages; s++ {
		for d := ofa.MinDepth; d <= ofa.MaxDepth; d++ {
			if d == a.D[s] {
				continue
			}
			b := a
			setDepth(&b, s, d)
			out = append(out, b)
		}
	}
	return out
}

// mbv3FeatureDim is the flattened one-hot matrix plus a one-hot depth per stage.
const mbv3FeatureDim = ofa.NumLayers*ofa.NumTypes + ofa.NumStages*(ofa.MaxDepth-ofa.MinDepth+1)

// FeatureDim implements Space.
func (MBV3Space) FeatureDim() int { return mbv3FeatureDim }

// Features implements Space: the 20 x 9 one-hot matrix (zero rows for
// skipped layers) and the stage depths one-hot (the encoding BANANAS uses for
// chain-structured spaces, where paths carry nothing beyond the layers).
func (MBV3Space) Features(a ofa.Arch) []float32 {
	v := make([]float32, mbv3FeatureDim)
	x := a.OneHot()
	copy(v, x.Slice())
	off := ofa.NumLayers * ofa.NumTypes
	for s, d := range a.D {
		v[off+s*(ofa.MaxDepth-ofa.MinDepth+1)+d-ofa.MinDepth] = 1
	}
	return v
}

// OneHot implements Space.
func (MBV3Space) OneHot(archs []ofa.Arch) *tensor.Tensor { return ofa.OneHotBatch(archs) }

// Mask implements Space: the chain adjacency.
func (MBV3Space) Mask() *tensor.Tensor { return ofa.AdjacencyTensor() }

// Project implements Space: in every stage the first two layers are active,
// the third when its largest entry reaches 0.5, the fourth when the third is
// active and its largest entry reaches 0.5; an active layer takes its
// largest type.
func (MBV3Space) Project(x *tensor.Tensor) []ofa.Arch {
	d := x.Contiguous().Data()
	per := ofa.NumLayers * ofa.NumTypes
	out := make([]ofa.Arch, x.Dim(0))
	for b := range out {
		row := func(i int) []float32 { return d[b*per+i*ofa.NumTypes : b*per+(i+1)*ofa.NumTypes] }
		var a ofa.Arch
		for s := 0; s < ofa.NumStages; s++ {
			depth := ofa.MinDepth
			for l := ofa.MinDepth; l < ofa.MaxDepth; l++ {
				r := row(s*ofa.LayersPerStage + l)
				m := r[0]
				for _, v := range r[1:] {
					m = max(m, v)
				}
				if m < ofa.Threshold {
					break
				}
				depth++
			}
			a.D[s] = depth
			for l := 0; l < depth; l++ {
				i := s*ofa.LayersPerStage + l
				r := row(i)
				best := 0
				for t := 1; t < ofa.NumTypes; t++ {
					if r[t] > r[best] {
						best = t
					}
				}
				a.KS[i], a.E[i] = ofa.Kernels[best/3], ofa.Expands[best%3]
			}
		}
		out[b] = a
	}
	return out
}

// DecodeArgmax implements Space.
func (MBV3Space) DecodeArgmax(x *tensor.Tensor) ([]ofa.Arch, []error, error) {
	return ofa.DecodeBatch(x, ofa.DecodeArgmax)
}

// Parse implements Space.
func (MBV3Space) Parse(s string) (ofa.Arch, error) { return ofa.Parse(s) }

// Size implements Space: not enumerable.
func (MBV3Space) Size() int { return 0 }

// At implements Space.
func (MBV3Space) At(int) (ofa.Arch, bool) { return ofa.Arch{}, false }
