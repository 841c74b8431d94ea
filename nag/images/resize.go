package images

import (
	"fmt"
	"math"

	"github.com/nagml/nag/tensor"
)

// ResizeMode selects the interpolation convention of Resize.
type ResizeMode int

const (
	// ResizePillow reproduces Pillow's Image.resize(BILINEAR) on 8-bit RGB:
	// a separable triangle filter whose support grows with the scale when
	// shrinking (antialiasing), sample centres at half pixels, a horizontal
	// pass then a vertical pass, fixed-point coefficients (22 bits) and
	// rounding to uint8 after each pass.
	ResizePillow ResizeMode = iota
	// ResizeHalfPixel is PyTorch's F.interpolate(mode="bilinear",
	// align_corners=False, antialias=False) in float: src = (dst+0.5)*in/out
	// - 0.5, clamped at the borders; no rounding.
	ResizeHalfPixel
	// ResizeAlignCorners is F.interpolate(..., align_corners=True):
	// src = dst*(in-1)/(out-1).
	ResizeAlignCorners
)

// String names the mode as accepted by ParseResizeMode.
func (m ResizeMode) String() string {
	switch m {
	case ResizePillow:
		return "pillow"
	case ResizeHalfPixel:
		return "half-pixel"
	case ResizeAlignCorners:
		return "align-corners"
	}
	return fmt.Sprintf("ResizeMode(%d)", int(m))
}

// ParseResizeMode parses "pillow", "half-pixel" or "align-corners".
func ParseResizeMode(s string) (ResizeMode, error) {
	for _, m := range []ResizeMode{ResizePillow, ResizeHalfPixel, ResizeAlignCorners} {
		if m.String() == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("unknown resize mode %q (want pillow, half-pixel or align-corners)", s)
}

// FloatImage is an RGB image with float32 pixel values in the 0..255 range,
// row-major HWC.
type FloatImage struct {
	H, W int
	Pix  []float32
}

// ToFloat converts an 8-bit image to float.
func (m Image) ToFloat() FloatImage {
	out := FloatImage{H: m.H, W: m.W, Pix: make([]float32, len(m.Pix))}
	for i, v := range m.Pix {
		out.Pix[i] = float32(v)
	}
	return out
}

// CenterCrop keeps the central round(frac*H) x round(frac*W) pixels (offsets
// (H-ch)/2 and (W-cw)/2 rounded down), as in the ImageNet "central 87.5 %"
// crop. frac must be in (0, 1].
func CenterCrop(m Image, frac float64) (Image, error) {
	if !(frac > 0 && frac <= 1) {
		return Image{}, fmt.Errorf("images: centre-crop fraction %g not in (0, 1]", frac)
	}
	ch, cw := int(math.Round(frac*float64(m.H))), int(math.Round(frac*float64(m.W)))
	if ch < 1 {
		ch = 1
	}
	if cw < 1 {
		cw = 1
	}
	y0, x0 := (m.H-ch)/2, (m.W-cw)/2
	out := Image{H: ch, W: cw, Pix: make([]uint8, ch*cw*3)}
	for y := 0; y < ch; y++ {
		copy(out.Pix[y*cw*3:(y+1)*cw*3], m.Pix[((y0+y)*m.W+x0)*3:((y0+y)*m.W+x0+cw)*3])
	}
	return out, nil
}

// Resize resizes m to oh x ow with the given convention. Images already at
// the target size are returned unchanged (as float).
func Resize(m Image, oh, ow int, mode ResizeMode) FloatImage {
	if oh <= 0 || ow <= 0 {
		panic(fmt.Sprintf("images: Resize to %dx%d", oh, ow))
	}
	if oh == m.H && ow == m.W {
		return m.ToFloat()
	}
	switch mode {
	case ResizePillow:
		return resizePillow(m, oh, ow)
	case ResizeHalfPixel, ResizeAlignCorners:
		return resizeInterp(m, oh, ow, mode == ResizeAlignCorners)
	}
	panic(fmt.Sprintf("images: unknown resize mode %d", int(mode)))
}

// resizeInterp is plain bilinear interpolation between the 4 nearest pixels.
func resizeInterp(m Image, oh, ow int, alignCorners bool) FloatImage {
	src := func(dst, out, in int) (int, int, float32) {
		var s float64
		if alignCorners {
			if out > 1 {
				s = float64(dst) * float64(in-1) / float64(out-1)
			}
		} else {
			s = (float64(dst)+0.5)*float64(in)/float64(out) - 0.5
			if s < 0 {
				s = 0
			}
		}
		i0 := int(s)
		if i0 > in-1 {
			i0 = in - 1
		}
		i1 := i0 + 1
		if i1 > in-1 {
			i1 = in - 1
		}
		return i0, i1, float32(s - float64(i0))
	}
	out := FloatImage{H: oh, W: ow, Pix: make([]float32, oh*ow*3)}
	xs0, xs1, xl := make([]int, ow), make([]int, ow), make([]float32, ow)
	for x := range ow {
		xs0[x], xs1[x], xl[x] = src(x, ow, m.W)
	}
	for y := 0; y < oh; y++ {
		y0, y1, ly := src(y, oh, m.H)
		for x := 0; x < ow; x++ {
			for c := 0; c < 3; c++ {
				p00 := float32(m.Pix[(y0*m.W+xs0[x])*3+c])
				p01 := float32(m.Pix[(y0*m.W+xs1[x])*3+c])
				p10 := float32(m.Pix[(y1*m.W+xs0[x])*3+c])
				p11 := float32(m.Pix[(y1*m.W+xs1[x])*3+c])
				top := p00 + (p01-p00)*xl[x]
				bot := p10 + (p11-p10)*xl[x]
				out.Pix[(y*ow+x)*3+c] = top + (bot-top)*ly
			}
		}
	}
	return out
}

// pillowPrecision is Pillow's fixed-point precision for 8-bit resampling.
const pillowPrecision = 32 - 8 - 2

// pillowCoeffs computes Pillow's triangle-filter taps for one axis: for each
// output index the first input index and the fixed-point weights.
func pillowCoeffs(in, out int) (starts []int, weights [][]int32) {
	scale := float64(in) / float64(out)
	filterscale := math.Max(scale, 1)
	support := 1.0 * filterscale
	starts = make([]int, out)
	weights = make([][]int32, out)
	for xx := 0; xx < out; xx++ {
		center := (float64(xx) + 0.5) * scale
		xmin := int(center - support + 0.5) // truncation toward zero, as in C
		if xmin < 0 {
			xmin = 0
		}
		xmax := int(center + support + 0.5)
		if xmax > in {
			xmax = in
		}
		k := make([]float64, xmax-xmin)
		var ww float64
		for x := range k {
			v := math.Abs((float64(x+xmin) - center + 0.5) / filterscale)
			if v < 1 {
				k[x] = 1 - v
			}
			ww += k[x]
		}
		kw := make([]int32, len(k))
		for x := range k {
			if ww != 0 {
				k[x] /= ww
			}
			f := k[x] * (1 << pillowPrecision)
			if f < 0 {
				kw[x] = int32(f - 0.5)
			} else {
				kw[x] = int32(f + 0.5)
			}
		}
		starts[xx], weights[xx] = xmin, kw
	}
	return starts, weights
}

func pillowClip(ss int64) uint8 {
	v := ss >> pillowPrecision
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

func resizePillow(m Image, oh, ow int) FloatImage {
	cur := m
	if ow != m.W { // horizontal pass
		starts, ws := pillowCoeffs(m.W, ow)
		tmp := Image{H: m.H, W: ow, Pix: make([]uint8, m.H*ow*3)}
		for y := 0; y < m.H; y++ {
			row := m.Pix[y*m.W*3 : (y+1)*m.W*3]
			for x := 0; x < ow; x++ {
				for c := 0; c < 3; c++ {
					ss := int64(1) << (pillowPrecision - 1)
					for k, w := range ws[x] {
						ss += int64(row[(starts[x]+k)*3+c]) * int64(w)
					}
					tmp.Pix[(y*ow+x)*3+c] = pillowClip(ss)
				}
			}
		}
		cur = tmp
	}
	if oh != cur.H { // vertical pass
		starts, ws := pillowCoeffs(cur.H, oh)
		tmp := Image{H: oh, W: cur.W, Pix: make([]uint8, oh*cur.W*3)}
		for y := 0; y < oh; y++ {
			for x := 0; x < cur.W; x++ {
				for c := 0; c < 3; c++ {
					ss := int64(1) << (pillowPrecision - 1)
					for k, w := range ws[y] {
						ss += int64(cur.Pix[((starts[y]+k)*cur.W+x)*3+c]) * int64(w)
					}
					tmp.Pix[(y*cur.W+x)*3+c] = pillowClip(ss)
				}
			}
		}
		cur = tmp
	}
	return cur.ToFloat()
}

// Norm is a per-channel affine normalisation x = pixel*Scale[c] + Offset[c]
// applied to pixel values in 0..255.
type Norm struct {
	Scale, Offset [3]float32
}

// MeanStdNorm returns the normalisation (pixel/255 - mean[c]) / std[c].
func MeanStdNorm(mean, std [3]float32) Norm {
	var n Norm
	for c := 0; c < 3; c++ {
		n.Scale[c] = 1 / (255 * std[c])
		n.Offset[c] = -mean[c] / std[c]
	}
	return n
}

// Apply returns the normalised value of pixel p of channel c.
func (n Norm) Apply(p float32, c int) float32 { return p*n.Scale[c] + n.Offset[c] }

// ToTensor stacks equally sized float images into an NCHW tensor
// [len(ims), 3, H, W], normalised with n.
func ToTensor(ims []FloatImage, n Norm) (*tensor.Tensor, error) {
	if len(ims) == 0 {
		return nil, fmt.Errorf("images: no images")
	}
	h, w := ims[0].H, ims[0].W
	out := tensor.Zeros(len(ims), 3, h, w)
	d := out.Data()
	for i, m := range ims {
		if m.H != h || m.W != w {
			return nil, fmt.Errorf("images: image %d is %dx%d, image 0 is %dx%d", i, m.H, m.W, h, w)
		}
		for c := 0; c < 3; c++ {
			plane := d[(i*3+c)*h*w : (i*3+c+1)*h*w]
			for p := range plane {
				plane[p] = n.Apply(m.Pix[p*3+c], c)
			}
		}
	}
	return out, nil
}
