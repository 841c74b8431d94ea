package tensor

import "fmt"

// BroadcastShapes returns the NumPy-style broadcast of two shapes.
func BroadcastShapes(a, b []int) ([]int, error) {
	r := len(a)
	if len(b) > r {
		r = len(b)
	}
	out := make([]int, r)
	for i := 0; i < r; i++ {
		da, db := 1, 1
		if j := len(a) - r + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - r + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da == db:
			out[i] = da
		case da == 1:
			out[i] = db
		case db == 1:
			out[i] = da
		default:
			return nil, fmt.Errorf("tensor: shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

// broadcastStrides returns strides that view t as shape (which t broadcasts
// to): broadcast axes get stride 0.
func broadcastStrides(t *Tensor, shape []int) []int {
	st := make([]int, len(shape))
	off := len(shape) - len(t.shape)
	for i := range shape {
		j := i - off
		if j < 0 || t.shape[j] == 1 {
			st[i] = 0
		} else {
			st[i] = t.strides[j]
		}
	}
	return st
}

// BroadcastTo returns a (read-only) view of t expanded to shape.
func (t *Tensor) BroadcastTo(shape ...int) *Tensor {
	s, err := BroadcastShapes(t.shape, shape)
	if err != nil || !EqualInts(s, shape) {
		panic(fmt.Sprintf("tensor: cannot broadcast %v to %v", t.shape, shape))
	}
	return &Tensor{shape: cloneInts(shape), strides: broadcastStrides(t, shape), offset: t.offset, data: t.data}
}

// binary applies f element-wise with broadcasting and returns a new tensor.
func binary(a, b *Tensor, f func(x, y float32) float32) *Tensor {
	if EqualInts(a.shape, b.shape) && a.IsContiguous() && b.IsContiguous() {
		out := Zeros(a.shape...)
		ad, bd, od := a.Data(), b.Data(), out.data
		for i := range od {
			od[i] = f(ad[i], bd[i])
		}
		return out
	}
	shape, err := BroadcastShapes(a.shape, b.shape)
	if err != nil {
		panic(err)
	}
	out := Zeros(shape...)
	// Fast path: b is a trailing-row broadcast (e.g. bias [n] onto [m, n]).
	if a.IsContiguous() && b.IsContiguous() && EqualInts(a.shape, shape) && b.Len() > 0 && isSuffix(b.shape, shape) {
		ad, bd, od := a.Data(), b.Data(), out.data
		n := len(bd)
		for i := 0; i < len(od); i += n {
			ar, orow := ad[i:i+n], od[i:i+n]
			for j := range orow {
				orow[j] = f(ar[j], bd[j])
			}
		}
		return out
	}
	av := &Tensor{shape: shape, strides: broadcastStrides(a, shape), offset: a.offset, data: a.data}
	bv := &Tensor{shape: shape, strides: broadcastStrides(b, shape), offset: b.offset, data: b.data}
	ai := make([]int, 0, out.Len())
	av.each(func(off int) { ai = append(ai, off) })
	k := 0
	bv.each(func(off int) {
		out.data[k] = f(a.data[ai[k]], b.data[off])
		k++
	})
	return out
}

// isSuffix reports whether s (after dropping leading 1s) equals the trailing
// dimensions of full.
func isSuffix(s, full []int) bool {
	for len(s) > 0 && s[0] == 1 {
		s = s[1:]
	}
	if len(s) > len(full) {
		return false
	}
	return EqualInts(s, full[len(full)-len(s):])
}

// Add returns a + b with broadcasting.
func Add(a, b *Tensor) *Tensor { return binary(a, b, func(x, y float32) float32 { return x + y }) }

// AddInPlace adds src into dst (shapes must match element counts exactly or
// src must broadcast to dst's shape). dst must be contiguous.
func AddInPlace(dst, src *Tensor) {
	d := dst.Data()
	if EqualInts(dst.shape, src.shape) {
		s := src.Contiguous().Data()
		for i := range d {
			d[i] += s[i]
		}
		return
	}
	sv := src.BroadcastTo(dst.shape...)
	i := 0
	sv.each(func(off int) { d[i] += src.data[off]; i++ })
}

// ReduceTo sums g over the axes that were broadcast when going from shape to
// g's shape, returning a tensor of the given shape. Used by backward passes
// of broadcasting ops.
func ReduceTo(g *Tensor, shape []int) *Tensor {
	if EqualInts(g.shape, shape) {
		return g
	}
	out := Zeros(shape...)
	ov := out.BroadcastTo(g.shape...)
	gc := g.Contiguous()
	gd := gc.Data()
	i := 0
	ov.each(func(off int) { out.data[off] += gd[i]; i++ })
	return out
}
