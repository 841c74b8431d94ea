// Package torchpt reads PyTorch .pt files without Python: both torch
// serialisation formats (the zip archive of torch >= 1.6 and the older
// "legacy" stream of magic number, protocol, sys-info, pickle, storage keys
// and raw storages), unpickled with github.com/nlpodyssey/gopickle.
//
// Pickled values become plain Go values:
//
//	None → nil; bool; int → int64 (*big.Int when it does not fit);
//	float → float64; str → string; bytes → []byte;
//	list → []any; tuple → Tuple; dict / OrderedDict → *Dict;
//	torch tensors, parameters and numpy arrays → *Tensor;
//	numpy scalars → float64, int64 or bool;
//	ml_collections ConfigDict → *Dict of its fields; torch.device → string.
//
// Objects of any other class (e.g. the igraph.Graph objects in DiffusionNAG's
// meta-training file) cannot be represented; they become *Object values
// holding only the class name, and File.Notes says what was skipped. They
// never make loading fail.
package torchpt

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strings"
)

// DType is an element type of a tensor or numpy array.
type DType int

// Element types.
const (
	Float32 DType = iota
	Float64
	Float16
	BFloat16
	Int64
	Int32
	Int16
	Int8
	Uint8
	Bool
)

var dtypeInfo = [...]struct {
	name string
	size int
}{
	Float32: {"float32", 4}, Float64: {"float64", 8}, Float16: {"float16", 2}, BFloat16: {"bfloat16", 2},
	Int64: {"int64", 8}, Int32: {"int32", 4}, Int16: {"int16", 2}, Int8: {"int8", 1}, Uint8: {"uint8", 1}, Bool: {"bool", 1},
}

// String returns the dtype name, e.g. "float32".
func (d DType) String() string { return dtypeInfo[d].name }

// Size returns the element size in bytes.
func (d DType) Size() int { return dtypeInfo[d].size }

// IsFloat reports whether the dtype is a floating-point type.
func (d DType) IsFloat() bool { return d <= BFloat16 }

// storage is a flat buffer of raw little-endian (or big-endian, for numpy
// '>' arrays) elements. A legacy-format view refers to a root storage.
type storage struct {
	dtype  DType
	numel  int
	data   []byte
	big    bool     // big-endian elements
	root   *storage // non-nil for a view
	offset int      // element offset into root
}

func (s *storage) bytes() []byte {
	if s.root != nil {
		b := s.root.bytes()
		sz, elems := s.dtype.Size(), len(b)/s.dtype.Size()
		if s.offset < 0 || s.numel < 0 || s.offset > elems || s.numel > elems-s.offset {
			return nil // a view outside its root: check() reports it
		}
		return b[s.offset*sz : (s.offset+s.numel)*sz]
	}
	return s.data
}

func (s *storage) bigEndian() bool {
	if s.root != nil {
		return s.root.bigEndian()
	}
	return s.big
}

// Tensor is a torch tensor or numpy array: a dtype, a shape, and a strided
// view into a storage.
type Tensor struct {
	DType  DType
	Shape  []int
	Source string // "torch" or "numpy"
	st     *storage
	offset int
	stride []int
}

// Len returns the number of elements.
func (t *Tensor) Len() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// check verifies that every element the view addresses lies in the storage.
func (t *Tensor) check() error {
	if len(t.stride) != len(t.Shape) {
		return fmt.Errorf("torchpt: tensor has %d strides for shape %v", len(t.stride), t.Shape)
	}
	for i, d := range t.Shape {
		if d < 0 || t.stride[i] < 0 {
			return fmt.Errorf("torchpt: tensor shape %v strides %v not supported", t.Shape, t.stride)
		}
		if d == 0 {
			return nil // no elements
		}
	}
	b := t.st.bytes()
	elems := len(b) / t.DType.Size()
	tooBig := fmt.Errorf("torchpt: tensor shape %v (offset %d, strides %v) exceeds its storage of %d bytes", t.Shape, t.offset, t.stride, len(b))
	if t.offset < 0 || t.offset >= elems {
		return tooBig
	}
	// The last element's offset, added up without overflow: every term must
	// fit in what is left of the storage.
	maxOff, n := t.offset, 1
	for i, d := range t.Shape {
		if st := t.stride[i]; st > 0 && d-1 > (elems-1-maxOff)/st {
			return tooBig
		}
		maxOff += (d - 1) * t.stride[i]
		// A view may repeat storage elements (stride 0), but a saved file
		// has no use for one that addresses its storage more than 64 times
		// over: refuse before its element count can overflow or exhaust
		// memory when read.
		if d > (64*elems+64)/n {
			return fmt.Errorf("torchpt: tensor shape %v addresses its %d-element storage more than 64 times over", t.Shape, elems)
		}
		n *= d
	}
	return nil
}

// each calls f with the storage element index of every element in row-major order.
func (t *Tensor) each(f func(i, off int)) {
	n := t.Len()
	if n == 0 {
		return
	}
	idx := make([]int, len(t.Shape))
	off := t.offset
	for i := 0; i < n; i++ {
		f(i, off)
		for d := len(idx) - 1; d >= 0; d-- {
			idx[d]++
			off += t.stride[d]
			if idx[d] < t.Shape[d] {
				break
			}
			off -= idx[d] * t.stride[d]
			idx[d] = 0
		}
	}
}

func (t *Tensor) elem(b []byte, off int) float64 {
	sz := t.DType.Size()
	p := b[off*sz : off*sz+sz]
	var o binary.ByteOrder = binary.LittleEndian
	if t.st.bigEndian() {
		o = binary.BigEndian
	}
	switch t.DType {
	case Float32:
		return float64(math.Float32frombits(o.Uint32(p)))
	case Float64:
		return math.Float64frombits(o.Uint64(p))
	case Float16:
		return float64(halfToFloat(o.Uint16(p)))
	case BFloat16:
		return float64(math.Float32frombits(uint32(o.Uint16(p)) << 16))
	case Int64:
		return float64(int64(o.Uint64(p)))
	case Int32:
		return float64(int32(o.Uint32(p)))
	case Int16:
		return float64(int16(o.Uint16(p)))
	case Int8:
		return float64(int8(p[0]))
	case Uint8:
		return float64(p[0])
	case Bool:
		if p[0] != 0 {
			return 1
		}
		return 0
	}
	return 0
}

func (t *Tensor) int64At(b []byte, off int) int64 {
	sz := t.DType.Size()
	p := b[off*sz : off*sz+sz]
	var o binary.ByteOrder = binary.LittleEndian
	if t.st.bigEndian() {
		o = binary.BigEndian
	}
	switch t.DType {
	case Int64:
		return int64(o.Uint64(p))
	case Int32:
		return int64(int32(o.Uint32(p)))
	case Int16:
		return int64(int16(o.Uint16(p)))
	case Int8:
		return int64(int8(p[0]))
	default: // Uint8, Bool
		return int64(p[0])
	}
}

// Float64s returns the elements in row-major order converted to float64.
func (t *Tensor) Float64s() []float64 {
	out := make([]float64, t.Len())
	b := t.st.bytes()
	t.each(func(i, off int) { out[i] = t.elem(b, off) })
	return out
}

// Float32s returns the elements in row-major order converted to float32.
func (t *Tensor) Float32s() []float32 {
	out := make([]float32, t.Len())
	b := t.st.bytes()
	t.each(func(i, off int) { out[i] = float32(t.elem(b, off)) })
	return out
}

// Int64s returns the elements of an integer or bool tensor in row-major
// order; floating-point tensors are an error.
func (t *Tensor) Int64s() ([]int64, error) {
	if t.DType.IsFloat() {
		return nil, fmt.Errorf("torchpt: Int64s of a %s tensor", t.DType)
	}
	out := make([]int64, t.Len())
	b := t.st.bytes()
	t.each(func(i, off int) { out[i] = t.int64At(b, off) })
	return out, nil
}

// String summarises the tensor, e.g. "torch float32[8 7]".
func (t *Tensor) String() string { return fmt.Sprintf("%s %s%v", t.Source, t.DType, t.Shape) }

// halfToFloat converts an IEEE 754 half-precision value.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := int((h >> 10) & 0x1f)
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal
		f := float32(mant) / 1024 * float32(math.Pow(2, -14))
		if sign != 0 {
			return -f
		}
		return f
	case exp == 31:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	}
	return math.Float32frombits(sign | uint32(exp-15+127)<<23 | mant<<13)
}

// Tuple is a Python tuple.
type Tuple []any

// Dict is a Python dict or OrderedDict, in insertion order.
type Dict struct {
	Keys   []any
	Values []any
}

// Len returns the number of entries.
func (d *Dict) Len() int { return len(d.Keys) }

// Get returns the value of a string key.
func (d *Dict) Get(key string) (any, bool) {
	for i, k := range d.Keys {
		if s, ok := k.(string); ok && s == key {
			return d.Values[i], true
		}
	}
	return nil, false
}

// StringKeys returns the string keys in order (other keys are left out).
func (d *Dict) StringKeys() []string {
	var out []string
	for _, k := range d.Keys {
		if s, ok := k.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// Object stands for an instance of a class the reader cannot represent; it
// keeps only the class name ("igraph.Graph").
type Object struct {
	Class string
}

// String returns e.g. "<igraph.Graph object>".
func (o *Object) String() string { return "<" + o.Class + " object>" }

// Describe returns a short type description of a decoded value.
func Describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64:
		return "int"
	case *big.Int:
		return "int (big)"
	case float64:
		return "float"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case []any:
		return fmt.Sprintf("list[%d]", len(x))
	case Tuple:
		return fmt.Sprintf("tuple[%d]", len(x))
	case *Dict:
		keys := x.StringKeys()
		sort.Strings(keys)
		if len(keys) > 8 {
			keys = append(keys[:8], "...")
		}
		return fmt.Sprintf("dict[%d]{%s}", x.Len(), strings.Join(keys, ","))
	case *Tensor:
		return x.String()
	case *Object:
		return x.String()
	}
	return fmt.Sprintf("%T", v)
}
