package nb201

import (
	"fmt"

	"github.com/nagml/nag/tensor"
)

// Node-type vocabulary of the one-hot matrix (reference §1.1, n_vocab = 7).
const (
	TypeInput   = 0 // row 0
	TypeOutput  = 1 // row 7
	TypeNone    = 2
	TypeSkip    = 3
	TypeConv1x1 = 4
	TypeConv3x3 = 5
	TypeAvgPool = 6
)

// NumNodes is the number of graph nodes (input, six operations, output) and
// NumTypes the vocabulary size: the one-hot matrix is NumNodes x NumTypes.
const (
	NumNodes = 8
	NumTypes = 7
)

// TypeNames lists the vocabulary in index order.
var TypeNames = [NumTypes]string{"input", "output", "none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"}

// X is the 8x7 node-feature matrix: row 0 input, rows 1..6 the edge
// operations in string order, row 7 output. For an architecture it is
// one-hot; samples of the diffusion model are continuous (in [0,1] after
// the inverse scaler (x+1)/2).
type X [NumNodes][NumTypes]float32

// OneHot returns the architecture's one-hot node matrix.
func (a Arch) OneHot() X {
	var x X
	x[0][TypeInput] = 1
	for i, o := range a {
		x[i+1][o.Type()] = 1
	}
	x[NumNodes-1][TypeOutput] = 1
	return x
}

// Slice returns the matrix as a new row-major []float32 of length 56.
func (x *X) Slice() []float32 {
	out := make([]float32, 0, NumNodes*NumTypes)
	for i := range x {
		out = append(out, x[i][:]...)
	}
	return out
}

// Tensor returns the matrix as a new [8, 7] tensor.
func (x *X) Tensor() *tensor.Tensor { return tensor.FromSlice(x.Slice(), NumNodes, NumTypes) }

// XFromSlice reads a row-major 8x7 matrix.
func XFromSlice(s []float32) (X, error) {
	var x X
	if len(s) != NumNodes*NumTypes {
		return x, fmt.Errorf("nb201: node matrix needs %d values (8x7), have %d", NumNodes*NumTypes, len(s))
	}
	for i := range x {
		copy(x[i][:], s[i*NumTypes:(i+1)*NumTypes])
	}
	return x, nil
}

// OneHotBatch stacks the one-hot matrices of archs into a [len(archs), 8, 7]
// tensor.
func OneHotBatch(archs []Arch) *tensor.Tensor {
	data := make([]float32, 0, len(archs)*NumNodes*NumTypes)
	for _, a := range archs {
		x := a.OneHot()
		data = append(data, x.Slice()...)
	}
	return tensor.FromSlice(data, len(archs), NumNodes, NumTypes)
}

// Decoder chooses how a continuous sample is turned into a 0/1 matrix.
type Decoder int

const (
	// DecodeThreshold sets each element to 1 when it is >= 0.5, else 0
	// (the reference `quantize`, §4.3). Rows may end up with zero or several
	// ones, which the validity check then rejects.
	DecodeThreshold Decoder = iota
	// DecodeArgmax sets the largest element of each row to 1 and the rest
	// to 0 (ties: lowest type index). Every row is then one-hot; the row
	// types can still be invalid (e.g. input on an operation row).
	DecodeArgmax
)

// String returns "threshold" or "argmax".
func (d Decoder) String() string {
	switch d {
	case DecodeThreshold:
		return "threshold"
	case DecodeArgmax:
		return "argmax"
	}
	return fmt.Sprintf("Decoder(%d)", int(d))
}

// ParseDecoder reads "threshold" or "argmax".
func ParseDecoder(s string) (Decoder, error) {
	switch s {
	case "threshold":
		return DecodeThreshold, nil
	case "argmax":
		return DecodeArgmax, nil
	}
	return 0, fmt.Errorf("nb201: unknown decoder %q (want threshold or argmax)", s)
}

// Threshold is the quantisation threshold of the reference (alpha = 0.5).
const Threshold = 0.5

// Quantize applies the decoder element- or row-wise and returns a 0/1 matrix.
func (x *X) Quantize(d Decoder) X {
	var q X
	for i := range x {
		switch d {
		case DecodeArgmax:
			best := 0
			for j := 1; j < NumTypes; j++ {
				if x[i][j] > x[i][best] {
					best = j
				}
			}
			q[i][best] = 1
		default:
			for j := range x[i] {
				if x[i][j] >= Threshold {
					q[i][j] = 1
				}
			}
		}
	}
	return q
}

// InvalidKind names the rule a quantised matrix breaks (reference §1.4).
type InvalidKind int

const (
	// MultipleNodeTypes: a row does not sum to exactly 1 (several types or
	// none at all).
	MultipleNodeTypes InvalidKind = iota + 1
	// NoStartEnd: row 0 is not the input type or row 7 is not the output type.
	NoStartEnd
	// IntermStartEnd: an operation row (1..6) has the input or output type.
	IntermStartEnd
	// NotBinary: an entry is neither 0 nor 1 (the matrix was not quantised).
	NotBinary
)

// String returns the reference's name of the rule.
func (k InvalidKind) String() string {
	switch k {
	case MultipleNodeTypes:
		return "MULTIPLE_NODE_TYPES"
	case NoStartEnd:
		return "No_START_END"
	case IntermStartEnd:
		return "INTERM_START_END"
	case NotBinary:
		return "NOT_BINARY"
	}
	return fmt.Sprintf("InvalidKind(%d)", int(k))
}

// InvalidError reports why a quantised matrix is not a valid architecture.
type InvalidError struct {
	Kind InvalidKind
	Row  int // the offending row
}

// Error implements error.
func (e *InvalidError) Error() string {
	return fmt.Sprintf("nb201: invalid node matrix: %s at row %d", e.Kind, e.Row)
}

// Validate checks a quantised (0/1) matrix with the reference rules in the
// reference order (§1.4): every row sums to exactly 1; row 0 is input and
// row 7 is output; no operation row is input or output. It returns an
// *InvalidError or nil.
func (x *X) Validate() error {
	for i := range x {
		for _, v := range x[i] {
			if v != 0 && v != 1 {
				return &InvalidError{Kind: NotBinary, Row: i}
			}
		}
	}
	for i := range x {
		var s float32
		for _, v := range x[i] {
			s += v
		}
		if s != 1 {
			return &InvalidError{Kind: MultipleNodeTypes, Row: i}
		}
	}
	if x[0][TypeInput] != 1 {
		return &InvalidError{Kind: NoStartEnd, Row: 0}
	}
	if x[NumNodes-1][TypeOutput] != 1 {
		return &InvalidError{Kind: NoStartEnd, Row: NumNodes - 1}
	}
	for i := 1; i < NumNodes-1; i++ {
		if x[i][TypeInput] == 1 || x[i][TypeOutput] == 1 {
			return &InvalidError{Kind: IntermStartEnd, Row: i}
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
	for e := 0; e < NumEdges; e++ {
		for j := TypeNone; j < NumTypes; j++ {
			if x[e+1][j] == 1 {
				a[e] = Op(j - TypeNone)
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

// DecodeBatch decodes a [B, 8, 7] tensor of samples (in [0,1] space). It
// returns one Arch and one error (nil when valid) per sample.
func DecodeBatch(t *tensor.Tensor, d Decoder) ([]Arch, []error, error) {
	sh := t.Shape()
	if len(sh) != 3 || sh[1] != NumNodes || sh[2] != NumTypes {
		return nil, nil, fmt.Errorf("nb201: decode: want a [B, 8, 7] tensor, have shape %v", sh)
	}
	data := t.Contiguous().Data()
	n := sh[0]
	archs := make([]Arch, n)
	errs := make([]error, n)
	for b := 0; b < n; b++ {
		x, _ := XFromSlice(data[b*NumNodes*NumTypes : (b+1)*NumNodes*NumTypes])
		archs[b], errs[b] = Decode(x, d)
	}
	return archs, errs, nil
}
