package tensor

import (
	"fmt"
	"math"
)

// reducedShape is shape with axis removed, or set to 1 when keepDim.
func reducedShape(shape []int, axis int, keepDim bool) []int {
	out := make([]int, 0, len(shape))
	for i, d := range shape {
		if i == axis {
			if keepDim {
				out = append(out, 1)
			}
			continue
		}
		out = append(out, d)
	}
	return out
}

// Sum returns the sum of a along axis (negative counts from the end). With
// keepDim the reduced axis is kept with size 1.
func Sum(a *Tensor, axis int, keepDim bool) *Tensor {
	axis = normAxis(axis, len(a.shape))
	a = a.Contiguous()
	out := Zeros(reducedShape(a.shape, axis, keepDim)...)
	outer, n, inner := axisSplit(a.shape, axis)
	ad, od := a.data[a.offset:a.offset+a.Len()], out.data
	for o := 0; o < outer; o++ {
		base := o * n * inner
		if inner == 1 {
			od[o] = sum32(ad[base : base+n])
			continue
		}
		acc := od[o*inner : (o+1)*inner]
		for j := 0; j < n; j++ {
			row := ad[base+j*inner : base+(j+1)*inner]
			for i := range acc {
				acc[i] += row[i]
			}
		}
	}
	return out
}

// sum32 sums x with four independent accumulators.
func sum32(x []float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i]
		s1 += x[i+1]
		s2 += x[i+2]
		s3 += x[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// Mean returns the mean of a along axis (see Sum).
func Mean(a *Tensor, axis int, keepDim bool) *Tensor {
	axis = normAxis(axis, len(a.shape))
	s := Sum(a, axis, keepDim)
	if n := a.shape[axis]; n > 0 {
		unKernel(uScale, s.data, s.data, 1/float32(n), 0)
	}
	return s
}

// Max returns the maximum of a along axis (see Sum). The axis must not be empty.
func Max(a *Tensor, axis int, keepDim bool) *Tensor {
	axis = normAxis(axis, len(a.shape))
	if a.shape[axis] == 0 {
		panic(fmt.Sprintf("tensor: Max over empty axis %d of shape %v", axis, a.shape))
	}
	a = a.Contiguous()
	out := Zeros(reducedShape(a.shape, axis, keepDim)...)
	outer, n, inner := axisSplit(a.shape, axis)
	ad, od := a.data[a.offset:a.offset+a.Len()], out.data
	for o := 0; o < outer; o++ {
		base := o * n * inner
		acc := od[o*inner : (o+1)*inner]
		copy(acc, ad[base:base+inner])
		for j := 1; j < n; j++ {
			row := ad[base+j*inner : base+(j+1)*inner]
			for i, v := range row {
				if v > acc[i] {
					acc[i] = v
				}
			}
		}
	}
	return out
}

// ArgMax returns, for every position of the reduced shape (row-major), the
// index along axis of the largest element (the first one on ties).
func ArgMax(a *Tensor, axis int) []int {
	axis = normAxis(axis, len(a.shape))
	if a.shape[axis] == 0 {
		panic(fmt.Sprintf("tensor: ArgMax over empty axis %d of shape %v", axis, a.shape))
	}
	a = a.Contiguous()
	outer, n, inner := axisSplit(a.shape, axis)
	ad := a.data[a.offset : a.offset+a.Len()]
	res := make([]int, outer*inner)
	best := make([]float32, inner)
	for o := 0; o < outer; o++ {
		base := o * n * inner
		copy(best, ad[base:base+inner])
		idx := res[o*inner : (o+1)*inner]
		for j := 1; j < n; j++ {
			row := ad[base+j*inner : base+(j+1)*inner]
			for i, v := range row {
				if v > best[i] {
					best[i], idx[i] = v, j
				}
			}
		}
	}
	return res
}

// SumAll returns the sum of all elements, accumulated in float64.
func SumAll(a *Tensor) float64 {
	var s float64
	if a.IsContiguous() {
		for _, v := range a.data[a.offset : a.offset+a.Len()] {
			s += float64(v)
		}
		return s
	}
	a.each(func(off int) { s += float64(a.data[off]) })
	return s
}

// MaxAbs returns the largest absolute value in a (0 for an empty tensor);
// NaN if any element is NaN.
func MaxAbs(a *Tensor) float32 {
	a = a.Contiguous()
	var m float32
	for _, v := range a.data[a.offset : a.offset+a.Len()] {
		if v != v {
			return float32(math.NaN())
		}
		if v < 0 {
			v = -v
		}
		if v > m {
			m = v
		}
	}
	return m
}
