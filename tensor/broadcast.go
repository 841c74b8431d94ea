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

// Add returns a + b with broadcasting.
func Add(a, b *Tensor) *Tensor { return binaryInto(opAdd, nil, a, b) }

// AddInPlace adds src into dst; src must broadcast to dst's shape and dst
// must be contiguous.
func AddInPlace(dst, src *Tensor) { binaryInto(opAdd, dst, dst, src) }

// ReduceTo sums g over the axes that were broadcast when going from shape to
// g's shape, returning a tensor of the given shape. Used by backward passes
// of broadcasting ops.
func ReduceTo(g *Tensor, shape []int) *Tensor {
	if EqualInts(g.shape, shape) {
		return g
	}
	if s, err := BroadcastShapes(shape, g.shape); err != nil || !EqualInts(s, g.shape) {
		panic(fmt.Sprintf("tensor: ReduceTo: shape %v does not broadcast to gradient shape %v", shape, g.shape))
	}
	out := Zeros(shape...)
	if out.Len() == 0 || g.Len() == 0 {
		return out
	}
	sh, st := coalesce(g.shape, [][]int{broadcastStrides(out, g.shape), g.strides})
	last := len(sh) - 1
	n, so, sg := sh[last], st[0][last], st[1][last]
	od, gd := out.data, g.data
	walkRows(sh, st, []int{0, g.offset}, func(offs []int) {
		oo, gi := offs[0], offs[1]
		switch {
		case so == 1 && sg == 1:
			row, src := od[oo:oo+n], gd[gi:gi+n]
			for i := range row {
				row[i] += src[i]
			}
		case so == 0:
			var s float32
			for i := 0; i < n; i++ {
				s += gd[gi+i*sg]
			}
			od[oo] += s
		default:
			for i := 0; i < n; i++ {
				od[oo+i*so] += gd[gi+i*sg]
			}
		}
	})
	return out
}
