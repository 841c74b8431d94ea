package ofa

import (
	"fmt"

	"github.com/nagml/nag/tensor"
)

// Decoder chooses how a continuous sample is turned into a 0/1 matrix.
type Decoder int

const (
	// DecodeThreshold sets each element to 1 when it is >= 0.5 (the
	// reference `quantize`, qtype 'threshold', alpha 0.5).
	DecodeThreshold Decoder = iota
	// DecodeArgmax makes each row one-hot at its largest element when that
	// element is >= 0.5 and leaves the row zero (a skipped layer) otherwise.
	DecodeArgmax
)

// String returns "threshold" or "argmax".
func (d Decoder) String() string {
	if d == DecodeArgmax {
		return "argmax"
	}
	return "threshold"
}

// Threshold is the quantisation threshold (alpha = 0.5).
const Threshold = 0.5

// Quantize returns the 0/1 matrix of a sample in [0,1] space.
func (x *X) Quantize(d Decoder) X {
	var q X
	for i := range x {
		if d == DecodeArgmax {
			best := 0
			for j := 1; j < NumTypes; j++ {
				if x[i][j] > x[i][best] {
					best = j
				}
			}
			if x[i][best] >= Threshold {
				q[i][best] = 1
			}
			continue
		}
		for j := range x[i] {
			if x[i][j] >= Threshold {
				q[i][j] = 1
			}
		}
	}
	return q
}

// InvalidError reports why a quantised matrix is not a valid sub-network.
type InvalidError struct {
	Rule string // "NOT_BINARY", "MULTIPLE_TYPES", "MISSING_LAYER", "GAP"
	Row  int
}

// Error implements error.
func (e *InvalidError) Error() string {
	msg := map[string]string{
		"NOT_BINARY":     "an entry is neither 0 nor 1",
		"MULTIPLE_TYPES": "the row has more than one type",
		"MISSING_LAYER":  "the first two layers of a stage must be present",
		"GAP":            "layer 3 of the stage is skipped but layer 4 is present",
	}[e.Rule]
	return fmt.Sprintf("ofa: invalid node matrix: %s at row %d (%s)", e.Rule, e.Row, msg)
}

// Validate applies the reference rules (is_valid_OFA_x, reference §1.4) to
// a quantised matrix: no row sums to more than 1; layers 1 and 2 of every
// stage are non-empty; if layer 3 is empty, layer 4 is empty too.
func (x *X) Validate() error {
	sums := [NumLayers]float32{}
	for i := range x {
		for _, v := range x[i] {
			if v != 0 && v != 1 {
				return &InvalidError{Rule: "NOT_BINARY", Row: i}
			}
			sums[i] += v
		}
		if sums[i] > 1 {
			return &InvalidError{Rule: "MULTIPLE_TYPES", Row: i}
		}
	}
	for s := 0; s < NumStages; s++ {
		b := s * LayersPerStage
		for _, i := range []int{b, b + 1} {
			if sums[i] == 0 {
				return &InvalidError{Rule: "MISSING_LAYER", Row: i}
			}
		}
		if sums[b+2] == 0 && sums[b+3] != 0 {
			return &InvalidError{Rule: "GAP", Row: b + 3}
		}
	}
	return nil
}

// Arch decodes a quantised matrix after validating it.
func (x *X) Arch() (Arch, error) {
	if err := x.Validate(); err != nil {
		return Arch{}, err
	}
	var a Arch
	for i := range x {
		for t, v := range x[i] {
			if v == 1 {
				a.KS[i], a.E[i] = Kernels[t/3], Expands[t%3]
				a.D[i/LayersPerStage]++
			}
		}
	}
	return a, nil
}

// Decode quantises a continuous sample (in [0,1] space) with d and decodes it.
func Decode(x X, d Decoder) (Arch, error) {
	q := x.Quantize(d)
	return q.Arch()
}

// DecodeBatch decodes a [B, 20, 9] tensor of samples (in [0,1] space),
// returning one Arch and one error (nil when valid) per sample.
func DecodeBatch(t *tensor.Tensor, d Decoder) ([]Arch, []error, error) {
	sh := t.Shape()
	if len(sh) != 3 || sh[1] != NumLayers || sh[2] != NumTypes {
		return nil, nil, fmt.Errorf("ofa: decode: want a [B, 20, 9] tensor, have shape %v", sh)
	}
	data := t.Contiguous().Data()
	n := sh[0]
	archs := make([]Arch, n)
	errs := make([]error, n)
	const sz = NumLayers * NumTypes
	for b := 0; b < n; b++ {
		x, _ := XFromSlice(data[b*sz : (b+1)*sz])
		archs[b], errs[b] = Decode(x, d)
	}
	return archs, errs, nil
}
