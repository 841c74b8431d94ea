package tensor

import "fmt"

// Embedding returns the rows of w [V, D] selected by ids, shape [len(ids), D].
// It panics on an id outside [0, V).
func Embedding(w *Tensor, ids []int) *Tensor {
	if len(w.shape) != 2 {
		panic(fmt.Sprintf("tensor: Embedding table must be [V, D], got %v", w.shape))
	}
	return Gather(w, 0, ids)
}

// Gather selects the entries idx along axis (index_select): the result has
// a's shape with axis replaced by len(idx). It panics on an index out of range.
func Gather(a *Tensor, axis int, idx []int) *Tensor {
	axis = normAxis(axis, len(a.shape))
	a = a.Contiguous()
	outer, n, inner := axisSplit(a.shape, axis)
	for _, id := range idx {
		if id < 0 || id >= n {
			panic(fmt.Sprintf("tensor: Gather index %d out of range for axis %d of shape %v", id, axis, a.shape))
		}
	}
	sh := cloneInts(a.shape)
	sh[axis] = len(idx)
	out := Zeros(sh...)
	ad, od := a.data[a.offset:a.offset+a.Len()], out.data
	k := len(idx)
	for o := 0; o < outer; o++ {
		for j, id := range idx {
			copy(od[(o*k+j)*inner:(o*k+j+1)*inner], ad[(o*n+id)*inner:(o*n+id+1)*inner])
		}
	}
	return out
}

// IndexAdd adds src into dst at positions idx along axis (the adjoint of
// Gather; repeated indices accumulate). dst must be contiguous and src must
// have dst's shape with axis replaced by len(idx).
func IndexAdd(dst *Tensor, axis int, idx []int, src *Tensor) {
	axis = normAxis(axis, len(dst.shape))
	want := cloneInts(dst.shape)
	want[axis] = len(idx)
	if !EqualInts(src.shape, want) {
		panic(fmt.Sprintf("tensor: IndexAdd source %v into %v along axis %d with %d indices", src.shape, dst.shape, axis, len(idx)))
	}
	if !dst.IsContiguous() {
		panic("tensor: IndexAdd into a non-contiguous tensor")
	}
	src = src.Contiguous()
	outer, n, inner := axisSplit(dst.shape, axis)
	dd, sd := dst.data[dst.offset:dst.offset+dst.Len()], src.data[src.offset:src.offset+src.Len()]
	k := len(idx)
	for _, id := range idx {
		if id < 0 || id >= n {
			panic(fmt.Sprintf("tensor: IndexAdd index %d out of range for axis %d of shape %v", id, axis, dst.shape))
		}
	}
	for o := 0; o < outer; o++ {
		for j, id := range idx {
			d := dd[(o*n+id)*inner : (o*n+id+1)*inner]
			s := sd[(o*k+j)*inner : (o*k+j+1)*inner]
			for i := range d {
				d[i] += s[i]
			}
		}
	}
}

// Concat joins tensors along axis; all other dimensions must agree.
func Concat(axis int, ts ...*Tensor) *Tensor {
	if len(ts) == 0 {
		panic("tensor: Concat of no tensors")
	}
	r := len(ts[0].shape)
	axis = normAxis(axis, r)
	sh := cloneInts(ts[0].shape)
	sh[axis] = 0
	for _, t := range ts {
		ok := len(t.shape) == r
		for i := 0; ok && i < r; i++ {
			if i != axis && t.shape[i] != ts[0].shape[i] {
				ok = false
			}
		}
		if !ok {
			panic(fmt.Sprintf("tensor: Concat along axis %d of shapes %v and %v", axis, ts[0].shape, t.shape))
		}
		sh[axis] += t.shape[axis]
	}
	out := Zeros(sh...)
	outer, total, inner := axisSplit(sh, axis)
	pos := 0
	for _, t := range ts {
		c := t.Contiguous()
		cd := c.data[c.offset : c.offset+c.Len()]
		w := t.shape[axis] * inner
		for o := 0; o < outer; o++ {
			copy(out.data[o*total*inner+pos:o*total*inner+pos+w], cd[o*w:(o+1)*w])
		}
		pos += w
	}
	return out
}

// Stack joins equally shaped tensors along a new axis inserted at axis
// (0..rank).
func Stack(axis int, ts ...*Tensor) *Tensor {
	if len(ts) == 0 {
		panic("tensor: Stack of no tensors")
	}
	axis = normAxis(axis, len(ts[0].shape)+1)
	rs := make([]*Tensor, len(ts))
	for i, t := range ts {
		if !EqualInts(t.shape, ts[0].shape) {
			panic(fmt.Sprintf("tensor: Stack of shapes %v and %v", ts[0].shape, t.shape))
		}
		sh := make([]int, 0, len(t.shape)+1)
		sh = append(sh, t.shape[:axis]...)
		sh = append(sh, 1)
		sh = append(sh, t.shape[axis:]...)
		rs[i] = t.Reshape(sh...)
	}
	return Concat(axis, rs...)
}

// MaskedFill returns a copy of a with v wherever mask (broadcast to a's
// shape) is nonzero.
func MaskedFill(a, mask *Tensor, v float32) *Tensor {
	s, err := BroadcastShapes(mask.shape, a.shape)
	if err != nil || !EqualInts(s, a.shape) {
		panic(fmt.Sprintf("tensor: MaskedFill mask %v does not broadcast to %v", mask.shape, a.shape))
	}
	out := a.Clone()
	if out.Len() == 0 {
		return out
	}
	sh, st := coalesce(out.shape, [][]int{out.strides, broadcastStrides(mask, out.shape)})
	last := len(sh) - 1
	n, sm := sh[last], st[1][last]
	od, md := out.data, mask.data
	walkRows(sh, st, []int{0, mask.offset}, func(offs []int) {
		row := od[offs[0] : offs[0]+n]
		mo := offs[1]
		if sm == 0 {
			if md[mo] != 0 {
				for i := range row {
					row[i] = v
				}
			}
			return
		}
		for i := range row {
			if md[mo+i*sm] != 0 {
				row[i] = v
			}
		}
	})
	return out
}

// DropoutMask returns a tensor of the given shape whose elements are 0 with
// probability p and 1/(1-p) otherwise (inverted dropout), drawn from rng.
func DropoutMask(rng *RNG, p float32, shape ...int) *Tensor {
	if p < 0 || p >= 1 {
		panic(fmt.Sprintf("tensor: dropout probability %g outside [0, 1)", p))
	}
	m := Zeros(shape...)
	keep := 1 / (1 - p)
	for i := range m.data {
		if rng.Float32() >= p {
			m.data[i] = keep
		}
	}
	return m
}
