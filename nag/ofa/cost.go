package ofa

import "math"

// MakeDivisible rounds v to a multiple of divisor as OFA's make_divisible
// does: to the nearest multiple (at least divisor), bumped up one step when
// that loses more than 10%.
func MakeDivisible(v float64, divisor int) int {
	n := int(v+float64(divisor)/2) / divisor * divisor
	if n < divisor {
		n = divisor
	}
	if float64(n) < 0.9*v {
		n += divisor
	}
	return n
}

// base widths of OFAMobileNetV3 at width 1.0 and per-stage settings.
var (
	stageWidth  = [NumStages]int{24, 40, 80, 112, 160}
	stageStride = [NumStages]int{2, 2, 2, 1, 2}
	stageSE     = [NumStages]bool{false, true, false, true, true}
)

const (
	firstConvWidth  = 16
	firstBlockWidth = 16
	finalExpand     = 960
	featureMix      = 1280
	numClasses      = 1000
)

// Cost is the compute and size of one sub-network.
type Cost struct {
	MACs   int64 // multiply-accumulates of convs and the classifier (OFA "FLOPs")
	Params int64 // trainable parameters
}

// Cost returns the FLOPs (MACs) and parameters of the sub-network at input
// resolution r (square r x r) and width multiplier w (1.0 or 1.2 for the
// released supernets), for 1000 classes, with OFA's counting conventions:
// conv MACs = cin/groups·k·k·out_elements (SE 1x1 convs included), linear
// MACs = in·out; BN, activations, pooling, additions and biases are not
// counted. Params count conv weights, BN weight+bias, SE conv biases and the
// classifier weight+bias. The network (channels make_divisible(c·w, 8),
// stride-2 layers map H to ceil(H/2)) is described in the data README of
// ofa_mbv3.jsonl.gz.
func (a Arch) Cost(r int, w float64) Cost {
	var c Cost
	ch := func(base int) int { return MakeDivisible(float64(base)*w, 8) }
	conv := func(cin, cout, k, groups, h int) {
		c.MACs += int64(cin/groups) * int64(k*k) * int64(cout) * int64(h*h)
		c.Params += int64(cin/groups) * int64(k*k) * int64(cout)
	}
	bn := func(ch int) { c.Params += 2 * int64(ch) }
	down := func(h, stride int) int { return int(math.Ceil(float64(h) / float64(stride))) }

	// First conv 3x3 stride 2 + BN.
	h := down(r, 2)
	c0 := ch(firstConvWidth)
	conv(3, c0, 3, 1, h)
	bn(c0)
	// First block: depthwise 3x3 + BN, pointwise + BN (expand ratio 1).
	c1 := ch(firstBlockWidth)
	conv(c0, c0, 3, c0, h)
	bn(c0)
	conv(c0, c1, 1, 1, h)
	bn(c1)
	in := c1
	for s := 0; s < NumStages; s++ {
		out := ch(stageWidth[s])
		for j := 0; j < a.D[s]; j++ {
			i := s*LayersPerStage + j
			stride := 1
			if j == 0 {
				stride = stageStride[s]
			}
			mid := MakeDivisible(float64(in*a.E[i]), 8)
			conv(in, mid, 1, 1, h) // expand
			bn(mid)
			h = down(h, stride)
			conv(mid, mid, a.KS[i], mid, h) // depthwise
			bn(mid)
			if stageSE[s] {
				se := MakeDivisible(float64(mid/4), 8)
				conv(mid, se, 1, 1, 1)
				c.Params += int64(se) // bias
				conv(se, mid, 1, 1, 1)
				c.Params += int64(mid) // bias
			}
			conv(mid, out, 1, 1, h) // project
			bn(out)
			in = out
		}
	}
	fe := ch(finalExpand)
	conv(in, fe, 1, 1, h)
	bn(fe)
	fm := featureMix
	if w > 1.0 {
		fm = ch(featureMix)
	}
	conv(fe, fm, 1, 1, 1) // after global pooling; no BN, no bias
	c.MACs += int64(fm) * numClasses
	c.Params += int64(fm)*numClasses + numClasses
	return c
}
