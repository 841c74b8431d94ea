// Package tensor provides dense, row-major float32 tensors and the CPU
// kernels that operate on them.
//
// A Tensor is a shape plus a view (strides and offset) into a flat []float32.
// Reshape of a contiguous tensor, Transpose/Permute and Slice along an axis
// return views that share storage; every other operation returns a new,
// contiguous tensor. Kernels take fast paths for contiguous inputs and fall
// back to strided iteration otherwise.
//
// Heavy primitives (GEMM and friends) go through a Backend (backend.go) so
// that faster implementations (our assembly SGEMM, the CUDA backend) slot in
// without the rest of the engine changing.
package tensor

import (
	"fmt"
	"strings"
)

// Tensor is a dense float32 array with a shape. The zero value is not usable;
// create tensors with New, Zeros, Full, FromSlice and friends.
type Tensor struct {
	shape   []int
	strides []int
	offset  int
	data    []float32
}

// New returns a zero-filled tensor of the given shape.
func New(shape ...int) *Tensor { return Zeros(shape...) }

// Zeros returns a zero-filled tensor of the given shape.
func Zeros(shape ...int) *Tensor {
	n := checkShape(shape)
	return &Tensor{shape: cloneInts(shape), strides: contiguousStrides(shape), data: make([]float32, n)}
}

// Full returns a tensor of the given shape with every element set to v.
func Full(v float32, shape ...int) *Tensor {
	t := Zeros(shape...)
	for i := range t.data {
		t.data[i] = v
	}
	return t
}

// Scalar returns a 0-d tensor holding v.
func Scalar(v float32) *Tensor { return &Tensor{shape: []int{}, strides: []int{}, data: []float32{v}} }

// FromSlice wraps data (not copied) as a tensor of the given shape. It panics
// if len(data) does not match the shape; use FromSliceErr for untrusted input.
func FromSlice(data []float32, shape ...int) *Tensor {
	t, err := FromSliceErr(data, shape...)
	if err != nil {
		panic(err)
	}
	return t
}

// FromSliceErr is FromSlice returning an error instead of panicking.
func FromSliceErr(data []float32, shape ...int) (*Tensor, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return nil, fmt.Errorf("tensor: negative dimension in shape %v", shape)
		}
		n *= d
	}
	if n != len(data) {
		return nil, fmt.Errorf("tensor: %d values do not fill shape %v (%d elements)", len(data), shape, n)
	}
	return &Tensor{shape: cloneInts(shape), strides: contiguousStrides(shape), data: data}, nil
}

// Shape returns the tensor's shape. The caller must not modify it.
func (t *Tensor) Shape() []int { return t.shape }

// Strides returns the element strides. The caller must not modify them.
func (t *Tensor) Strides() []int { return t.strides }

// Rank is the number of dimensions.
func (t *Tensor) Rank() int { return len(t.shape) }

// Dim returns the size of axis i; negative i counts from the end.
func (t *Tensor) Dim(i int) int { return t.shape[normAxis(i, len(t.shape))] }

// Len is the number of elements.
func (t *Tensor) Len() int { return numel(t.shape) }

// IsContiguous reports whether the view is dense row-major starting at offset.
func (t *Tensor) IsContiguous() bool {
	s := 1
	for i := len(t.shape) - 1; i >= 0; i-- {
		if t.shape[i] != 1 && t.strides[i] != s {
			return false
		}
		s *= t.shape[i]
	}
	return true
}

// Data returns the elements of a contiguous tensor as a slice sharing
// storage. It panics on a non-contiguous view: call Contiguous first.
func (t *Tensor) Data() []float32 {
	if !t.IsContiguous() {
		panic("tensor: Data on a non-contiguous view; call Contiguous() first")
	}
	return t.data[t.offset : t.offset+t.Len()]
}

// Contiguous returns t itself if it is contiguous, otherwise a dense copy.
func (t *Tensor) Contiguous() *Tensor {
	if t.IsContiguous() {
		return t
	}
	return t.Clone()
}

// Clone returns a dense copy of t.
func (t *Tensor) Clone() *Tensor {
	out := Zeros(t.shape...)
	if t.IsContiguous() {
		copy(out.data, t.data[t.offset:t.offset+t.Len()])
		return out
	}
	i := 0
	t.each(func(off int) { out.data[i] = t.data[off]; i++ })
	return out
}

// CopyFrom copies src's elements into t. Shapes must have equal element counts.
func (t *Tensor) CopyFrom(src *Tensor) {
	if t.Len() != src.Len() {
		panic(fmt.Sprintf("tensor: CopyFrom %v into %v", src.shape, t.shape))
	}
	copy(t.Data(), src.Contiguous().Data())
}

// Item returns the single element of a one-element tensor.
func (t *Tensor) Item() float32 {
	if t.Len() != 1 {
		panic(fmt.Sprintf("tensor: Item on shape %v", t.shape))
	}
	return t.data[t.offset]
}

// At returns the element at the given index.
func (t *Tensor) At(idx ...int) float32 { return t.data[t.index(idx)] }

// Set stores v at the given index.
func (t *Tensor) Set(v float32, idx ...int) { t.data[t.index(idx)] = v }

func (t *Tensor) index(idx []int) int {
	if len(idx) != len(t.shape) {
		panic(fmt.Sprintf("tensor: %d indices for shape %v", len(idx), t.shape))
	}
	off := t.offset
	for i, v := range idx {
		if v < 0 || v >= t.shape[i] {
			panic(fmt.Sprintf("tensor: index %v out of range for shape %v", idx, t.shape))
		}
		off += v * t.strides[i]
	}
	return off
}

// Reshape returns a tensor with the same elements and a new shape. One
// dimension may be -1 and is inferred. A contiguous input gives a view.
func (t *Tensor) Reshape(shape ...int) *Tensor {
	shape = cloneInts(shape)
	n, infer := 1, -1
	for i, d := range shape {
		if d == -1 {
			if infer >= 0 {
				panic("tensor: Reshape with more than one -1")
			}
			infer = i
			continue
		}
		n *= d
	}
	if infer >= 0 {
		if n == 0 || t.Len()%n != 0 {
			panic(fmt.Sprintf("tensor: cannot reshape %v to %v", t.shape, shape))
		}
		shape[infer] = t.Len() / n
		n *= shape[infer]
	}
	if n != t.Len() {
		panic(fmt.Sprintf("tensor: cannot reshape %v (%d elements) to %v", t.shape, t.Len(), shape))
	}
	c := t.Contiguous()
	return &Tensor{shape: shape, strides: contiguousStrides(shape), offset: c.offset, data: c.data}
}

// Permute returns a view with the axes reordered: out.shape[i] = t.shape[axes[i]].
func (t *Tensor) Permute(axes ...int) *Tensor {
	if len(axes) != len(t.shape) {
		panic(fmt.Sprintf("tensor: Permute %v on shape %v", axes, t.shape))
	}
	seen := make([]bool, len(axes))
	sh, st := make([]int, len(axes)), make([]int, len(axes))
	for i, a := range axes {
		a = normAxis(a, len(t.shape))
		if seen[a] {
			panic(fmt.Sprintf("tensor: Permute axes %v repeat", axes))
		}
		seen[a] = true
		sh[i], st[i] = t.shape[a], t.strides[a]
	}
	return &Tensor{shape: sh, strides: st, offset: t.offset, data: t.data}
}

// Transpose swaps two axes (a view).
func (t *Tensor) Transpose(a, b int) *Tensor {
	axes := make([]int, len(t.shape))
	for i := range axes {
		axes[i] = i
	}
	a, b = normAxis(a, len(t.shape)), normAxis(b, len(t.shape))
	axes[a], axes[b] = axes[b], axes[a]
	return t.Permute(axes...)
}

// T is the transpose of the last two axes (a view).
func (t *Tensor) T() *Tensor { return t.Transpose(-2, -1) }

// Slice returns the view t[..., start:end, ...] along axis.
func (t *Tensor) Slice(axis, start, end int) *Tensor {
	axis = normAxis(axis, len(t.shape))
	if start < 0 || end > t.shape[axis] || start > end {
		panic(fmt.Sprintf("tensor: Slice [%d:%d] of axis %d with size %d", start, end, axis, t.shape[axis]))
	}
	sh := cloneInts(t.shape)
	sh[axis] = end - start
	return &Tensor{shape: sh, strides: cloneInts(t.strides), offset: t.offset + start*t.strides[axis], data: t.data}
}

// each calls f with the storage offset of every element in row-major order.
func (t *Tensor) each(f func(off int)) {
	n := t.Len()
	if n == 0 {
		return
	}
	r := len(t.shape)
	if r == 0 {
		f(t.offset)
		return
	}
	idx := make([]int, r)
	off := t.offset
	for k := 0; k < n; k++ {
		f(off)
		for d := r - 1; d >= 0; d-- {
			idx[d]++
			off += t.strides[d]
			if idx[d] < t.shape[d] {
				break
			}
			off -= idx[d] * t.strides[d]
			idx[d] = 0
		}
	}
}

// String renders small tensors fully and large ones by shape.
func (t *Tensor) String() string {
	if t.Len() > 64 {
		return fmt.Sprintf("Tensor%v", t.shape)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Tensor%v[", t.shape)
	i := 0
	t.each(func(off int) {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%g", t.data[off])
		i++
	})
	b.WriteByte(']')
	return b.String()
}

// SameShape reports whether a and b have identical shapes.
func SameShape(a, b *Tensor) bool { return EqualInts(a.shape, b.shape) }

// EqualInts reports whether two int slices are equal.
func EqualInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func checkShape(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("tensor: negative dimension in shape %v", shape))
		}
		n *= d
	}
	return n
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

func contiguousStrides(shape []int) []int {
	st := make([]int, len(shape))
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = s
		s *= shape[i]
	}
	return st
}

func cloneInts(a []int) []int { return append([]int(nil), a...) }

func normAxis(a, r int) int {
	if a < 0 {
		a += r
	}
	if a < 0 || a >= r {
		panic(fmt.Sprintf("tensor: axis %d out of range for rank %d", a, r))
	}
	return a
}
