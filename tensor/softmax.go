package tensor

import (
	"fmt"
	"math"
)

// Softmax returns exp(a - max) / Σ exp(a - max) along axis. Subtracting the
// maximum keeps it finite for any finite input.
func Softmax(a *Tensor, axis int) *Tensor { return softmaxInto(nil, a, axis, false) }

// SoftmaxInto stores Softmax(a, axis) in dst (contiguous, a's shape; may be
// a when a is contiguous) and returns dst.
func SoftmaxInto(dst, a *Tensor, axis int) *Tensor { return softmaxInto(dst, a, axis, false) }

// LogSoftmax returns a - max - log Σ exp(a - max) along axis.
func LogSoftmax(a *Tensor, axis int) *Tensor { return softmaxInto(nil, a, axis, true) }

func softmaxInto(dst, a *Tensor, axis int, logOut bool) *Tensor {
	axis = normAxis(axis, len(a.shape))
	a = a.Contiguous()
	if dst == nil {
		dst = Zeros(a.shape...)
	} else {
		checkDst("Softmax", dst, a.shape)
	}
	outer, n, inner := axisSplit(a.shape, axis)
	if n == 0 || dst.Len() == 0 {
		return dst
	}
	ad := a.data[a.offset : a.offset+a.Len()]
	od := dst.data[dst.offset : dst.offset+dst.Len()]
	if inner == 1 {
		parallelFor(outer, n*8, func(lo, hi int) {
			for o := lo; o < hi; o++ {
				softmaxRow(od[o*n:(o+1)*n], ad[o*n:(o+1)*n], logOut)
			}
		})
		return dst
	}
	// Strided rows: gather each column into a scratch row.
	src, tmp := make([]float32, n), make([]float32, n)
	for o := 0; o < outer; o++ {
		base := o * n * inner
		for i := 0; i < inner; i++ {
			for j := 0; j < n; j++ {
				src[j] = ad[base+j*inner+i]
			}
			softmaxRow(tmp, src, logOut)
			for j := 0; j < n; j++ {
				od[base+j*inner+i] = tmp[j]
			}
		}
	}
	return dst
}

// softmaxRow writes the (log-)softmax of src into dst (may alias).
func softmaxRow(dst, src []float32, logOut bool) {
	dst = dst[:len(src)]
	m := src[0]
	for _, v := range src[1:] {
		if v > m {
			m = v
		}
	}
	if logOut {
		var s float32
		for _, v := range src {
			s += exp32(v - m)
		}
		ls := float32(math.Log(float64(s)))
		for i, v := range src {
			dst[i] = (v - m) - ls
		}
		return
	}
	for i, v := range src {
		dst[i] = v - m
	}
	expSlice(dst, dst)
	inv := 1 / sum32(dst)
	for i := range dst {
		dst[i] *= inv
	}
}

// SoftmaxGrad returns the gradient of Softmax given its output y and the
// output gradient g: y·(g - Σ g·y) along axis.
func SoftmaxGrad(y, g *Tensor, axis int) *Tensor { return softmaxGrad(y, g, axis, false) }

// LogSoftmaxGrad returns the gradient of LogSoftmax given its output y and
// the output gradient g: g - exp(y)·Σ g along axis.
func LogSoftmaxGrad(y, g *Tensor, axis int) *Tensor { return softmaxGrad(y, g, axis, true) }

func softmaxGrad(y, g *Tensor, axis int, logOut bool) *Tensor {
	if !EqualInts(y.shape, g.shape) {
		panic(fmt.Sprintf("tensor: SoftmaxGrad: output shape %v, gradient shape %v", y.shape, g.shape))
	}
	axis = normAxis(axis, len(y.shape))
	y, g = y.Contiguous(), g.Contiguous()
	out := Zeros(y.shape...)
	outer, n, inner := axisSplit(y.shape, axis)
	yd, gd, od := y.data[y.offset:y.offset+y.Len()], g.data[g.offset:g.offset+g.Len()], out.data
	for o := 0; o < outer; o++ {
		base := o * n * inner
		for i := 0; i < inner; i++ {
			var s float32
			for j := 0; j < n; j++ {
				p := base + j*inner + i
				if logOut {
					s += gd[p]
				} else {
					s += gd[p] * yd[p]
				}
			}
			for j := 0; j < n; j++ {
				p := base + j*inner + i
				if logOut {
					od[p] = gd[p] - exp32(yd[p])*s
				} else {
					od[p] = yd[p] * (gd[p] - s)
				}
			}
		}
	}
	return out
}
