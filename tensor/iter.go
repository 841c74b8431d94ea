package tensor

import "fmt"

// coalesce drops size-1 axes and merges adjacent axes that are laid out
// contiguously with respect to each other in every stride set, so that
// strided loops run over as few, as long rows as possible. The result has at
// least one axis.
func coalesce(shape []int, strides [][]int) ([]int, [][]int) {
	sh := make([]int, 0, len(shape))
	st := make([][]int, len(strides))
	for k := range st {
		st[k] = make([]int, 0, len(shape))
	}
	for i, d := range shape {
		if d == 1 {
			continue
		}
		if n := len(sh); n > 0 {
			merge := true
			for k := range strides {
				if st[k][n-1] != strides[k][i]*d {
					merge = false
					break
				}
			}
			if merge {
				sh[n-1] *= d
				for k := range strides {
					st[k][n-1] = strides[k][i]
				}
				continue
			}
		}
		sh = append(sh, d)
		for k := range strides {
			st[k] = append(st[k], strides[k][i])
		}
	}
	if len(sh) == 0 {
		sh = append(sh, 1)
		for k := range st {
			st[k] = append(st[k], 1)
		}
	}
	return sh, st
}

// walkRows calls f once per row (all axes but the last) of shape with the
// storage offset of the row's first element in each operand. strides[k] are
// the strides of operand k and base[k] its starting offset. f must not
// modify offs.
func walkRows(shape []int, strides [][]int, base []int, f func(offs []int)) {
	offs := append([]int(nil), base...)
	r := len(shape)
	if r <= 1 {
		f(offs)
		return
	}
	for _, d := range shape {
		if d == 0 {
			return
		}
	}
	idx := make([]int, r-1)
	rows := numel(shape[:r-1])
	for row := 0; row < rows; row++ {
		f(offs)
		for d := r - 2; d >= 0; d-- {
			idx[d]++
			for k := range offs {
				offs[k] += strides[k][d]
			}
			if idx[d] < shape[d] {
				break
			}
			for k := range offs {
				offs[k] -= idx[d] * strides[k][d]
			}
			idx[d] = 0
		}
	}
}

// Assign copies src into dst element by element. dst may be a strided view
// (for example a Slice of a larger tensor, which is then written through);
// src must broadcast to dst's shape. dst must not be a broadcast view.
func Assign(dst, src *Tensor) {
	s, err := BroadcastShapes(src.shape, dst.shape)
	if err != nil || !EqualInts(s, dst.shape) {
		panic(fmt.Sprintf("tensor: Assign of shape %v into shape %v", src.shape, dst.shape))
	}
	if dst.Len() == 0 {
		return
	}
	if dst.IsContiguous() && src.IsContiguous() && EqualInts(src.shape, dst.shape) {
		copy(dst.data[dst.offset:dst.offset+dst.Len()], src.data[src.offset:src.offset+src.Len()])
		return
	}
	sh, st := coalesce(dst.shape, [][]int{dst.strides, broadcastStrides(src, dst.shape)})
	n := sh[len(sh)-1]
	ds, ss := st[0][len(sh)-1], st[1][len(sh)-1]
	dd, sd := dst.data, src.data
	walkRows(sh, st, []int{dst.offset, src.offset}, func(offs []int) {
		do, so := offs[0], offs[1]
		switch {
		case ds == 1 && ss == 1:
			copy(dd[do:do+n], sd[so:so+n])
		case ds == 1 && ss == 0:
			v := sd[so]
			row := dd[do : do+n]
			for i := range row {
				row[i] = v
			}
		default:
			for i := 0; i < n; i++ {
				dd[do+i*ds] = sd[so+i*ss]
			}
		}
	})
}

// Expand returns a new contiguous tensor holding t broadcast to shape.
func Expand(t *Tensor, shape ...int) *Tensor {
	out := Zeros(shape...)
	Assign(out, t)
	return out
}

// checkDst panics unless dst is contiguous with the given shape.
func checkDst(op string, dst *Tensor, shape []int) {
	if !EqualInts(dst.shape, shape) {
		panic(fmt.Sprintf("tensor: %s destination has shape %v, want %v", op, dst.shape, shape))
	}
	if !dst.IsContiguous() {
		panic(fmt.Sprintf("tensor: %s destination of shape %v is not contiguous", op, dst.shape))
	}
}

// axisSplit views a shape as [outer, n, inner] around axis.
func axisSplit(shape []int, axis int) (outer, n, inner int) {
	outer, inner = 1, 1
	for i := 0; i < axis; i++ {
		outer *= shape[i]
	}
	for i := axis + 1; i < len(shape); i++ {
		inner *= shape[i]
	}
	return outer, shape[axis], inner
}
