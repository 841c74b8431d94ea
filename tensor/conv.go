package tensor

import (
	"fmt"
	"math"
	"runtime"

	"github.com/nagml/nag/internal/par"
	"gonum.org/v1/gonum/blas"
)

// Convolution layout: activations are NCHW ([batch, channels, height,
// width]) and weights are [out, in/groups, kh, kw] (PyTorch's layout). These
// are inference kernels (no gradient): the CNN feature extractors of the
// dataset encoder use them.

// ConvAct is an activation fused into the output pass of Conv2DWith and
// AddActInPlace.
type ConvAct int

const (
	// ConvActNone applies no activation.
	ConvActNone ConvAct = iota
	// ConvActReLU applies max(x, 0).
	ConvActReLU
	// ConvActReLU6 applies min(max(x, 0), 6).
	ConvActReLU6
)

// String names the activation.
func (a ConvAct) String() string {
	switch a {
	case ConvActNone:
		return "none"
	case ConvActReLU:
		return "relu"
	case ConvActReLU6:
		return "relu6"
	}
	return fmt.Sprintf("ConvAct(%d)", int(a))
}

// Conv2DParams configures Conv2DWith. Zero strides and groups mean 1.
// Padding is given per side so that TensorFlow's asymmetric SAME padding
// (see SamePadding) can be expressed; padded pixels are zero.
type Conv2DParams struct {
	StrideH, StrideW                     int
	PadTop, PadBottom, PadLeft, PadRight int
	Groups                               int
	// Act is applied to conv + bias before the result is stored.
	Act ConvAct
	// Algo forces a kernel (benchmarks and tests); leave it ConvAlgoAuto.
	Algo ConvAlgo
}

// SamePadding returns TensorFlow's SAME padding for one spatial axis of size
// in with kernel size k and the given stride: out = ceil(in/stride),
// total = max((out-1)*stride + k - in, 0), before = total/2, after = the rest.
func SamePadding(in, k, stride int) (before, after int) {
	out := (in + stride - 1) / stride
	total := (out-1)*stride + k - in
	if total < 0 {
		total = 0
	}
	return total / 2, total - total/2
}

// ConvOutSize is the output size of one spatial axis: (in + padBefore +
// padAfter - k) / stride + 1.
func ConvOutSize(in, k, stride, padBefore, padAfter int) int {
	return (in+padBefore+padAfter-k)/stride + 1
}

// Conv2D is a 2-D convolution of x [N, C, H, W] with w [O, C/groups, kh, kw]
// and optional bias b [O] (nil for none), with the same stride and
// symmetric zero padding on both axes. It returns [N, O, OH, OW].
func Conv2D(x, w, b *Tensor, stride, pad, groups int) *Tensor {
	return Conv2DWith(x, w, b, Conv2DParams{StrideH: stride, StrideW: stride,
		PadTop: pad, PadBottom: pad, PadLeft: pad, PadRight: pad, Groups: groups})
}

// Conv2DWith is Conv2D with per-axis strides, per-side padding and a fused
// activation. Dense and grouped convolutions run as im2col + the default
// backend's SGEMM (a 1x1 stride-1 unpadded convolution skips im2col);
// depthwise convolutions (one input channel per group) run a direct kernel,
// which the benchmarks in conv_test.go show to be faster there. Work is
// spread over images (and over channels for depthwise) on GOMAXPROCS
// goroutines.
func Conv2DWith(x, w, b *Tensor, p Conv2DParams) *Tensor {
	return conv2D(x, w, b, p, p.Algo)
}

// ConvAlgo selects a convolution kernel.
type ConvAlgo int

const (
	// ConvAlgoAuto picks the direct kernel for depthwise convolutions and
	// im2col + SGEMM otherwise (the faster one in the benchmarks).
	ConvAlgoAuto ConvAlgo = iota
	// ConvAlgoIm2col unfolds the input and multiplies with the backend SGEMM.
	ConvAlgoIm2col
	// ConvAlgoDirect accumulates kernel taps directly into the output.
	ConvAlgoDirect
)

// convGeom holds the checked geometry of one convolution.
type convGeom struct {
	n, c, h, w        int
	o, cg, og, kh, kw int
	sh, sw, pt, pl    int
	oh, ow, groups    int
	act               ConvAct
}

func convCheck(x, w, b *Tensor, p Conv2DParams) convGeom {
	if x.Rank() != 4 || w.Rank() != 4 {
		panic(fmt.Sprintf("tensor: Conv2D wants x [N,C,H,W] and w [O,C/g,kh,kw], got %v and %v", x.shape, w.shape))
	}
	g := convGeom{n: x.shape[0], c: x.shape[1], h: x.shape[2], w: x.shape[3],
		o: w.shape[0], cg: w.shape[1], kh: w.shape[2], kw: w.shape[3],
		sh: p.StrideH, sw: p.StrideW, pt: p.PadTop, pl: p.PadLeft, groups: p.Groups, act: p.Act}
	if g.sh == 0 {
		g.sh = 1
	}
	if g.sw == 0 {
		g.sw = 1
	}
	if g.groups == 0 {
		g.groups = 1
	}
	if g.sh < 0 || g.sw < 0 || g.groups < 0 || p.PadTop < 0 || p.PadBottom < 0 || p.PadLeft < 0 || p.PadRight < 0 {
		panic(fmt.Sprintf("tensor: Conv2D negative stride, padding or groups %+v", p))
	}
	if g.c%g.groups != 0 || g.o%g.groups != 0 || g.c/g.groups != g.cg {
		panic(fmt.Sprintf("tensor: Conv2D x %v, w %v do not fit %d groups", x.shape, w.shape, g.groups))
	}
	if b != nil && (b.Rank() != 1 || b.shape[0] != g.o) {
		panic(fmt.Sprintf("tensor: Conv2D bias %v for %d output channels", b.shape, g.o))
	}
	g.og = g.o / g.groups
	g.oh = ConvOutSize(g.h, g.kh, g.sh, p.PadTop, p.PadBottom)
	g.ow = ConvOutSize(g.w, g.kw, g.sw, p.PadLeft, p.PadRight)
	if g.oh <= 0 || g.ow <= 0 {
		panic(fmt.Sprintf("tensor: Conv2D kernel %dx%d larger than padded input %v", g.kh, g.kw, x.shape))
	}
	return g
}

func conv2D(x, w, b *Tensor, p Conv2DParams, algo ConvAlgo) *Tensor {
	g := convCheck(x, w, b, p)
	xd, wd := x.Contiguous().Data(), w.Contiguous().Data()
	var bd []float32
	if b != nil {
		bd = b.Contiguous().Data()
	}
	out := Zeros(g.n, g.o, g.oh, g.ow)
	od := out.Data()
	if algo == ConvAlgoAuto {
		algo = ConvAlgoIm2col
		if g.cg == 1 && g.og == 1 {
			algo = ConvAlgoDirect
		}
	}
	switch algo {
	case ConvAlgoDirect:
		// Units are (image, group) pairs.
		convParallel(g.n*g.groups, func(lo, hi int) {
			for u := lo; u < hi; u++ {
				convDirectGroup(&g, xd, wd, bd, od, u/g.groups, u%g.groups)
			}
		})
	default:
		// Images are processed in chunks of b: the GEMM of a chunk has
		// b*OH*OW columns, so small late-stage maps still give wide products.
		ohw := g.oh * g.ow
		b := 1
		if ohw < convMinCols {
			b = (convMinCols + ohw - 1) / ohw
		}
		workers := runtime.GOMAXPROCS(0)
		if per := (g.n + workers - 1) / workers; b > per {
			b = max(per, 1)
		}
		chunks := (g.n + b - 1) / b
		convParallel(chunks, func(lo, hi int) {
			k := g.cg * g.kh * g.kw
			var cols, tmp []float32
			if b > 1 || !convIsPointwise(&g) {
				cols = make([]float32, k*b*ohw)
			}
			if b > 1 {
				tmp = make([]float32, g.og*b*ohw)
			}
			for ch := lo; ch < hi; ch++ {
				i0, i1 := ch*b, min((ch+1)*b, g.n)
				for gr := 0; gr < g.groups; gr++ {
					convIm2colChunk(&g, xd, wd, bd, od, cols, tmp, i0, i1, gr)
				}
			}
		})
	}
	return out
}

// convIsPointwise reports a 1x1, stride-1, unpadded convolution, whose input
// plane is already the GEMM operand.
func convIsPointwise(g *convGeom) bool {
	return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.oh == g.h && g.ow == g.w
}

// convParallel runs f over [0, n) split into contiguous chunks, one per
// worker goroutine (at most GOMAXPROCS).
func convParallel(n int, f func(lo, hi int)) {
	workers := runtime.GOMAXPROCS(0)
	if workers > n {
		workers = n
	}
	if workers <= 1 {
		f(0, n)
		return
	}
	par.Do(workers, func(k int) { f(k*n/workers, (k+1)*n/workers) })
}

// convMinCols is the GEMM width below which images are batched together.
const convMinCols = 1024

// convIm2colChunk computes group gr of images [i0, i1): with one image the
// GEMM writes straight into the output; with several, their unfolded inputs
// sit side by side in cols and the product is scattered back per image.
func convIm2colChunk(g *convGeom, xd, wd, bd, od, cols, tmp []float32, i0, i1, gr int) {
	hw, ohw := g.h*g.w, g.oh*g.ow
	k := g.cg * g.kh * g.kw
	nb := i1 - i0
	ld := nb * ohw
	wg := wd[gr*g.og*k : (gr+1)*g.og*k]
	xg := func(i int) []float32 { return xd[(i*g.c+gr*g.cg)*hw : (i*g.c+(gr+1)*g.cg)*hw] }
	og := func(i int) []float32 { return od[(i*g.o+gr*g.og)*ohw : (i*g.o+(gr+1)*g.og)*ohw] }
	bias := func(oc int) float32 {
		if bd == nil {
			return 0
		}
		return bd[gr*g.og+oc]
	}
	if nb == 1 {
		bmat := cols
		if convIsPointwise(g) {
			bmat = xg(i0)
		} else {
			convUnfold(g, xg(i0), cols, ohw)
		}
		dst := og(i0)
		Default().Sgemm(blas.NoTrans, blas.NoTrans, g.og, ohw, k, 1, wg, k, bmat, ohw, 0, dst, ohw)
		for oc := 0; oc < g.og; oc++ {
			convEpilogue(dst[oc*ohw:(oc+1)*ohw], bias(oc), g.act)
		}
		return
	}
	for j := 0; j < nb; j++ {
		if convIsPointwise(g) {
			src := xg(i0 + j)
			for r := 0; r < k; r++ {
				copy(cols[r*ld+j*ohw:r*ld+(j+1)*ohw], src[r*hw:(r+1)*hw])
			}
		} else {
			convUnfold(g, xg(i0+j), cols[j*ohw:], ld)
		}
	}
	tmp = tmp[:g.og*ld]
	Default().Sgemm(blas.NoTrans, blas.NoTrans, g.og, ld, k, 1, wg, k, cols[:k*ld], ld, 0, tmp, ld)
	for j := 0; j < nb; j++ {
		dst := og(i0 + j)
		for oc := 0; oc < g.og; oc++ {
			row := dst[oc*ohw : (oc+1)*ohw]
			copy(row, tmp[oc*ld+j*ohw:oc*ld+(j+1)*ohw])
			convEpilogue(row, bias(oc), g.act)
		}
	}
}

// convUnfold unfolds the channels of one image group xg [cg, H, W] into
// rows of cols with row stride ld: row r = (c, ky, kx) holds the input pixel
// under that tap for every output pixel (OH*OW values).
func convUnfold(g *convGeom, xg, cols []float32, ld int) {
	ohw := g.oh * g.ow
	row := 0
	for c := 0; c < g.cg; c++ {
		plane := xg[c*g.h*g.w : (c+1)*g.h*g.w]
		for ky := 0; ky < g.kh; ky++ {
			for kx := 0; kx < g.kw; kx++ {
				dst := cols[row*ld : row*ld+ohw]
				row++
				x0, x1 := convValidRange(g.ow, g.w, g.sw, kx-g.pl)
				for oy := 0; oy < g.oh; oy++ {
					drow := dst[oy*g.ow : (oy+1)*g.ow]
					iy := oy*g.sh + ky - g.pt
					if iy < 0 || iy >= g.h || x0 >= x1 {
						clear(drow)
						continue
					}
					clear(drow[:x0])
					clear(drow[x1:])
					src := plane[iy*g.w : (iy+1)*g.w]
					ix := x0*g.sw + kx - g.pl
					if g.sw == 1 {
						copy(drow[x0:x1], src[ix:ix+x1-x0])
						continue
					}
					for ox := x0; ox < x1; ox++ {
						drow[ox] = src[ix]
						ix += g.sw
					}
				}
			}
		}
	}
}

// convValidRange returns the output columns [lo, hi) whose input column
// ox*stride + shift lies inside [0, in).
func convValidRange(out, in, stride, shift int) (lo, hi int) {
	// smallest ox with ox*stride + shift >= 0
	if shift < 0 {
		lo = (-shift + stride - 1) / stride
	}
	// largest ox with ox*stride + shift <= in-1
	last := in - 1 - shift
	if last < 0 {
		return 0, 0
	}
	hi = last/stride + 1
	if hi > out {
		hi = out
	}
	if lo > hi {
		lo = hi
	}
	return lo, hi
}

// convDirectGroup computes group gr of image i directly: for every output
// channel, every input channel of the group and every kernel tap, one
// multiply-add pass over each output row.
func convDirectGroup(g *convGeom, xd, wd, bd, od []float32, i, gr int) {
	hw, ohw := g.h*g.w, g.oh*g.ow
	kk := g.kh * g.kw
	if g.cg == 1 && g.og == 1 && g.kh == 3 && g.kw == 3 {
		var bias float32
		if bd != nil {
			bias = bd[gr]
		}
		convDepthwise3x3(g, xd[(i*g.c+gr)*hw:(i*g.c+gr+1)*hw], wd[gr*9:gr*9+9], od[(i*g.o+gr)*ohw:(i*g.o+gr+1)*ohw], bias)
		return
	}
	for oc := gr * g.og; oc < (gr+1)*g.og; oc++ {
		dst := od[(i*g.o+oc)*ohw : (i*g.o+oc+1)*ohw]
		for c := 0; c < g.cg; c++ {
			plane := xd[(i*g.c+gr*g.cg+c)*hw : (i*g.c+gr*g.cg+c+1)*hw]
			wk := wd[(oc*g.cg+c)*kk : (oc*g.cg+c+1)*kk]
			for ky := 0; ky < g.kh; ky++ {
				for kx := 0; kx < g.kw; kx++ {
					wv := wk[ky*g.kw+kx]
					x0, x1 := convValidRange(g.ow, g.w, g.sw, kx-g.pl)
					if x0 >= x1 || wv == 0 {
						continue
					}
					for oy := 0; oy < g.oh; oy++ {
						iy := oy*g.sh + ky - g.pt
						if iy < 0 || iy >= g.h {
							continue
						}
						src := plane[iy*g.w : (iy+1)*g.w]
						drow := dst[oy*g.ow+x0 : oy*g.ow+x1]
						ix := x0*g.sw + kx - g.pl
						if g.sw == 1 {
							s := src[ix : ix+len(drow)]
							for j := range drow {
								drow[j] += wv * s[j]
							}
							continue
						}
						for j := range drow {
							drow[j] += wv * src[ix]
							ix += g.sw
						}
					}
				}
			}
		}
		var bias float32
		if bd != nil {
			bias = bd[oc]
		}
		convEpilogue(dst, bias, g.act)
	}
}

// convDepthwise3x3 convolves one plane with one 3x3 kernel: each output
// pixel sums its 9 taps in registers (rows outside the image read a zero
// row; columns outside it are handled in a checked border loop).
func convDepthwise3x3(g *convGeom, plane, wk, dst []float32, bias float32) {
	zero := make([]float32, g.w)
	w0, w1, w2, w3, w4, w5, w6, w7, w8 := wk[0], wk[1], wk[2], wk[3], wk[4], wk[5], wk[6], wk[7], wk[8]
	sw := g.sw
	// interior columns: ix0 = ox*sw - pl >= 0 and ix0+2 <= w-1
	lo, hi := convValidRange(g.ow, g.w-2, sw, -g.pl)
	row := func(iy int) []float32 {
		if iy < 0 || iy >= g.h {
			return zero
		}
		return plane[iy*g.w : (iy+1)*g.w]
	}
	for oy := 0; oy < g.oh; oy++ {
		iy := oy*g.sh - g.pt
		r0, r1, r2 := row(iy), row(iy+1), row(iy+2)
		drow := dst[oy*g.ow : (oy+1)*g.ow]
		edge := func(ox int) {
			var s float32
			for kx := 0; kx < 3; kx++ {
				ix := ox*sw + kx - g.pl
				if ix < 0 || ix >= g.w {
					continue
				}
				s += wk[kx]*r0[ix] + wk[3+kx]*r1[ix] + wk[6+kx]*r2[ix]
			}
			drow[ox] = s + bias
		}
		for ox := 0; ox < lo; ox++ {
			edge(ox)
		}
		if sw == 1 && hi > lo {
			ix0 := lo - g.pl
			n := hi - lo
			a0, a1, a2 := r0[ix0:ix0+n+2], r1[ix0:ix0+n+2], r2[ix0:ix0+n+2]
			d := drow[lo:hi]
			for j := range d {
				d[j] = bias + w0*a0[j] + w1*a0[j+1] + w2*a0[j+2] +
					w3*a1[j] + w4*a1[j+1] + w5*a1[j+2] +
					w6*a2[j] + w7*a2[j+1] + w8*a2[j+2]
			}
		} else {
			for ox := lo; ox < hi; ox++ {
				ix := ox*sw - g.pl
				drow[ox] = bias + w0*r0[ix] + w1*r0[ix+1] + w2*r0[ix+2] +
					w3*r1[ix] + w4*r1[ix+1] + w5*r1[ix+2] +
					w6*r2[ix] + w7*r2[ix+1] + w8*r2[ix+2]
			}
		}
		for ox := max(hi, lo); ox < g.ow; ox++ {
			edge(ox)
		}
	}
	convEpilogue(dst, 0, g.act)
}

// convEpilogue adds bias and applies the activation in place. The clamps
// use the min/max builtins (branch-free MINSS/MAXSS): activations are close
// to half negative, so compare-and-branch code mispredicts often.
func convEpilogue(v []float32, bias float32, act ConvAct) {
	switch act {
	case ConvActNone:
		if bias != 0 {
			for j := range v {
				v[j] += bias
			}
		}
	case ConvActReLU:
		for j, x := range v {
			v[j] = max(x+bias, 0)
		}
	case ConvActReLU6:
		for j, x := range v {
			v[j] = min(max(x+bias, 0), 6)
		}
	default:
		panic(fmt.Sprintf("tensor: unknown ConvAct %d", int(act)))
	}
}

// AddActInPlace computes dst = act(dst + src) element-wise (a residual
// shortcut add with the block's activation). Both must be contiguous with
// equal shapes.
func AddActInPlace(dst, src *Tensor, act ConvAct) {
	if !SameShape(dst, src) {
		panic(fmt.Sprintf("tensor: AddActInPlace shapes %v and %v", dst.shape, src.shape))
	}
	d, s := dst.Data(), src.Contiguous().Data()
	s = s[:len(d)]
	for j := range d {
		d[j] += s[j]
	}
	convEpilogue(d, 0, act)
}

// ActInPlace applies act to every element of the contiguous tensor t.
func ActInPlace(t *Tensor, act ConvAct) { convEpilogue(t.Data(), 0, act) }

// FoldBatchNorm folds inference batch norm (y = gamma*(z-mean)/sqrt(var+eps)
// + beta) that follows a convolution with weight w [O, ...] and bias b [O]
// (nil for none) into a new weight and bias, so that Conv2D(x, w', b') equals
// BN(Conv2D(x, w, b)).
func FoldBatchNorm(w, b, gamma, beta, mean, variance *Tensor, eps float32) (*Tensor, *Tensor) {
	o := w.Dim(0)
	for _, t := range []*Tensor{gamma, beta, mean, variance} {
		if t.Rank() != 1 || t.shape[0] != o {
			panic(fmt.Sprintf("tensor: FoldBatchNorm statistics %v for %d channels", t.shape, o))
		}
	}
	wn := w.Clone()
	wd := wn.Data()
	per := len(wd) / o
	bn := Zeros(o)
	gd, bd, md, vd := gamma.Contiguous().Data(), beta.Contiguous().Data(), mean.Contiguous().Data(), variance.Contiguous().Data()
	var b0 []float32
	if b != nil {
		b0 = b.Contiguous().Data()
	}
	for c := 0; c < o; c++ {
		s := gd[c] / float32(math.Sqrt(float64(vd[c]+eps)))
		for j := c * per; j < (c+1)*per; j++ {
			wd[j] *= s
		}
		var bias float32
		if b0 != nil {
			bias = b0[c]
		}
		bn.data[c] = (bias-md[c])*s + bd[c]
	}
	return wn, bn
}

// BatchNorm2D applies inference batch norm to x [N, C, ...] with per-channel
// statistics [C]: y = gamma*(x-mean)/sqrt(var+eps) + beta.
func BatchNorm2D(x, gamma, beta, mean, variance *Tensor, eps float32) *Tensor {
	if x.Rank() < 2 {
		panic(fmt.Sprintf("tensor: BatchNorm2D on shape %v", x.shape))
	}
	c := x.shape[1]
	for _, t := range []*Tensor{gamma, beta, mean, variance} {
		if t.Rank() != 1 || t.shape[0] != c {
			panic(fmt.Sprintf("tensor: BatchNorm2D statistics %v for x %v", t.shape, x.shape))
		}
	}
	out := x.Clone()
	d := out.Data()
	inner := len(d) / (x.shape[0] * c)
	gd, bd, md, vd := gamma.Contiguous().Data(), beta.Contiguous().Data(), mean.Contiguous().Data(), variance.Contiguous().Data()
	for n := 0; n < x.shape[0]; n++ {
		for ch := 0; ch < c; ch++ {
			s := gd[ch] / float32(math.Sqrt(float64(vd[ch]+eps)))
			sh := bd[ch] - md[ch]*s
			v := d[(n*c+ch)*inner : (n*c+ch+1)*inner]
			for j := range v {
				v[j] = v[j]*s + sh
			}
		}
	}
	return out
}
