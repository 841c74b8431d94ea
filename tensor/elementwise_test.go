package tensor

import (
	"math"
	"testing"
)

func TestBinaryHandValues(t *testing.T) {
	a := FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	tests := []struct {
		name  string
		got   *Tensor
		shape []int
		want  []float32
	}{
		{"add same", Add(a, a), []int{2, 3}, []float32{2, 4, 6, 8, 10, 12}},
		{"add bias row", Add(a, FromSlice([]float32{10, 20, 30}, 3)), []int{2, 3}, []float32{11, 22, 33, 14, 25, 36}},
		{"sub column", Sub(a, FromSlice([]float32{1, 2}, 2, 1)), []int{2, 3}, []float32{0, 1, 2, 2, 3, 4}},
		{"mul scalar 0-d", Mul(a, Scalar(2)), []int{2, 3}, []float32{2, 4, 6, 8, 10, 12}},
		{"mul scalar left", Mul(Scalar(-1), a), []int{2, 3}, []float32{-1, -2, -3, -4, -5, -6}},
		{"div", Div(a, FromSlice([]float32{1, 2, 4}, 1, 3)), []int{2, 3}, []float32{1, 1, 0.75, 4, 2.5, 1.5}},
		{"div scalar left", Div(Scalar(12), a), []int{2, 3}, []float32{12, 6, 4, 3, 2.4, 2}},
		{"outer [3,1]+[1,2]", Add(FromSlice([]float32{1, 2, 3}, 3, 1), FromSlice([]float32{10, 20}, 1, 2)), []int{3, 2}, []float32{11, 21, 12, 22, 13, 23}},
		{"rank mismatch", Sub(FromSlice([]float32{1, 2, 3, 4}, 2, 1, 2), FromSlice([]float32{1, 1, 0, 0}, 2, 2)), []int{2, 2, 2}, []float32{0, 1, 1, 2, 2, 3, 3, 4}},
		{"transposed view", Add(a.T(), FromSlice([]float32{0, 100}, 2)), []int{3, 2}, []float32{1, 104, 2, 105, 3, 106}},
		{"sliced view", Mul(a.Slice(1, 1, 3), a.Slice(1, 0, 2)), []int{2, 2}, []float32{2, 6, 20, 30}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { opsExpect(t, tc.name, tc.got, tc.shape, tc.want, 1e-6) })
	}
}

func TestBinaryMatchesReference(t *testing.T) {
	rng := NewRNG(1)
	shapes := [][2][]int{
		{{4, 5}, {4, 5}}, {{4, 5}, {5}}, {{4, 5}, {4, 1}}, {{4, 5}, {1, 5}}, {{3, 1, 5}, {4, 1}},
		{{2, 3, 4}, {3, 1}}, {{1}, {2, 3}}, {{}, {3}}, {{2, 1, 3, 1}, {1, 4, 1, 5}}, {{0, 3}, {3}},
	}
	ops := []struct {
		name string
		f    func(a, b *Tensor) *Tensor
		ref  func(x, y float32) float32
	}{
		{"Add", Add, func(x, y float32) float32 { return x + y }},
		{"Sub", Sub, func(x, y float32) float32 { return x - y }},
		{"Mul", Mul, func(x, y float32) float32 { return x * y }},
		{"Div", Div, func(x, y float32) float32 { return x / y }},
	}
	for _, sh := range shapes {
		a := RandU(rng, 0.5, 2, sh[0]...)
		b := RandU(rng, 0.5, 2, sh[1]...)
		for _, op := range ops {
			for _, swap := range []bool{false, true} {
				x, y := a, b
				if swap {
					x, y = b, a
				}
				want, err := refBroadcast(x, y, op.ref)
				if err != nil {
					t.Fatal(err)
				}
				opsExpect(t, op.name, op.f(x, y), want.Shape(), want.Data(), 1e-6)
			}
		}
	}
	// Strided operands (a permuted 3-D view against a broadcast row).
	x := RandN(rng, 3, 4, 5).Permute(2, 0, 1) // [5, 3, 4]
	y := RandN(rng, 4)
	want, _ := refBroadcast(x, y, func(p, q float32) float32 { return p * q })
	opsExpect(t, "permuted", Mul(x, y), want.Shape(), want.Data(), 1e-6)
}

func TestBinaryIncompatiblePanics(t *testing.T) {
	opsExpectPanic(t, "Add", func() { Add(Zeros(2, 3), Zeros(2)) }, "[2 3]", "[2]", "broadcast")
	opsExpectPanic(t, "Mul", func() { Mul(Zeros(4, 1, 3), Zeros(2, 2)) }, "Mul", "[4 1 3]", "[2 2]")
	opsExpectPanic(t, "AddInto wrong dst", func() { AddInto(Zeros(3), Zeros(2, 3), Zeros(3)) }, "destination", "[3]")
}

func TestIntoVariantsReuseBuffers(t *testing.T) {
	a := FromSlice([]float32{1, -2, 3, -4}, 2, 2)
	dst := Full(99, 2, 2)
	if got := AddInto(dst, a, FromSlice([]float32{1, 1}, 2)); got != dst {
		t.Fatal("AddInto did not return dst")
	}
	opsExpect(t, "AddInto", dst, []int{2, 2}, []float32{2, -1, 4, -3}, 0)
	MulInto(dst, dst, dst) // in place, aliasing both operands
	opsExpect(t, "MulInto alias", dst, []int{2, 2}, []float32{4, 1, 16, 9}, 0)
	SubInto(dst, dst, Scalar(1))
	opsExpect(t, "SubInto", dst, []int{2, 2}, []float32{3, 0, 15, 8}, 0)
	DivInto(dst, dst, Scalar(2))
	opsExpect(t, "DivInto", dst, []int{2, 2}, []float32{1.5, 0, 7.5, 4}, 0)
	ReLUInto(dst, a)
	opsExpect(t, "ReLUInto", dst, []int{2, 2}, []float32{1, 0, 3, 0}, 0)
	ScaleInto(dst, a.T(), 2)
	opsExpect(t, "ScaleInto strided src", dst, []int{2, 2}, []float32{2, 6, -4, -8}, 0)
	b := a.Clone()
	AddInPlace(b, FromSlice([]float32{10, 20}, 2, 1))
	opsExpect(t, "AddInPlace", b, []int{2, 2}, []float32{11, 8, 23, 16}, 0)
}

func TestUnaryHandValues(t *testing.T) {
	x := FromSlice([]float32{-2, -0.5, 0, 1, 4, 9}, 2, 3)
	e := func(v float64) float32 { return float32(math.Exp(v)) }
	tests := []struct {
		name string
		got  *Tensor
		want []float32
	}{
		{"Scale", Scale(x, 3), []float32{-6, -1.5, 0, 3, 12, 27}},
		{"AddScalar", AddScalar(x, 1), []float32{-1, 0.5, 1, 2, 5, 10}},
		{"Neg", Neg(x), []float32{2, 0.5, 0, -1, -4, -9}},
		{"Exp", Exp(x), []float32{e(-2), e(-0.5), 1, e(1), e(4), e(9)}},
		{"Sqrt", Sqrt(Abs(x)), []float32{float32(math.Sqrt2), float32(math.Sqrt(0.5)), 0, 1, 2, 3}},
		{"Square", Square(x), []float32{4, 0.25, 0, 1, 16, 81}},
		{"Abs", Abs(x), []float32{2, 0.5, 0, 1, 4, 9}},
		{"Clamp", Clamp(x, -1, 3), []float32{-1, -0.5, 0, 1, 3, 3}},
		{"Log", Log(FromSlice([]float32{1, e(2), 0.5, 10, e(-3), 1}, 2, 3)), []float32{0, 2, float32(math.Log(0.5)), float32(math.Log(10)), -3, 0}},
		{"ReLU", ReLU(x), []float32{0, 0, 0, 1, 4, 9}},
		{"ReLU6", ReLU6(x), []float32{0, 0, 0, 1, 4, 6}},
		{"Sigmoid", Sigmoid(x), []float32{0.11920292, 0.37754067, 0.5, 0.7310586, 0.98201379, 0.99987661}},
		{"SiLU", SiLU(x), []float32{-0.23840584, -0.18877033, 0, 0.7310586, 3.92805516, 8.99888947}},
		{"Tanh", Tanh(x), []float32{-0.96402758, -0.46211716, 0, 0.76159416, 0.99932930, 0.99999997}},
		{"GELU", GELU(x), []float32{-0.04550026, -0.15426877, 0, 0.84134475, 3.99987332, 9}},
		{"ELU", ELU(x, 1.5), []float32{1.5 * -0.86466472, 1.5 * -0.39346934, 0, 1, 4, 9}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { opsExpect(t, tc.name, tc.got, []int{2, 3}, tc.want, 2e-6*math.Max(1, 1)) })
	}
	// Strided input gives the same values as the contiguous copy.
	opsExpect(t, "GELU strided", GELU(x.T()), []int{3, 2}, GELU(x.T().Contiguous()).Data(), 0)
	// Sigmoid of huge magnitudes stays finite.
	opsExpect(t, "Sigmoid extremes", Sigmoid(FromSlice([]float32{-1e30, 1e30}, 2)), []int{2}, []float32{0, 1}, 0)
	opsExpectPanic(t, "Clamp lo>hi", func() { Clamp(x, 2, 1) }, "Clamp")
}

func TestReduceToAndExpand(t *testing.T) {
	g := opsSeq(1, 1, 2, 3) // [[1 2 3] [4 5 6]]
	opsExpect(t, "to [3]", ReduceTo(g, []int{3}), []int{3}, []float32{5, 7, 9}, 0)
	opsExpect(t, "to [2,1]", ReduceTo(g, []int{2, 1}), []int{2, 1}, []float32{6, 15}, 0)
	opsExpect(t, "to []", ReduceTo(g, []int{}), []int{}, []float32{21}, 0)
	opsExpect(t, "to [1,3] strided", ReduceTo(g.T().Contiguous().T(), []int{1, 3}), []int{1, 3}, []float32{5, 7, 9}, 0)
	opsExpect(t, "Expand", Expand(FromSlice([]float32{1, 2}, 2, 1), 2, 3), []int{2, 3}, []float32{1, 1, 1, 2, 2, 2}, 0)
	opsExpectPanic(t, "ReduceTo bad", func() { ReduceTo(g, []int{4}) }, "ReduceTo", "[4]")
	dst := Zeros(3, 4)
	Assign(dst.Slice(1, 1, 3), FromSlice([]float32{1, 2}, 2))
	opsExpect(t, "Assign into slice", dst, []int{3, 4}, []float32{0, 1, 2, 0, 0, 1, 2, 0, 0, 1, 2, 0}, 0)
}

func TestLargeKernelsMatchSerial(t *testing.T) {
	// Big enough to be split across goroutines: every element must equal the
	// serial kernel's, and the float64 formula to float32 accuracy.
	x := RandN(NewRNG(9), 300, 257)
	xd := x.Data()
	ones := Full(1, 300, 257)
	serial := func(op unOp) []float32 {
		out := make([]float32, len(xd))
		unKernel(op, out, xd, 0, 0)
		return out
	}
	gradSerial := make([]float32, len(xd))
	gradKernel(gGELU, gradSerial, xd, ones.Data(), 0)
	tests := []struct {
		name   string
		got    *Tensor
		serial []float32
		ref    func(x float64) float64
	}{
		{"GELU", GELU(x), serial(uGELU), func(x float64) float64 { return 0.5 * x * math.Erfc(-x/math.Sqrt2) }},
		{"SiLU", SiLU(x), serial(uSiLU), func(x float64) float64 { return x / (1 + math.Exp(-x)) }},
		{"Sigmoid", Sigmoid(x), serial(uSigmoid), func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }},
		{"Exp", Exp(x), serial(uExp), math.Exp},
		{"GELUGrad", GELUGrad(x, ones), gradSerial, func(x float64) float64 {
			return 0.5*math.Erfc(-x/math.Sqrt2) + x*math.Exp(-x*x/2)/math.Sqrt(2*math.Pi)
		}},
	}
	for _, tc := range tests {
		g := tc.got.Data()
		for i, v := range xd {
			if g[i] != tc.serial[i] {
				t.Fatalf("%s element %d: parallel %g, serial %g", tc.name, i, g[i], tc.serial[i])
			}
			if w := tc.ref(float64(v)); math.Abs(float64(g[i])-w) > 5e-7*math.Max(1, math.Abs(w)) {
				t.Fatalf("%s(%g) = %g, want %g", tc.name, v, g[i], w)
			}
		}
	}
	p := Softmax(x, 1)
	for r := 0; r < 300; r++ {
		if sum := SumAll(p.Slice(0, r, r+1)); math.Abs(sum-1) > 1e-5 {
			t.Fatalf("softmax row %d sums to %g", r, sum)
		}
	}
	want := Softmax(x.Slice(0, 150, 151), 1)
	opsExpect(t, "softmax row 150", p.Slice(0, 150, 151), []int{1, 257}, want.Data(), 0)
}

// TestReLUGradEdgeCases pins the masked (branch-free) ReLU and ReLU6
// gradients to their definition, g where 0 < x (< 6), else 0, on signed
// zeros, subnormals, the ReLU6 knee, infinities and NaNs in either operand.
func TestReLUGradEdgeCases(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	xs := []float32{-1, float32(math.Copysign(0, -1)), 0, 1e-45, 3, 5.9999995, 6, 7, inf, -inf, nan, 2}
	gs := []float32{5, 5, 5, 5, -2, 4, 4, 4, 1.5, 1.5, 1.5, nan}
	tests := []struct {
		name string
		fn   func(x, g *Tensor) *Tensor
		keep func(x float32) bool
	}{
		{"ReLUGrad", ReLUGrad, func(x float32) bool { return x > 0 }},
		{"ReLU6Grad", ReLU6Grad, func(x float32) bool { return x > 0 && x < 6 }},
	}
	for _, tc := range tests {
		got := tc.fn(FromSlice(xs, len(xs)), FromSlice(gs, len(gs))).Data()
		for i, x := range xs {
			want := float32(0)
			if tc.keep(x) {
				want = gs[i]
			}
			if math.Float32bits(got[i]) != math.Float32bits(want) {
				t.Errorf("%s(x=%v, g=%v) = %v, want %v", tc.name, x, gs[i], got[i], want)
			}
		}
	}
}
