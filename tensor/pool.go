package tensor

import (
	"fmt"
	"math"
)

// AvgPool2D averages x [N, C, H, W] over k x k windows with the given stride
// and symmetric zero padding; padded pixels count in the divisor (PyTorch's
// default count_include_pad=true). It returns [N, C, OH, OW].
func AvgPool2D(x *Tensor, k, stride, pad int) *Tensor {
	if x.Rank() != 4 || k <= 0 || stride <= 0 || pad < 0 || pad*2 > k {
		panic(fmt.Sprintf("tensor: AvgPool2D(k=%d, stride=%d, pad=%d) on shape %v", k, stride, pad, x.shape))
	}
	n, c, h, w := x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	oh, ow := ConvOutSize(h, k, stride, pad, pad), ConvOutSize(w, k, stride, pad, pad)
	if oh <= 0 || ow <= 0 {
		panic(fmt.Sprintf("tensor: AvgPool2D window %d larger than padded input %v", k, x.shape))
	}
	xd := x.Contiguous().Data()
	out := Zeros(n, c, oh, ow)
	od := out.Data()
	inv := 1 / float32(k*k)
	convParallel(n*c, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			src := xd[p*h*w : (p+1)*h*w]
			dst := od[p*oh*ow : (p+1)*oh*ow]
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					var s float32
					for ky := 0; ky < k; ky++ {
						iy := oy*stride + ky - pad
						if iy < 0 || iy >= h {
							continue
						}
						for kx := 0; kx < k; kx++ {
							ix := ox*stride + kx - pad
							if ix >= 0 && ix < w {
								s += src[iy*w+ix]
							}
						}
					}
					dst[oy*ow+ox] = s * inv
				}
			}
		}
	})
	return out
}

// MaxPool2D takes the maximum of x [N, C, H, W] over k x k windows with the
// given stride and symmetric padding (padded pixels are ignored). It returns
// [N, C, OH, OW].
func MaxPool2D(x *Tensor, k, stride, pad int) *Tensor {
	if x.Rank() != 4 || k <= 0 || stride <= 0 || pad < 0 || pad*2 > k {
		panic(fmt.Sprintf("tensor: MaxPool2D(k=%d, stride=%d, pad=%d) on shape %v", k, stride, pad, x.shape))
	}
	n, c, h, w := x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	oh, ow := ConvOutSize(h, k, stride, pad, pad), ConvOutSize(w, k, stride, pad, pad)
	if oh <= 0 || ow <= 0 {
		panic(fmt.Sprintf("tensor: MaxPool2D window %d larger than padded input %v", k, x.shape))
	}
	xd := x.Contiguous().Data()
	out := Zeros(n, c, oh, ow)
	od := out.Data()
	convParallel(n*c, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			src := xd[p*h*w : (p+1)*h*w]
			dst := od[p*oh*ow : (p+1)*oh*ow]
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					m := float32(math.Inf(-1))
					for ky := 0; ky < k; ky++ {
						iy := oy*stride + ky - pad
						if iy < 0 || iy >= h {
							continue
						}
						for kx := 0; kx < k; kx++ {
							ix := ox*stride + kx - pad
							if ix >= 0 && ix < w && src[iy*w+ix] > m {
								m = src[iy*w+ix]
							}
						}
					}
					dst[oy*ow+ox] = m
				}
			}
		}
	})
	return out
}

// GlobalAvgPool2D averages x [N, C, H, W] over H and W, returning [N, C].
// Sums are accumulated in float64.
func GlobalAvgPool2D(x *Tensor) *Tensor {
	if x.Rank() != 4 || x.shape[2]*x.shape[3] == 0 {
		panic(fmt.Sprintf("tensor: GlobalAvgPool2D on shape %v", x.shape))
	}
	n, c, hw := x.shape[0], x.shape[1], x.shape[2]*x.shape[3]
	xd := x.Contiguous().Data()
	out := Zeros(n, c)
	od := out.Data()
	for p := 0; p < n*c; p++ {
		var s float64
		for _, v := range xd[p*hw : (p+1)*hw] {
			s += float64(v)
		}
		od[p] = float32(s / float64(hw))
	}
	return out
}
