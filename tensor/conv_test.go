package tensor

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// convNaive is the textbook definition in float64, used as the oracle.
func convNaive(x, w, b *Tensor, p Conv2DParams) *Tensor {
	g := convCheck(x, w, b, p)
	out := Zeros(g.n, g.o, g.oh, g.ow)
	for i := 0; i < g.n; i++ {
		for oc := 0; oc < g.o; oc++ {
			gr := oc / g.og
			for oy := 0; oy < g.oh; oy++ {
				for ox := 0; ox < g.ow; ox++ {
					var s float64
					if b != nil {
						s = float64(b.At(oc))
					}
					for c := 0; c < g.cg; c++ {
						for ky := 0; ky < g.kh; ky++ {
							for kx := 0; kx < g.kw; kx++ {
								iy, ix := oy*g.sh+ky-g.pt, ox*g.sw+kx-g.pl
								if iy < 0 || iy >= g.h || ix < 0 || ix >= g.w {
									continue
								}
								s += float64(x.At(i, gr*g.cg+c, iy, ix)) * float64(w.At(oc, c, ky, kx))
							}
						}
					}
					switch p.Act {
					case ConvActReLU:
						s = math.Max(s, 0)
					case ConvActReLU6:
						s = math.Min(math.Max(s, 0), 6)
					}
					out.Set(float32(s), i, oc, oy, ox)
				}
			}
		}
	}
	return out
}

func convRand(rng *RNG, shape ...int) *Tensor {
	t := Zeros(shape...)
	for i := range t.data {
		t.data[i] = float32(rng.Float64()*2 - 1)
	}
	return t
}

func convMaxDiff(a, b *Tensor) float64 {
	if !SameShape(a, b) {
		panic(fmt.Sprintf("shapes %v %v", a.shape, b.shape))
	}
	var m float64
	ad, bd := a.Contiguous().Data(), b.Contiguous().Data()
	for i := range ad {
		m = math.Max(m, math.Abs(float64(ad[i]-bd[i])))
	}
	return m
}

func TestConv2DMatchesNaive(t *testing.T) {
	same := func(in, k, s int) (int, int) { return SamePadding(in, k, s) }
	pt, pb := same(9, 3, 2)
	cases := []struct {
		name     string
		x, w     []int
		bias     bool
		p        Conv2DParams
		outShape []int
	}{
		{"3x3 pad1", []int{2, 3, 8, 8}, []int{5, 3, 3, 3}, true, Conv2DParams{PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, []int{2, 5, 8, 8}},
		{"3x3 stride2 pad1 relu", []int{3, 4, 9, 7}, []int{6, 4, 3, 3}, true, Conv2DParams{StrideH: 2, StrideW: 2, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1, Act: ConvActReLU}, []int{3, 6, 5, 4}},
		{"SAME stride2 relu6", []int{1, 3, 9, 9}, []int{4, 3, 3, 3}, true, Conv2DParams{StrideH: 2, StrideW: 2, PadTop: pt, PadBottom: pb, PadLeft: pt, PadRight: pb, Act: ConvActReLU6}, []int{1, 4, 5, 5}},
		{"groups2", []int{2, 4, 6, 6}, []int{6, 2, 3, 3}, false, Conv2DParams{Groups: 2, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, []int{2, 6, 6, 6}},
		{"depthwise s1", []int{2, 5, 7, 7}, []int{5, 1, 3, 3}, true, Conv2DParams{Groups: 5, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1, Act: ConvActReLU6}, []int{2, 5, 7, 7}},
		{"depthwise s2 SAME even", []int{1, 3, 8, 8}, []int{3, 1, 3, 3}, true, Conv2DParams{Groups: 3, StrideH: 2, StrideW: 2, PadBottom: 1, PadRight: 1}, []int{1, 3, 4, 4}},
		{"pointwise", []int{3, 7, 5, 4}, []int{9, 7, 1, 1}, true, Conv2DParams{}, []int{3, 9, 5, 4}},
		{"1x1 stride2", []int{2, 4, 6, 6}, []int{3, 4, 1, 1}, false, Conv2DParams{StrideH: 2, StrideW: 2}, []int{2, 3, 3, 3}},
		{"5x3 asym pad", []int{1, 2, 7, 6}, []int{3, 2, 5, 3}, true, Conv2DParams{PadTop: 2, PadBottom: 1, PadLeft: 0, PadRight: 2, StrideW: 2}, []int{1, 3, 6, 3}},
		{"depthwise 2x2 input", []int{3, 4, 2, 2}, []int{4, 1, 3, 3}, true, Conv2DParams{Groups: 4, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, []int{3, 4, 2, 2}},
		{"depthwise 1x1 input", []int{2, 2, 1, 1}, []int{2, 1, 3, 3}, true, Conv2DParams{Groups: 2, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1, Act: ConvActReLU}, []int{2, 2, 1, 1}},
		{"depthwise s2 odd", []int{2, 3, 9, 7}, []int{3, 1, 3, 3}, false, Conv2DParams{Groups: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, []int{2, 3, 5, 4}},
		{"depthwise 5x5", []int{1, 2, 6, 6}, []int{2, 1, 5, 5}, true, Conv2DParams{Groups: 2, PadTop: 2, PadBottom: 2, PadLeft: 2, PadRight: 2}, []int{1, 2, 6, 6}},
		{"batched chunks 3x3", []int{9, 3, 4, 4}, []int{5, 3, 3, 3}, true, Conv2DParams{PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1, Act: ConvActReLU6}, []int{9, 5, 4, 4}},
		{"batched chunks pointwise groups", []int{10, 4, 3, 3}, []int{6, 2, 1, 1}, true, Conv2DParams{Groups: 2}, []int{10, 6, 3, 3}},
		{"kernel = input", []int{2, 3, 4, 4}, []int{2, 3, 4, 4}, true, Conv2DParams{}, []int{2, 2, 1, 1}},
	}
	rng := NewRNG(7)
	for _, c := range cases {
		x, w := convRand(rng, c.x...), convRand(rng, c.w...)
		var b *Tensor
		if c.bias {
			b = convRand(rng, c.w[0])
		}
		want := convNaive(x, w, b, c.p)
		if !EqualInts(want.shape, c.outShape) {
			t.Fatalf("%s: naive output %v, want %v", c.name, want.shape, c.outShape)
		}
		for _, algo := range []ConvAlgo{ConvAlgoAuto, ConvAlgoIm2col, ConvAlgoDirect} {
			got := conv2D(x, w, b, c.p, algo)
			if d := convMaxDiff(got, want); d > 1e-5 {
				t.Errorf("%s algo %d: max diff %g", c.name, algo, d)
			}
		}
	}
}

func TestConv2DSymmetricWrapper(t *testing.T) {
	rng := NewRNG(1)
	x, w, b := convRand(rng, 2, 4, 6, 6), convRand(rng, 4, 2, 3, 3), convRand(rng, 4)
	got := Conv2D(x, w, b, 2, 1, 2)
	want := convNaive(x, w, b, Conv2DParams{StrideH: 2, StrideW: 2, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1, Groups: 2})
	if d := convMaxDiff(got, want); d > 1e-5 {
		t.Fatalf("max diff %g", d)
	}
}

func TestConv2DEmptyBatch(t *testing.T) {
	for _, algo := range []ConvAlgo{ConvAlgoAuto, ConvAlgoIm2col, ConvAlgoDirect} {
		out := Conv2DWith(Zeros(0, 4, 5, 5), Zeros(6, 4, 3, 3), nil, Conv2DParams{Algo: algo})
		if !EqualInts(out.Shape(), []int{0, 6, 3, 3}) {
			t.Errorf("algo %d: shape %v", algo, out.Shape())
		}
	}
}

func TestConv2DShapePanics(t *testing.T) {
	cases := []struct {
		name    string
		x, w, b *Tensor
		p       Conv2DParams
		want    string
	}{
		{"rank", Zeros(1, 3, 4), Zeros(2, 3, 1, 1), nil, Conv2DParams{}, "wants x [N,C,H,W]"},
		{"groups", Zeros(1, 4, 4, 4), Zeros(2, 3, 1, 1), nil, Conv2DParams{Groups: 2}, "do not fit 2 groups"},
		{"bias", Zeros(1, 3, 4, 4), Zeros(2, 3, 1, 1), Zeros(3), Conv2DParams{}, "bias [3] for 2"},
		{"kernel too big", Zeros(1, 3, 2, 2), Zeros(2, 3, 5, 5), nil, Conv2DParams{}, "larger than padded input"},
		{"negative pad", Zeros(1, 3, 4, 4), Zeros(2, 3, 1, 1), nil, Conv2DParams{PadLeft: -1}, "negative"},
	}
	for _, c := range cases {
		func() {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(fmt.Sprint(r), c.want) {
					t.Errorf("%s: panic %v, want %q", c.name, r, c.want)
				}
			}()
			Conv2DWith(c.x, c.w, c.b, c.p)
		}()
	}
}

func TestConv2DKnownValues(t *testing.T) {
	// 1 channel 3x3 input, 2x2 all-ones kernel, no pad: window sums.
	x := FromSlice([]float32{1, 2, 3, 4, 5, 6, 7, 8, 9}, 1, 1, 3, 3)
	w := Full(1, 1, 1, 2, 2)
	got := Conv2D(x, w, FromSlice([]float32{-20}, 1), 1, 0, 1).Data()
	want := []float32{12 - 20, 16 - 20, 24 - 20, 28 - 20}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v want %v", got, want)
		}
	}
}

func TestSamePadding(t *testing.T) {
	cases := []struct{ in, k, s, before, after, out int }{
		{224, 3, 2, 0, 1, 112},
		{112, 3, 1, 1, 1, 112},
		{7, 3, 2, 1, 1, 4},
		{8, 1, 1, 0, 0, 8},
		{5, 5, 1, 2, 2, 5},
		{4, 3, 2, 0, 1, 2},
	}
	for _, c := range cases {
		b, a := SamePadding(c.in, c.k, c.s)
		if b != c.before || a != c.after || ConvOutSize(c.in, c.k, c.s, b, a) != c.out {
			t.Errorf("SamePadding(%d,%d,%d) = %d,%d (out %d), want %d,%d (out %d)", c.in, c.k, c.s, b, a, ConvOutSize(c.in, c.k, c.s, b, a), c.before, c.after, c.out)
		}
	}
}

func TestFoldBatchNorm(t *testing.T) {
	rng := NewRNG(3)
	x, w, b := convRand(rng, 2, 3, 5, 5), convRand(rng, 4, 3, 3, 3), convRand(rng, 4)
	gamma, beta, mean := convRand(rng, 4), convRand(rng, 4), convRand(rng, 4)
	variance := FromSlice([]float32{0.5, 1.5, 2, 0.1}, 4)
	want := BatchNorm2D(Conv2D(x, w, b, 1, 1, 1), gamma, beta, mean, variance, 1e-5)
	wf, bf := FoldBatchNorm(w, b, gamma, beta, mean, variance, 1e-5)
	if d := convMaxDiff(Conv2D(x, wf, bf, 1, 1, 1), want); d > 1e-5 {
		t.Fatalf("folded conv differs by %g", d)
	}
	// BatchNorm2D itself on a known value: gamma=2, beta=1, mean=3, var=4-eps -> (5-3)/2*2+1 = 3.
	one := func(v float32) *Tensor { return FromSlice([]float32{v}, 1) }
	got := BatchNorm2D(FromSlice([]float32{5}, 1, 1, 1, 1), one(2), one(1), one(3), one(4-1e-3), 1e-3).Data()[0]
	if math.Abs(float64(got-3)) > 1e-6 {
		t.Fatalf("BatchNorm2D = %g, want 3", got)
	}
}

func TestAddActInPlace(t *testing.T) {
	cases := []struct {
		act  ConvAct
		want []float32
	}{
		{ConvActNone, []float32{-3, 0.5, 7}},
		{ConvActReLU, []float32{0, 0.5, 7}},
		{ConvActReLU6, []float32{0, 0.5, 6}},
	}
	for _, c := range cases {
		d := FromSlice([]float32{-1, 0.25, 5}, 3)
		AddActInPlace(d, FromSlice([]float32{-2, 0.25, 2}, 3), c.act)
		for i := range c.want {
			if d.Data()[i] != c.want[i] {
				t.Errorf("%v: got %v want %v", c.act, d.Data(), c.want)
			}
		}
	}
}

func TestPooling(t *testing.T) {
	x := FromSlice([]float32{
		1, 2, 3, 4,
		5, 6, 7, 8,
		9, 10, 11, 12,
		13, 14, 15, 16}, 1, 1, 4, 4)
	cases := []struct {
		name string
		got  *Tensor
		want []float32
	}{
		{"avg 2/2", AvgPool2D(x, 2, 2, 0), []float32{3.5, 5.5, 11.5, 13.5}},
		{"avg 3/2 pad1 incl pad", AvgPool2D(x, 3, 2, 1), []float32{(1 + 2 + 5 + 6) / 9., (2 + 3 + 4 + 6 + 7 + 8) / 9., (5 + 6 + 9 + 10 + 13 + 14) / 9., (6 + 7 + 8 + 10 + 11 + 12 + 14 + 15 + 16) / 9.}},
		{"max 2/2", MaxPool2D(x, 2, 2, 0), []float32{6, 8, 14, 16}},
		{"max 3/2 pad1", MaxPool2D(x, 3, 2, 1), []float32{6, 8, 14, 16}},
		{"global avg", GlobalAvgPool2D(x), []float32{8.5}},
	}
	for _, c := range cases {
		d := c.got.Data()
		if len(d) != len(c.want) {
			t.Fatalf("%s: got %v", c.name, d)
		}
		for i := range d {
			if math.Abs(float64(d[i]-c.want[i])) > 1e-6 {
				t.Errorf("%s: got %v want %v", c.name, d, c.want)
				break
			}
		}
	}
	g := GlobalAvgPool2D(FromSlice([]float32{1, 3, 10, 20, -1, -3, 0, 8}, 2, 2, 1, 2)).Data()
	if g[0] != 2 || g[1] != 15 || g[2] != -2 || g[3] != 4 {
		t.Fatalf("GlobalAvgPool2D = %v", g)
	}
}
