package autograd

import (
	"math"
	"testing"

	"github.com/nagml/nag/tensor"
)

// wsum reduces v to a scalar with fixed pseudo-random weights, so that every
// output element gets a distinct upstream gradient. The weights depend only
// on the shape, so repeated evaluations inside CheckGrad agree.
func wsum(tp *Tape, v *Var) *Var {
	return tp.WeightedSum(v, tensor.RandU(tensor.NewRNG(42), -1, 1, v.Shape()...))
}

// awayFromZero returns U(-1,1) samples pushed at least 0.1 away from 0, for
// ops with a kink at 0.
func awayFromZero(rng *tensor.RNG, shape ...int) *tensor.Tensor {
	t := tensor.RandU(rng, -1, 1, shape...)
	d := t.Data()
	for i, v := range d {
		if v < 0 {
			d[i] = v - 0.1
		} else {
			d[i] = v + 0.1
		}
	}
	return t
}

type gradCase struct {
	name   string
	inputs []*tensor.Tensor
	f      func(tp *Tape, in []*Var) *Var
}

func runGradCases(t *testing.T, cases []gradCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := CheckGrad(tc.f, tc.inputs, GradCheckOptions{}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestGradArithmetic(t *testing.T) {
	r := tensor.NewRNG(1)
	u := func(shape ...int) *tensor.Tensor { return tensor.RandU(r, -1, 1, shape...) }
	pos := func(shape ...int) *tensor.Tensor { return tensor.RandU(r, 0.5, 2, shape...) }
	bin := func(op func(tp *Tape, a, b *Var) *Var) func(tp *Tape, in []*Var) *Var {
		return func(tp *Tape, in []*Var) *Var { return wsum(tp, op(tp, in[0], in[1])) }
	}
	add := func(tp *Tape, a, b *Var) *Var { return tp.Add(a, b) }
	sub := func(tp *Tape, a, b *Var) *Var { return tp.Sub(a, b) }
	mul := func(tp *Tape, a, b *Var) *Var { return tp.Mul(a, b) }
	div := func(tp *Tape, a, b *Var) *Var { return tp.Div(a, b) }
	cases := []gradCase{
		{"Add same", []*tensor.Tensor{u(3, 4), u(3, 4)}, bin(add)},
		{"Add bias [n] onto [m,n]", []*tensor.Tensor{u(3, 4), u(4)}, bin(add)},
		{"Add [m,1] onto [m,n]", []*tensor.Tensor{u(3, 1), u(3, 4)}, bin(add)},
		{"Add rank mismatch", []*tensor.Tensor{u(2, 1, 4), u(3, 1)}, bin(add)},
		{"Add 0-d scalar", []*tensor.Tensor{u(3, 2), tensor.Scalar(0.3)}, bin(add)},
		{"Sub bias", []*tensor.Tensor{u(3, 4), u(4)}, bin(sub)},
		{"Sub [m,1]", []*tensor.Tensor{u(3, 1), u(3, 4)}, bin(sub)},
		{"Mul same", []*tensor.Tensor{u(3, 4), u(3, 4)}, bin(mul)},
		{"Mul bias", []*tensor.Tensor{u(2, 3, 4), u(4)}, bin(mul)},
		{"Mul [m,1] rank mismatch", []*tensor.Tensor{u(2, 3, 1), u(3, 4)}, bin(mul)},
		{"Div same", []*tensor.Tensor{u(3, 4), pos(3, 4)}, bin(div)},
		{"Div bias", []*tensor.Tensor{u(3, 4), pos(4)}, bin(div)},
		{"Div [m,1]", []*tensor.Tensor{u(3, 4), pos(3, 1)}, bin(div)},
		{"Mul transposed view", []*tensor.Tensor{u(4, 3), u(3, 4)}, func(tp *Tape, in []*Var) *Var {
			return wsum(tp, tp.Mul(tp.Transpose(in[0], 0, 1), in[1]))
		}},
		{"Add permuted view + bias", []*tensor.Tensor{u(2, 3, 4), u(2)}, func(tp *Tape, in []*Var) *Var {
			return wsum(tp, tp.Add(tp.Permute(in[0], 2, 1, 0), in[1]))
		}},
		{"Scale", []*tensor.Tensor{u(2, 3)}, func(tp *Tape, in []*Var) *Var { return wsum(tp, tp.Scale(in[0], -1.7)) }},
		{"AddScalar", []*tensor.Tensor{u(2, 3)}, func(tp *Tape, in []*Var) *Var { return wsum(tp, tp.AddScalar(in[0], 2.5)) }},
		{"Neg", []*tensor.Tensor{u(2, 3)}, func(tp *Tape, in []*Var) *Var { return wsum(tp, tp.Neg(in[0])) }},
		{"Exp", []*tensor.Tensor{u(2, 3)}, func(tp *Tape, in []*Var) *Var { return wsum(tp, tp.Exp(in[0])) }},
		{"Log", []*tensor.Tensor{pos(2, 3)}, func(tp *Tape, in []*Var) *Var { return wsum(tp, tp.Log(in[0])) }},
		{"Sqrt", []*tensor.Tensor{pos(2, 3)}, func(tp *Tape, in []*Var) *Var { return wsum(tp, tp.Sqrt(in[0])) }},
		{"Square", []*tensor.Tensor{u(2, 3)}, func(tp *Tape, in []*Var) *Var { return wsum(tp, tp.Square(in[0])) }},
		{"Abs", []*tensor.Tensor{awayFromZero(r, 2, 3)}, func(tp *Tape, in []*Var) *Var { return wsum(tp, tp.Abs(in[0])) }},
		{"Square of strided", []*tensor.Tensor{u(3, 2)}, func(tp *Tape, in []*Var) *Var {
			return wsum(tp, tp.Square(tp.Transpose(in[0], 0, 1)))
		}},
	}
	runGradCases(t, cases)
}

func TestGradActivations(t *testing.T) {
	r := tensor.NewRNG(2)
	x := func() *tensor.Tensor { return tensor.Scale(awayFromZero(r, 3, 5), 2.5) } // |x| in [0.25, 2.75]
	// Values on both sides of ReLU6's upper kink at 6 as well as around 0.
	r6 := awayFromZero(r, 3, 4)
	r6d := r6.Data()
	r6d[0], r6d[1], r6d[2] = 6.5, 5.5, 7
	un := func(op func(tp *Tape, a *Var) *Var) func(tp *Tape, in []*Var) *Var {
		return func(tp *Tape, in []*Var) *Var { return wsum(tp, op(tp, in[0])) }
	}
	cases := []gradCase{
		{"ReLU", []*tensor.Tensor{x()}, un(func(tp *Tape, a *Var) *Var { return tp.ReLU(a) })},
		{"ReLU6", []*tensor.Tensor{r6}, un(func(tp *Tape, a *Var) *Var { return tp.ReLU6(a) })},
		{"SiLU", []*tensor.Tensor{x()}, un(func(tp *Tape, a *Var) *Var { return tp.SiLU(a) })},
		{"Tanh", []*tensor.Tensor{x()}, un(func(tp *Tape, a *Var) *Var { return tp.Tanh(a) })},
		{"Sigmoid", []*tensor.Tensor{x()}, un(func(tp *Tape, a *Var) *Var { return tp.Sigmoid(a) })},
		{"GELU", []*tensor.Tensor{x()}, un(func(tp *Tape, a *Var) *Var { return tp.GELU(a) })},
		{"ELU", []*tensor.Tensor{x()}, un(func(tp *Tape, a *Var) *Var { return tp.ELU(a, 0.7) })},
		{"GELU strided", []*tensor.Tensor{x()}, un(func(tp *Tape, a *Var) *Var { return tp.GELU(tp.Transpose(a, 0, 1)) })},
	}
	runGradCases(t, cases)
}

func TestGradReductions(t *testing.T) {
	r := tensor.NewRNG(3)
	u := func(shape ...int) *tensor.Tensor { return tensor.RandU(r, -1, 1, shape...) }
	// Distinct values (gaps of 0.1 >> eps) so Max is differentiable.
	distinct := func(shape ...int) *tensor.Tensor {
		t := tensor.Zeros(shape...)
		d := t.Data()
		for i, p := range r.Perm(len(d)) {
			d[i] = 0.1 * float32(p)
		}
		return t
	}
	cases := []gradCase{
		{"Sum axis0", []*tensor.Tensor{u(3, 4)}, func(tp *Tape, in []*Var) *Var { return wsum(tp, tp.Sum(in[0], 0, false)) }},
		{"Sum axis1 keep", []*tensor.Tensor{u(2, 3, 4)}, func(tp *Tape, in []*Var) *Var { return wsum(tp, tp.Sum(in[0], 1, true)) }},
		{"Sum axis-1 strided", []*tensor.Tensor{u(3, 4)}, func(tp *Tape, in []*Var) *Var {
			return wsum(tp, tp.Sum(tp.Transpose(in[0], 0, 1), -1, false))
		}},
		{"Mean axis1", []*tensor.Tensor{u(3, 4)}, func(tp *Tape, in []*Var) *Var { return wsum(tp, tp.Mean(in[0], 1, false)) }},
		{"Mean axis0 keep", []*tensor.Tensor{u(2, 3, 4)}, func(tp *Tape, in []*Var) *Var { return wsum(tp, tp.Mean(in[0], 0, true)) }},
		{"Max axis1", []*tensor.Tensor{distinct(3, 4)}, func(tp *Tape, in []*Var) *Var { return wsum(tp, tp.Max(in[0], 1, false)) }},
		{"Max axis1 keep 3d", []*tensor.Tensor{distinct(2, 3, 4)}, func(tp *Tape, in []*Var) *Var { return wsum(tp, tp.Max(in[0], 1, true)) }},
		{"SumAll", []*tensor.Tensor{u(3, 4)}, func(tp *Tape, in []*Var) *Var { return tp.Scale(tp.SumAll(tp.Square(in[0])), 0.5) }},
		{"MeanAll", []*tensor.Tensor{u(3, 4)}, func(tp *Tape, in []*Var) *Var { return tp.MeanAll(tp.Exp(in[0])) }},
	}
	runGradCases(t, cases)
}

func TestGradProducts(t *testing.T) {
	r := tensor.NewRNG(4)
	u := func(shape ...int) *tensor.Tensor { return tensor.RandU(r, -1, 1, shape...) }
	mm := func(ta, tb bool) func(tp *Tape, in []*Var) *Var {
		return func(tp *Tape, in []*Var) *Var { return wsum(tp, tp.MatMulT(in[0], in[1], ta, tb)) }
	}
	cases := []gradCase{
		{"MatMul 2d", []*tensor.Tensor{u(3, 4), u(4, 2)}, mm(false, false)},
		{"MatMul batched", []*tensor.Tensor{u(2, 3, 4), u(2, 4, 2)}, mm(false, false)},
		{"MatMul shared b (folded)", []*tensor.Tensor{u(2, 3, 4), u(4, 2)}, mm(false, false)},
		{"MatMul shared a", []*tensor.Tensor{u(3, 4), u(2, 4, 2)}, mm(false, false)},
		{"MatMul broadcast batch", []*tensor.Tensor{u(2, 1, 3, 4), u(3, 4, 2)}, mm(false, false)},
		{"MatMulT transA", []*tensor.Tensor{u(4, 3), u(4, 2)}, mm(true, false)},
		{"MatMulT transB", []*tensor.Tensor{u(3, 4), u(2, 4)}, mm(false, true)},
		{"MatMulT both", []*tensor.Tensor{u(2, 4, 3), u(2, 2, 4)}, mm(true, true)},
		{"MatMulT transB shared b", []*tensor.Tensor{u(2, 3, 4), u(5, 4)}, mm(false, true)},
		{"MatMulT transA shared b", []*tensor.Tensor{u(2, 4, 3), u(4, 5)}, mm(true, false)},
		{"MatMul of transposed views", []*tensor.Tensor{u(4, 3), u(2, 4)}, func(tp *Tape, in []*Var) *Var {
			return wsum(tp, tp.MatMul(tp.Transpose(in[0], 0, 1), tp.Transpose(in[1], 0, 1)))
		}},
		{"Linear", []*tensor.Tensor{u(5, 3), u(4, 3), u(4)}, func(tp *Tape, in []*Var) *Var {
			return wsum(tp, tp.Linear(in[0], in[1], in[2]))
		}},
		{"Linear no bias 3d", []*tensor.Tensor{u(2, 5, 3), u(4, 3)}, func(tp *Tape, in []*Var) *Var {
			return wsum(tp, tp.Linear(in[0], in[1], nil))
		}},
		{"Linear strided x", []*tensor.Tensor{u(3, 5), u(4, 3), u(4)}, func(tp *Tape, in []*Var) *Var {
			return wsum(tp, tp.Linear(tp.Transpose(in[0], 0, 1), in[1], in[2]))
		}},
	}
	runGradCases(t, cases)
}

func TestGradSoftmaxAndShape(t *testing.T) {
	r := tensor.NewRNG(5)
	u := func(shape ...int) *tensor.Tensor { return tensor.RandU(r, -2, 2, shape...) }
	mask := tensor.FromSlice([]float32{0, 1, 0, 0, 0, 1}, 2, 3)
	cases := []gradCase{
		{"Softmax last", []*tensor.Tensor{u(3, 4)}, func(tp *Tape, in []*Var) *Var { return wsum(tp, tp.Softmax(in[0], -1)) }},
		{"Softmax axis0 3d", []*tensor.Tensor{u(3, 2, 2)}, func(tp *Tape, in []*Var) *Var { return wsum(tp, tp.Softmax(in[0], 0)) }},
		{"LogSoftmax", []*tensor.Tensor{u(3, 4)}, func(tp *Tape, in []*Var) *Var { return wsum(tp, tp.LogSoftmax(in[0], 1)) }},
		{"LogSoftmax middle", []*tensor.Tensor{u(2, 3, 2)}, func(tp *Tape, in []*Var) *Var { return wsum(tp, tp.LogSoftmax(in[0], 1)) }},
		{"Reshape", []*tensor.Tensor{u(2, 6)}, func(tp *Tape, in []*Var) *Var { return wsum(tp, tp.Square(tp.Reshape(in[0], 3, -1))) }},
		{"Permute", []*tensor.Tensor{u(2, 3, 4)}, func(tp *Tape, in []*Var) *Var { return wsum(tp, tp.Square(tp.Permute(in[0], 1, 2, 0))) }},
		{"Transpose", []*tensor.Tensor{u(2, 3, 4)}, func(tp *Tape, in []*Var) *Var { return wsum(tp, tp.Exp(tp.Transpose(in[0], 0, 2))) }},
		{"Slice", []*tensor.Tensor{u(3, 5)}, func(tp *Tape, in []*Var) *Var { return wsum(tp, tp.Square(tp.Slice(in[0], 1, 1, 4))) }},
		{"Reshape of permuted", []*tensor.Tensor{u(2, 3)}, func(tp *Tape, in []*Var) *Var {
			return wsum(tp, tp.Reshape(tp.Permute(in[0], 1, 0), 6))
		}},
		{"Concat", []*tensor.Tensor{u(2, 3), u(2, 1), u(2, 2)}, func(tp *Tape, in []*Var) *Var {
			return wsum(tp, tp.Square(tp.Concat(1, in[0], in[1], in[2])))
		}},
		{"Concat axis0 with view", []*tensor.Tensor{u(3, 2), u(1, 3)}, func(tp *Tape, in []*Var) *Var {
			return wsum(tp, tp.Square(tp.Concat(0, tp.Transpose(in[0], 0, 1), in[1])))
		}},
		{"Stack", []*tensor.Tensor{u(2, 3), u(2, 3)}, func(tp *Tape, in []*Var) *Var {
			return wsum(tp, tp.Square(tp.Stack(1, in[0], in[1])))
		}},
		{"Gather repeats", []*tensor.Tensor{u(3, 4)}, func(tp *Tape, in []*Var) *Var {
			return wsum(tp, tp.Square(tp.Gather(in[0], 1, []int{3, 0, 3})))
		}},
		{"Embedding", []*tensor.Tensor{u(5, 3)}, func(tp *Tape, in []*Var) *Var {
			return wsum(tp, tp.Square(tp.Embedding(in[0], []int{4, 1, 4, 0})))
		}},
		{"MaskedFill", []*tensor.Tensor{u(2, 3)}, func(tp *Tape, in []*Var) *Var {
			return wsum(tp, tp.Softmax(tp.MaskedFill(in[0], mask, -1e9), 1))
		}},
		{"MaskedFill broadcast", []*tensor.Tensor{u(2, 3)}, func(tp *Tape, in []*Var) *Var {
			return wsum(tp, tp.Square(tp.MaskedFill(in[0], tensor.FromSlice([]float32{1, 0, 0}, 3), 2)))
		}},
		{"Dropout train", []*tensor.Tensor{u(4, 5)}, func(tp *Tape, in []*Var) *Var {
			return wsum(tp, tp.Square(tp.Dropout(in[0], 0.3, tensor.NewRNG(9), true)))
		}},
		{"WeightedSum broadcast", []*tensor.Tensor{u(3, 4)}, func(tp *Tape, in []*Var) *Var {
			return tp.WeightedSum(tp.Square(in[0]), tensor.FromSlice([]float32{1, -2, 0.5, 3}, 4))
		}},
	}
	runGradCases(t, cases)
}

func TestGradWithRespectToInput(t *testing.T) {
	// y = x·Wᵀ + b, loss = Σ y²; d loss / d x = 2·y·W, and parameter Grad
	// fields stay untouched.
	x := NewVar(tensor.FromSlice([]float32{1, 2, -1, 0.5}, 2, 2), true)
	w := Param("w", tensor.FromSlice([]float32{1, -1, 2, 0.5}, 2, 2))
	b := Param("b", tensor.FromSlice([]float32{0.5, -1}, 2))
	tp := NewTape()
	y := tp.Linear(x, w, b)
	loss := tp.SumAll(tp.Square(y))
	g, err := tp.Grad(loss, x)
	if err != nil {
		t.Fatal(err)
	}
	// y = [[1-2+0.5, 2+1-1], [-1-0.5+0.5, -2+0.25-1]] = [[-0.5, 2], [-1, -2.75]]
	// dx = 2·y·W: row0 = 2·(-0.5·[1,-1] + 2·[2,0.5]) = [7, 3]
	//             row1 = 2·(-1·[1,-1] - 2.75·[2,0.5]) = [-13, -0.75]
	want := []float32{7, 3, -13, -0.75}
	for i, v := range g[0].Contiguous().Data() {
		if math.Abs(float64(v-want[i])) > 1e-5 {
			t.Fatalf("dx = %v, want %v", g[0].Data(), want)
		}
	}
	if w.Grad != nil || b.Grad != nil || x.Grad != nil {
		t.Fatal("Grad touched the .Grad fields")
	}
}

// TestGradSkipsUnwantedBranches: Grad(out, x) differentiates only the part
// of the tape between x and out. A probe op records which inputs its
// backward was asked for: the weight's gradient is never requested, a
// parameter-only subexpression is never differentiated, and the input
// gradient is still exact. Backward still reaches every parameter.
func TestGradSkipsUnwantedBranches(t *testing.T) {
	type call struct {
		name  string
		needs []bool
	}
	var calls []call
	probe := func(tp *Tape, name string, a, b *Var) *Var {
		// a·b element-wise, with a backward that logs its needs.
		return tp.Record(tensor.Mul(a.Value, b.Value), func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
			calls = append(calls, call{name, append([]bool(nil), needs...)})
			return []*tensor.Tensor{tensor.Mul(g, b.Value), tensor.Mul(g, a.Value)}
		}, a, b)
	}
	x := NewVar(tensor.FromSlice([]float32{1, -2, 3}, 3), true)
	w := Param("w", tensor.FromSlice([]float32{0.5, 2, -1}, 3))
	tp := NewTape()
	ww := probe(tp, "w*w", w, w)             // depends on no input
	y := probe(tp, "x*ww", x, ww)            // d/dx = w²
	out := tp.SumAll(probe(tp, "y*w", y, w)) // d/dx = w³
	g, err := tp.Grad(out, x)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range g[0].Data() {
		wv := w.Value.Data()[i]
		if want := wv * wv * wv; v != want {
			t.Fatalf("dx[%d] = %v, want %v", i, v, want)
		}
	}
	wantCalls := []call{{"y*w", []bool{true, false}}, {"x*ww", []bool{true, false}}}
	if len(calls) != len(wantCalls) {
		t.Fatalf("backward calls %v, want %v", calls, wantCalls)
	}
	for i, c := range calls {
		if c.name != wantCalls[i].name || c.needs[0] != wantCalls[i].needs[0] || c.needs[1] != wantCalls[i].needs[1] {
			t.Fatalf("backward calls %v, want %v", calls, wantCalls)
		}
	}
	calls = nil
	if err := tp.Backward(out); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 3 || w.Grad == nil {
		t.Fatalf("Backward made calls %v and w.Grad %v; want all three ops and a weight gradient", calls, w.Grad)
	}
	// d/dw Σ x·w³ = 3·x·w²
	for i, v := range w.Grad.Data() {
		xv, wv := x.Value.Data()[i], w.Value.Data()[i]
		if want := 3 * xv * wv * wv; math.Abs(float64(v-want)) > 1e-5 {
			t.Fatalf("dw[%d] = %v, want %v", i, v, want)
		}
	}
}

func TestGradientAccumulates(t *testing.T) {
	w := Param("w", tensor.FromSlice([]float32{1, 2, 3}, 3))
	for i := 0; i < 2; i++ {
		tp := NewTape()
		loss := tp.SumAll(tp.Mul(w, w)) // d/dw = 2w
		if err := tp.Backward(loss); err != nil {
			t.Fatal(err)
		}
	}
	want := []float32{4, 8, 12} // two passes of 2w
	for i, v := range w.Grad.Data() {
		if v != want[i] {
			t.Fatalf("accumulated grad %v, want %v", w.Grad.Data(), want)
		}
	}
	w.ZeroGrad()
	if w.Grad != nil {
		t.Fatal("ZeroGrad left a gradient")
	}
}

func TestNilTapeRecordsNothing(t *testing.T) {
	var tp *Tape
	a := Param("a", tensor.FromSlice([]float32{1, -2, 3, -4}, 2, 2))
	b := Param("b", tensor.FromSlice([]float32{0.5, 1}, 2))
	out := tp.SumAll(tp.ReLU(tp.Sub(tp.Linear(a, a, b), Const(tensor.Scalar(6)))))
	// a·aᵀ + b - 6 = [[-0.5, 6], [5.5, 20]]; ReLU sum 31.5.
	if got := out.Value.Item(); got != 31.5 {
		t.Fatalf("nil-tape value %v, want 31.5", got)
	}
	if out.RequiresGrad() || tp.Len() != 0 {
		t.Fatal("nil tape recorded an op")
	}
	if err := tp.Backward(out); err == nil {
		t.Fatal("Backward on a nil tape did not fail")
	}
	// A live tape records nothing when no input needs a gradient.
	live := NewTape()
	c := live.Exp(Const(tensor.Zeros(2)))
	if c.RequiresGrad() || live.Len() != 0 {
		t.Fatal("op on constants was recorded")
	}
}

func TestDropoutModes(t *testing.T) {
	a := Param("a", tensor.Full(1, 50, 40))
	tp := NewTape()
	if got := tp.Dropout(a, 0.5, tensor.NewRNG(1), false); got != a {
		t.Fatal("eval-mode dropout is not the identity")
	}
	d := tp.Dropout(a, 0.5, tensor.NewRNG(1), true)
	zeros := 0
	for _, v := range d.Value.Data() {
		switch v {
		case 0:
			zeros++
		case 2:
		default:
			t.Fatalf("dropout value %v, want 0 or 2", v)
		}
	}
	if zeros < 850 || zeros > 1150 { // 2000 draws at p=0.5: sd ~22
		t.Fatalf("%d of 2000 dropped at p=0.5", zeros)
	}
}

func TestCheckGradCatchesWrongBackward(t *testing.T) {
	// y = 2x with a backward that forgets the factor 2 must be rejected.
	bad := func(tp *Tape, in []*Var) *Var {
		y := tp.Record(tensor.Scale(in[0].Value, 2), func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
			return []*tensor.Tensor{g}
		}, in[0])
		return wsum(tp, y)
	}
	if err := CheckGrad(bad, []*tensor.Tensor{tensor.RandU(tensor.NewRNG(1), -1, 1, 3)}, GradCheckOptions{}); err == nil {
		t.Fatal("CheckGrad accepted a wrong gradient")
	}
}

// TestGradOfIntermediate: Grad with respect to a computed Var stops there:
// the ops that produced it are not differentiated.
func TestGradOfIntermediate(t *testing.T) {
	x := NewVar(tensor.FromSlice([]float32{1, 2}, 2), true)
	tp := NewTape()
	var called bool
	h := tp.Record(tensor.Scale(x.Value, 3), func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		called = true
		return []*tensor.Tensor{tensor.Scale(g, 3)}
	}, x)
	out := tp.SumAll(tp.Square(h)) // d/dh = 2h = [6, 12]
	g, err := tp.Grad(out, h)
	if err != nil {
		t.Fatal(err)
	}
	if d := g[0].Data(); d[0] != 6 || d[1] != 12 {
		t.Fatalf("d out/d h = %v, want [6 12]", d)
	}
	if called {
		t.Fatal("Grad(out, h) ran the backward of the op that computed h")
	}
}
