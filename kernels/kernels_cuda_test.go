//go:build cuda

package kernels

// Correctness tests of every kernel against the CPU reference (package tensor,
// autograd/optim, the Go Philox reference), on random data and edge-case
// shapes (1x1, odd sizes, sizes that are not multiples of the tiles), in the
// style of llm.c's dev/cuda: compute on both, compare element-wise with a
// stated tolerance |got - want| <= atol + rtol·|want| (GEMM: relative to
// Σ|a·b|), and report the worst element. These run only on a machine with an
// NVIDIA GPU and driver (scripts/gpu-check.sh).

import (
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/autograd/optim"
	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/tensor"
	"gonum.org/v1/gonum/blas"
)

var dev *Device

func TestMain(m *testing.M) {
	d, err := Open(0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kernels tests need a CUDA device:", err)
		os.Exit(1)
	}
	dev = d
	fmt.Printf("device: %s (sm_%d%d, %d SMs, %.1f GiB, driver %d)\n", d.Info.Name, d.Info.Major, d.Info.Minor,
		d.Info.SMs, float64(d.Info.TotalMem)/(1<<30), d.Info.DriverVersion)
	code := m.Run()
	if err := d.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

func up(t testing.TB, x *tensor.Tensor) *DeviceTensor {
	t.Helper()
	d, err := dev.Upload(x)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Free)
	return d
}

func empty(t testing.TB, shape ...int) *DeviceTensor {
	t.Helper()
	d, err := dev.Empty(shape...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Free)
	return d
}

func down(t testing.TB, x *DeviceTensor) []float32 {
	t.Helper()
	h, err := x.Download()
	if err != nil {
		t.Fatal(err)
	}
	return h.Data()
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// near reports the worst element of got vs want under atol + rtol·|want|.
func near(t testing.TB, what string, got, want []float32, atol, rtol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	worst, wi := 0.0, -1
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(g) != math.IsNaN(w) {
			t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
		if math.IsNaN(w) || g == w {
			continue
		}
		r := math.Abs(g-w) / (atol + rtol*math.Abs(w))
		if r > worst || math.IsNaN(r) {
			worst, wi = r, i
		}
	}
	if worst > 1 {
		t.Errorf("%s: element %d = %v, want %v (error %.3g x tolerance atol %g rtol %g)", what, wi, got[wi], want[wi], worst, atol, rtol)
	}
}

func randn(rng *tensor.RNG, shape ...int) *tensor.Tensor { return tensor.RandN(rng, shape...) }

var edgeShapes = [][]int{{1}, {1, 1}, {7}, {3, 5}, {33, 65}, {1000}, {257, 129}}

func TestBinaryOps(t *testing.T) {
	rng := tensor.NewRNG(1)
	ops := []struct {
		op  BinOp
		ref func(a, b *tensor.Tensor) *tensor.Tensor
	}{{Add, tensor.Add}, {Sub, tensor.Sub}, {Mul, tensor.Mul}, {Div, tensor.Div}}
	for _, sh := range edgeShapes {
		a := randn(rng, sh...)
		b := tensor.AddScalar(tensor.Abs(randn(rng, sh...)), 0.5) // away from 0 for Div
		da, db := up(t, a), up(t, b)
		out := empty(t, sh...)
		for _, o := range ops {
			must(t, dev.Binary(o.op, da, db, out))
			near(t, fmt.Sprintf("binary %d %v", o.op, sh), down(t, out), o.ref(a, b).Data(), 1e-7, 1e-6)
		}
		must(t, dev.BinaryScalar(Mul, da, 0.37, out))
		near(t, fmt.Sprintf("scalar mul %v", sh), down(t, out), tensor.Scale(a, 0.37).Data(), 1e-7, 1e-6)
	}
}

func TestBroadcastRowCol(t *testing.T) {
	rng := tensor.NewRNG(2)
	for _, rc := range [][2]int{{1, 1}, {5, 3}, {64, 144}, {129, 7}} {
		r, c := rc[0], rc[1]
		a := randn(rng, r, c)
		row := randn(rng, c)
		col := randn(rng, r, 1)
		da, drow, dcol := up(t, a), up(t, row), up(t, col)
		out := empty(t, r, c)
		must(t, dev.BinaryRow(Add, da, drow, out))
		near(t, fmt.Sprintf("row add %v", rc), down(t, out), tensor.Add(a, row).Data(), 1e-7, 1e-6)
		must(t, dev.BinaryCol(Mul, da, dcol, out))
		near(t, fmt.Sprintf("col mul %v", rc), down(t, out), tensor.Mul(a, col).Data(), 1e-7, 1e-6)
		must(t, dev.BiasAct(da, drow, GELU, 0, out))
		near(t, fmt.Sprintf("bias+gelu %v", rc), down(t, out), tensor.GELU(tensor.Add(a, row)).Data(), 2e-6, 2e-5)
	}
}

func TestUnaryAndGrad(t *testing.T) {
	rng := tensor.NewRNG(3)
	type un struct {
		name string
		op   UnOp
		p    float32
		pos  bool // needs positive input
		f    func(*tensor.Tensor) *tensor.Tensor
		g    func(v, g *tensor.Tensor) *tensor.Tensor // v = input (output for tanh/sigmoid)
		outV bool
	}
	ops := []un{
		{"neg", Neg, 0, false, tensor.Neg, nil, false},
		{"exp", Exp, 0, false, tensor.Exp, nil, false},
		{"log", Log, 0, true, tensor.Log, nil, false},
		{"sqrt", Sqrt, 0, true, tensor.Sqrt, nil, false},
		{"square", Square, 0, false, tensor.Square, nil, false},
		{"abs", Abs, 0, false, tensor.Abs, nil, false},
		{"relu", ReLU, 0, false, tensor.ReLU, tensor.ReLUGrad, false},
		{"relu6", ReLU6, 0, false, func(x *tensor.Tensor) *tensor.Tensor { return tensor.ReLU6(tensor.Scale(x, 1)) }, tensor.ReLU6Grad, false},
		{"silu", SiLU, 0, false, tensor.SiLU, tensor.SiLUGrad, false},
		{"tanh", Tanh, 0, false, tensor.Tanh, tensor.TanhGrad, true},
		{"sigmoid", Sigmoid, 0, false, tensor.Sigmoid, tensor.SigmoidGrad, true},
		{"gelu", GELU, 0, false, tensor.GELU, tensor.GELUGrad, false},
		{"elu", ELU, 0.7, false, func(x *tensor.Tensor) *tensor.Tensor { return tensor.ELU(x, 0.7) },
			func(v, g *tensor.Tensor) *tensor.Tensor { return tensor.ELUGrad(v, g, 0.7) }, false},
		{"addscalar", AddScalar, 1.5, false, func(x *tensor.Tensor) *tensor.Tensor { return tensor.AddScalar(x, 1.5) }, nil, false},
	}
	for _, sh := range [][]int{{1}, {7, 3}, {4097}} {
		x := tensor.Scale(randn(rng, sh...), 3) // covers ReLU6's upper kink and saturation
		xp := tensor.AddScalar(tensor.Abs(x), 1e-3)
		g := randn(rng, sh...)
		dg := up(t, g)
		out := empty(t, sh...)
		for _, o := range ops {
			in := x
			if o.pos {
				in = xp
			}
			din := up(t, in)
			must(t, dev.Unary(o.op, din, o.p, out))
			want := o.f(in)
			near(t, fmt.Sprintf("%s %v", o.name, sh), down(t, out), want.Data(), 2e-6, 2e-5)
			if o.g == nil {
				continue
			}
			v := in
			if o.outV {
				v = want
			}
			dv := up(t, v)
			must(t, dev.UnaryGrad(o.op, dv, dg, o.p, out))
			near(t, fmt.Sprintf("%s grad %v", o.name, sh), down(t, out), o.g(v, g).Data(), 2e-6, 2e-5)
		}
	}
}

func TestReductions(t *testing.T) {
	rng := tensor.NewRNG(4)
	for _, sh := range [][]int{{1, 1}, {3, 1}, {5, 33}, {100, 144}, {7, 1025}} {
		x := randn(rng, sh...)
		dx := up(t, x)
		out := empty(t, sh[0])
		tol := 1e-6 * float64(sh[1])
		must(t, dev.ReduceLast(ReduceSum, dx, out))
		near(t, fmt.Sprintf("sum last %v", sh), down(t, out), tensor.Sum(x, 1, false).Data(), tol, 1e-5)
		must(t, dev.ReduceLast(ReduceMean, dx, out))
		near(t, fmt.Sprintf("mean last %v", sh), down(t, out), tensor.Mean(x, 1, false).Data(), 1e-6, 1e-5)
		must(t, dev.ReduceLast(ReduceMax, dx, out))
		near(t, fmt.Sprintf("max last %v", sh), down(t, out), tensor.Max(x, 1, false).Data(), 0, 0)
		cols := empty(t, sh[1])
		must(t, dev.ReduceMid(ReduceSum, dx, 1, sh[0], sh[1], cols))
		near(t, fmt.Sprintf("sum rows %v", sh), down(t, cols), tensor.Sum(x, 0, false).Data(), 1e-6*float64(sh[0]), 1e-5)
	}
	for _, sh := range [][]int{{1, 1, 1}, {256, 20, 144}, {3, 8, 7}, {1, 2048, 64}, {2, 700, 33}, {1, 5000, 7}} {
		x := randn(rng, sh...)
		out := empty(t, sh[0], sh[2])
		must(t, dev.ReduceMid(ReduceMean, up(t, x), sh[0], sh[1], sh[2], out))
		near(t, fmt.Sprintf("mean nodes %v", sh), down(t, out), tensor.Mean(x, 1, false).Data(), 1e-6, 1e-5)
		must(t, dev.ReduceMid(ReduceSum, up(t, x), sh[0], sh[1], sh[2], out))
		near(t, fmt.Sprintf("sum mid %v", sh), down(t, out), tensor.Sum(x, 1, false).Data(), 1e-6*float64(sh[1]), 1e-5)
		must(t, dev.ReduceMid(ReduceMax, up(t, x), sh[0], sh[1], sh[2], out))
		near(t, fmt.Sprintf("max mid %v", sh), down(t, out), tensor.Max(x, 1, false).Data(), 0, 0)
	}
}

// TestSplitReductions: the row-split column reductions (ReduceMid, the
// LayerNorm affine gradients) and split-K GEMMs run in two passes with the
// partial results in the device's scratch buffer (profiled: reduce_parts
// runs) and agree with the CPU; inside a Capture they take the one-pass
// path (no reduce_parts node) and give the same values.
func TestSplitReductions(t *testing.T) {
	rng := tensor.NewRNG(41)
	profiled := func(f func()) map[string]int {
		must(t, dev.StartProfile())
		f()
		ks, err := dev.StopProfile()
		must(t, err)
		calls := map[string]int{}
		for _, k := range ks {
			calls[strings.Fields(k.Name)[0]] += k.Calls
		}
		return calls
	}
	x := randn(rng, 2048, 64)
	dx, out := up(t, x), empty(t, 64)
	calls := profiled(func() { must(t, dev.ReduceMid(ReduceSum, dx, 1, 2048, 64, out)) })
	if calls["reduce_parts"] != 1 || calls["reduce_mid"] != 1 {
		t.Errorf("ReduceMid over 2048 rows of 64 launched %v, want reduce_mid + reduce_parts", calls)
	}
	near(t, "split column sum", down(t, out), tensor.Sum(x, 0, false).Data(), 1e-6*2048, 1e-5)

	// Split-K: all transposes, alpha/beta, padded leading dimensions, a K
	// that leaves a remainder slice, and the float4 kernels.
	for _, s := range [][3]int{{64, 64, 2048}, {192, 64, 2048}, {7, 1536, 2048}, {64, 7, 2048}, {3, 5, 4099}, {128, 64, 1000}} {
		m, n, k := s[0], s[1], s[2]
		if sl, _ := splitKPlan(m, n, k, dev.Info.SMs); sl < 2 {
			t.Fatalf("%v: splitKPlan does not split; the test needs shapes that do", s)
		}
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			for _, vec := range []bool{false, true} {
				g := GemmArgs{TransA: tr[0], TransB: tr[1], M: m, N: n, K: k, Alpha: 1.25, Beta: -0.5}
				ar, ac, br, bc := g.operandShapes()
				g.Lda, g.Ldb, g.Ldc = (ac+3)/4*4+4, (bc+3)/4*4+4, n+3
				a := randn(rng, ar*g.Lda).Data()
				b := randn(rng, br*g.Ldb).Data()
				c := randn(rng, m*g.Ldc).Data()
				want, scale := gemmRef(g, a, b, c)
				dc := up(t, tensor.FromSlice(append([]float32(nil), c...), len(c)))
				da, db := up(t, tensor.FromSlice(a, len(a))), up(t, tensor.FromSlice(b, len(b)))
				must(t, dev.UseVecGemm(vec))
				calls := profiled(func() { must(t, dev.Gemm(g, da, db, dc)) })
				must(t, dev.UseVecGemm(true))
				if calls["reduce_parts"] != 1 {
					t.Errorf("%v trans %v: launched %v, want a split-K product", s, tr, calls)
				}
				gemmNear(t, fmt.Sprintf("split-K %dx%dx%d trans %v vec %v", m, n, k, tr, vec), down(t, dc), want, scale, 2e-6*math.Sqrt(float64(k))+2e-6)
			}
		}
	}
	// A split product checks its operands like an unsplit one: a C too small
	// for M x N is refused before anything is queued.
	func() {
		defer func() {
			if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "C [100] holds 100 values") {
				t.Errorf("split product into a 100-element C: recovered %v, want a panic naming C", r)
			}
		}()
		g := GemmArgs{TransA: true, M: 64, N: 64, K: 2048, Alpha: 1, Lda: 64, Ldb: 64, Ldc: 64}
		_ = dev.Gemm(g, up(t, randn(rng, 2048, 64)), up(t, randn(rng, 2048, 64)), empty(t, 100))
	}()
	// Inside a capture the preallocated scratch serves the split (graph replay
	// bit-identical to the direct launches); a product whose slices do not
	// fit it runs in one pass there, and grows the scratch outside.
	for _, c := range []struct {
		m, n, k, nodes int
	}{{64, 64, 2048, 2}, {640, 640, 8192, 1}} {
		g := GemmArgs{TransA: true, M: c.m, N: c.n, K: c.k, Alpha: 1, Lda: c.m, Ldb: c.n, Ldc: c.n}
		if slices, _ := splitKPlan(c.m, c.n, c.k, dev.Info.SMs); c.nodes == 1 && dev.scratch.n >= (slices+1)*c.m*c.n {
			// A repeated run (-count) finds the scratch grown: then it splits
			// (batched slices, remainder slice, reduce_parts).
			c.nodes = 3
		}
		a, b := randn(rng, c.k, c.m), randn(rng, c.k, c.n)
		da, db, dc, direct := up(t, a), up(t, b), empty(t, c.m, c.n), empty(t, c.m, c.n)
		graph, err := dev.Capture(func() error { return dev.Gemm(g, da, db, dc) })
		must(t, err)
		if graph.Nodes() != c.nodes {
			t.Errorf("captured %dx%dx%d product has %d nodes, want %d", c.m, c.n, c.k, graph.Nodes(), c.nodes)
		}
		must(t, graph.Launch())
		got := down(t, dc)
		graph.Destroy()
		near(t, fmt.Sprintf("captured %dx%dx%d product", c.m, c.n, c.k), got, tensor.MatMulT(a, b, true, false).Data(), 1e-5*math.Sqrt(float64(c.k)), 1e-4)
		calls := profiled(func() { must(t, dev.Gemm(g, da, db, direct)) })
		if calls["reduce_parts"] != 1 {
			t.Errorf("direct %dx%dx%d product launched %v, want a split", c.m, c.n, c.k, calls)
		}
		if c.nodes > 1 {
			near(t, "graph replay of a split product vs direct", got, down(t, direct), 0, 0)
		}
	}
}

func TestSoftmax(t *testing.T) {
	rng := tensor.NewRNG(5)
	for _, sh := range [][]int{{1, 1}, {4, 7}, {33, 100}, {2, 1000}} {
		x := tensor.Scale(randn(rng, sh...), 4)
		g := randn(rng, sh...)
		dx, dg := up(t, x), up(t, g)
		out, grad := empty(t, sh...), empty(t, sh...)
		for _, log := range []bool{false, true} {
			must(t, dev.Softmax(dx, out, log))
			var y, gw *tensor.Tensor
			if log {
				y = tensor.LogSoftmax(x, 1)
				gw = tensor.LogSoftmaxGrad(y, g, 1)
			} else {
				y = tensor.Softmax(x, 1)
				gw = tensor.SoftmaxGrad(y, g, 1)
			}
			near(t, fmt.Sprintf("softmax log=%v %v", log, sh), down(t, out), y.Data(), 1e-6, 1e-5)
			must(t, dev.SoftmaxGrad(up(t, y), dg, grad, log))
			near(t, fmt.Sprintf("softmax grad log=%v %v", log, sh), down(t, grad), gw.Data(), 1e-6, 1e-4)
		}
	}
}

func TestLayerNorm(t *testing.T) {
	rng := tensor.NewRNG(6)
	for _, sh := range [][]int{{1, 1}, {3, 5}, {5120, 144}, {17, 33}} {
		for _, affine := range []bool{true, false} {
			x := tensor.AddScalar(tensor.Scale(randn(rng, sh...), 2), 0.5)
			var gamma, beta *tensor.Tensor
			var dgam, dbet *DeviceTensor
			if affine {
				gamma, beta = randn(rng, sh[1]), randn(rng, sh[1])
				dgam, dbet = up(t, gamma), up(t, beta)
			}
			out, mean, rstd := tensor.LayerNorm(x, gamma, beta, 1e-5)
			dx := up(t, x)
			o, m, r := empty(t, sh...), empty(t, sh[0]), empty(t, sh[0])
			must(t, dev.LayerNorm(dx, dgam, dbet, 1e-5, o, m, r))
			name := fmt.Sprintf("layernorm %v affine=%v", sh, affine)
			near(t, name+" out", down(t, o), out.Data(), 2e-6, 2e-5)
			near(t, name+" mean", down(t, m), mean.Data(), 1e-6, 1e-5)
			near(t, name+" rstd", down(t, r), rstd.Data(), 1e-6, 1e-5)

			g := randn(rng, sh...)
			gx, gg, gb := tensor.LayerNormBackward(g, x, gamma, mean, rstd, true)
			ddx, ddg, ddb := empty(t, sh...), empty(t, sh[1]), empty(t, sh[1])
			must(t, dev.LayerNormBackward(up(t, g), dx, dgam, up(t, mean), up(t, rstd), ddx, ddg, ddb))
			near(t, name+" dx", down(t, ddx), gx.Data(), 1e-5, 1e-4)
			tol := 1e-5 * math.Sqrt(float64(sh[0]))
			near(t, name+" dgamma", down(t, ddg), gg.Data(), tol, 1e-4)
			near(t, name+" dbeta", down(t, ddb), gb.Data(), tol, 1e-4)
		}
	}
}

// gemmRef computes the reference in float64 (so the tolerance covers only the
// device's rounding) and the per-element bound Σ|alpha·a·b| + |beta·c|; C's
// padding between rows keeps its values.
func gemmRef(g GemmArgs, a, b, c []float32) (want, scale []float32) {
	want = append([]float32(nil), c...)
	scale = make([]float32, len(c))
	at := func(x []float32, ld int, tr bool, i, j int) float32 {
		if tr {
			return x[j*ld+i]
		}
		return x[i*ld+j]
	}
	for i := 0; i < g.M; i++ {
		for j := 0; j < g.N; j++ {
			var s, acc float64
			for k := 0; k < g.K; k++ {
				p := float64(at(a, g.Lda, g.TransA, i, k)) * float64(at(b, g.Ldb, g.TransB, k, j))
				acc += p
				s += math.Abs(p)
			}
			cij := float64(c[i*g.Ldc+j])
			want[i*g.Ldc+j] = float32(float64(g.Alpha)*acc + float64(g.Beta)*cij)
			scale[i*g.Ldc+j] = float32(math.Abs(float64(g.Alpha))*s + math.Abs(float64(g.Beta)*cij))
		}
	}
	return want, scale
}

// TestGemmEpilogue checks the fused bias + activation epilogue of every GEMM
// kernel (ReLU: a ±tolerance change cannot flip a sign far from zero, so
// the reference applies ReLU to the exact result; |Δ| <= |Δ before|).
func TestGemmEpilogue(t *testing.T) {
	rng := tensor.NewRNG(8)
	m, n, k := 300, 260, 77
	g := GemmArgs{TransB: true, M: m, N: n, K: k, Alpha: 0.75, Beta: 0.5, Lda: k, Ldb: k, Ldc: n}
	a, b, c, bias := randn(rng, m*k).Data(), randn(rng, n*k).Data(), randn(rng, m*n).Data(), randn(rng, n)
	want, scale := gemmRef(g, a, b, c)
	for i := range want {
		v := want[i] + bias.Data()[i%n]
		want[i] = max(v, 0)
	}
	for _, kern := range []struct {
		name string
		tol  float64
	}{{"sgemm_small", 2e-5}, {"sgemm_tiled", 2e-5}, {"sgemm_128", 2e-5}, {"sgemm_128x64", 2e-5}, {"sgemm_tf32", 4e-3}} {
		dc := up(t, tensor.FromSlice(append([]float32(nil), c...), len(c)))
		ge := g
		ge.Epilogue = &Epilogue{Bias: up(t, bias), Act: ReLU}
		must(t, dev.GemmWith(kern.name, ge, up(t, tensor.FromSlice(a, len(a))), up(t, tensor.FromSlice(b, len(b))), dc))
		gemmNear(t, kern.name+" bias+ReLU epilogue", down(t, dc), want, scale, kern.tol)
	}
}

// gemmNear checks |got - want| <= tol·scale + 1e-6 element-wise.
func gemmNear(t *testing.T, what string, got, want, scale []float32, tol float64) {
	t.Helper()
	worst, wi := 0.0, 0
	for i := range got {
		r := math.Abs(float64(got[i])-float64(want[i])) / (tol*float64(scale[i]) + 1e-6)
		if r > worst || math.IsNaN(r) {
			worst, wi = r, i
		}
	}
	if worst > 1 {
		t.Errorf("%s: element %d = %v, want %v (error %.3g x tolerance %g·Σ|ab|)", what, wi, got[wi], want[wi], worst, tol)
	}
}

// TestGemm checks both GEMM kernels on edge-case shapes, all transpose
// combinations, alpha/beta, padded leading dimensions, against a float64
// reference. Tolerances relative to Σ|a·b|: FP32 2e-6·√K + 2e-6 (float32
// accumulation: typical error ~√K·2^-24, the bound leaves a margin of ~30);
// TF32 4e-3 (inputs rounded to a 10-bit mantissa, relative error <= 2^-11 each).
func TestGemm(t *testing.T) {
	rng := tensor.NewRNG(7)
	shapes := [][3]int{{1, 1, 1}, {7, 5, 3}, {64, 64, 64}, {65, 63, 17}, {33, 1, 70}, {1, 129, 257}, {5120, 144, 144}, {200, 100, 1000}, {300, 260, 77}}
	for _, s := range shapes {
		m, n, k := s[0], s[1], s[2]
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			for _, kern := range []struct {
				name string
				tol  float64
			}{{"sgemm_small", 2e-6*math.Sqrt(float64(k)) + 2e-6}, {"sgemm_tiled", 2e-6*math.Sqrt(float64(k)) + 2e-6}, {"sgemm_128", 2e-6*math.Sqrt(float64(k)) + 2e-6}, {"sgemm_128x64", 2e-6*math.Sqrt(float64(k)) + 2e-6}, {"sgemm_tf32", 4e-3}} {
				pad := 3
				g := GemmArgs{TransA: tr[0], TransB: tr[1], M: m, N: n, K: k, Alpha: 1.25, Beta: -0.5}
				ar, ac, br, bc := g.operandShapes()
				g.Lda, g.Ldb, g.Ldc = ac+pad, bc+pad, n+pad
				a := randn(rng, ar*g.Lda).Data()
				b := randn(rng, br*g.Ldb).Data()
				c := randn(rng, m*g.Ldc).Data()
				want, scale := gemmRef(g, a, b, c)
				dc := up(t, tensor.FromSlice(append([]float32(nil), c...), len(c)))
				must(t, dev.GemmWith(kern.name, g, up(t, tensor.FromSlice(a, len(a))), up(t, tensor.FromSlice(b, len(b))), dc))
				gemmNear(t, fmt.Sprintf("%s %dx%dx%d trans %v", kern.name, m, n, k, tr), down(t, dc), want, scale, kern.tol)
			}
		}
	}
	// beta = 0 must not read C (NaN there must not leak).
	g := GemmArgs{M: 5, N: 6, K: 7, Alpha: 1, Lda: 7, Ldb: 6, Ldc: 6}
	a, b := randn(rng, 5, 7), randn(rng, 7, 6)
	nan := tensor.Full(float32(math.NaN()), 30)
	dc := up(t, nan)
	must(t, dev.GemmWith("sgemm_tiled", g, up(t, a), up(t, b), dc))
	near(t, "beta=0 with NaN C", down(t, dc), tensor.MatMul(a, b).Data(), 1e-5, 1e-5)
}

// TestGemmVec checks the float4-load kernels against the float64 reference
// and bit for bit against their scalar-load twins (same tiles, same
// arithmetic) on edge shapes, all transposes, batched operands and the fused
// epilogue, with leading dimensions padded to multiples of 4; and that an
// unaligned leading dimension is refused with an error.
func TestGemmVec(t *testing.T) {
	rng := tensor.NewRNG(9)
	up4 := func(v int) int { return (v+3)/4*4 + 4 }
	for _, s := range [][3]int{{1, 1, 1}, {7, 5, 3}, {65, 63, 17}, {33, 1, 70}, {1, 129, 257}, {300, 260, 77}, {2048, 1536, 768}} {
		m, n, k := s[0], s[1], s[2]
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			g := GemmArgs{TransA: tr[0], TransB: tr[1], M: m, N: n, K: k, Alpha: 1.25, Beta: -0.5, Batch: 2}
			ar, ac, br, bc := g.operandShapes()
			g.Lda, g.Ldb, g.Ldc = up4(ac), up4(bc), n+1
			g.StrideA, g.StrideB, g.StrideC = int64(ar*g.Lda), int64(br*g.Ldb), int64(m*g.Ldc)
			a := randn(rng, 2*ar*g.Lda).Data()
			b := randn(rng, 2*br*g.Ldb).Data()
			c := randn(rng, 2*m*g.Ldc).Data()
			g1 := g
			g1.Batch = 1
			want, scale := gemmRef(g1, a[g.StrideA:], b[g.StrideB:], c[g.StrideC:])
			da, db := up(t, tensor.FromSlice(a, len(a))), up(t, tensor.FromSlice(b, len(b)))
			for _, pair := range [][2]string{{"sgemm_128v", "sgemm_128"}, {"sgemm_128x64v", "sgemm_128x64"}, {"sgemm_128v16", "sgemm_128"}, {"sgemm_128x64v16", "sgemm_128x64"}} {
				dv := up(t, tensor.FromSlice(append([]float32(nil), c...), len(c)))
				ds := up(t, tensor.FromSlice(append([]float32(nil), c...), len(c)))
				must(t, dev.GemmWith(pair[0], g, da, db, dv))
				must(t, dev.GemmWith(pair[1], g, da, db, ds))
				got, ref := down(t, dv), down(t, ds)
				what := fmt.Sprintf("%s %dx%dx%d trans %v", pair[0], m, n, k, tr)
				gemmNear(t, what, got[g.StrideC:], want, scale, 2e-6*math.Sqrt(float64(k))+2e-6)
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(ref[i]) {
						t.Fatalf("%s: element %d = %v, %s gives %v (want bit-identical)", what, i, got[i], pair[1], ref[i])
					}
				}
			}
		}
	}
	// Fused bias + ReLU epilogue.
	m, n, k := 300, 260, 76
	g := GemmArgs{TransB: true, M: m, N: n, K: k, Alpha: 0.75, Beta: 0.5, Lda: k, Ldb: k, Ldc: n}
	a, b, c, bias := randn(rng, m*k).Data(), randn(rng, n*k).Data(), randn(rng, m*n).Data(), randn(rng, n)
	want, scale := gemmRef(g, a, b, c)
	for i := range want {
		want[i] = max(want[i]+bias.Data()[i%n], 0)
	}
	for _, name := range []string{"sgemm_128v", "sgemm_128x64v", "sgemm_128v16", "sgemm_128x64v16"} {
		dc := up(t, tensor.FromSlice(append([]float32(nil), c...), len(c)))
		ge := g
		ge.Epilogue = &Epilogue{Bias: up(t, bias), Act: ReLU}
		must(t, dev.GemmWith(name, ge, up(t, tensor.FromSlice(a, len(a))), up(t, tensor.FromSlice(b, len(b))), dc))
		gemmNear(t, name+" bias+ReLU epilogue", down(t, dc), want, scale, 2e-5)
	}
	// An odd leading dimension is refused, not run misaligned.
	bad := GemmArgs{M: 4, N: 4, K: 5, Alpha: 1, Lda: 5, Ldb: 4, Ldc: 4}
	err := dev.GemmWith("sgemm_128v", bad, up(t, randn(rng, 20)), up(t, randn(rng, 20)), empty(t, 16))
	if err == nil || !strings.Contains(err.Error(), "multiples of 4") {
		t.Fatalf("sgemm_128v with lda 5: error %v, want a refusal", err)
	}
}

func TestMatMulBatchedAndLinear(t *testing.T) {
	rng := tensor.NewRNG(8)
	a, b := randn(rng, 3, 9, 17), randn(rng, 3, 17, 5)
	out := empty(t, 3, 9, 5)
	must(t, dev.MatMul(up(t, a), up(t, b), out))
	near(t, "batched matmul", down(t, out), tensor.MatMul(a, b).Data(), 1e-5, 1e-5)
	b2 := randn(rng, 17, 5)
	must(t, dev.MatMul(up(t, a), up(t, b2), out))
	near(t, "batched matmul, shared B", down(t, out), tensor.MatMul(a, b2).Data(), 1e-5, 1e-5)

	x, w, bias := randn(rng, 37, 144), randn(rng, 128, 144), randn(rng, 128)
	o := empty(t, 37, 128)
	must(t, dev.Linear(up(t, x), up(t, w), up(t, bias), SiLU, 0, o))
	near(t, "linear+silu", down(t, o), tensor.SiLU(tensor.Linear(x, w, bias)).Data(), 1e-5, 1e-4)
	must(t, dev.Linear(up(t, x), up(t, w), nil, NoAct, 0, o))
	near(t, "linear", down(t, o), tensor.Linear(x, w, nil).Data(), 1e-5, 1e-4)
}

// randomDAG returns a 0/1 upper-triangular adjacency mask [n, n].
func randomDAG(rng *tensor.RNG, n int) *tensor.Tensor {
	m := tensor.Zeros(n, n)
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			if rng.Float32() < 0.4 {
				m.Set(1, i, j)
			}
		}
	}
	return m
}

func TestGraphConv(t *testing.T) {
	rng := tensor.NewRNG(9)
	for _, s := range [][3]int{{1, 1, 1}, {5, 8, 7}, {64, 20, 144}, {3, 32, 33}} {
		b, n, c := s[0], s[1], s[2]
		fwd, bwd := gnn.NormalizedAdjacency(randomDAG(rng, n))
		h := randn(rng, b, n, c)
		dfwd, dbwd, dh := up(t, fwd), up(t, bwd), up(t, h)
		o1, o2 := empty(t, b, n, c), empty(t, b, n, c)
		must(t, dev.GraphAdj2(false, dfwd, dbwd, dh, o1, o2))
		near(t, fmt.Sprintf("Â·H %v", s), down(t, o1), tensor.MatMul(fwd, h).Data(), 1e-6, 1e-5)
		near(t, fmt.Sprintf("Âᵀn·H %v", s), down(t, o2), tensor.MatMul(bwd, h).Data(), 1e-6, 1e-5)
		g1, g2 := randn(rng, b, n, c), randn(rng, b, n, c)
		sum := empty(t, b, n, c)
		must(t, dev.GraphAdj2Sum(true, dfwd, up(t, g1), dbwd, up(t, g2), sum))
		want := tensor.Add(tensor.MatMul(fwd.T(), g1), tensor.MatMul(bwd.T(), g2))
		near(t, fmt.Sprintf("adjᵀ backward %v", s), down(t, sum), want.Data(), 1e-6, 1e-5)
	}
	// A whole DiGCN layer against the tensor ops of gnn.DiGCNLayer.
	b, n, in, out := 16, 8, 7, 144
	fwd, bwd := gnn.NormalizedAdjacency(randomDAG(rng, n))
	h, w1, w2 := randn(rng, b, n, in), randn(rng, out, in), randn(rng, out, in)
	want := tensor.Scale(tensor.Add(tensor.ReLU(tensor.Linear(tensor.MatMul(fwd, h), w1, nil)),
		tensor.ReLU(tensor.Linear(tensor.MatMul(bwd, h), w2, nil))), 0.5)
	wk, err := dev.NewDiGCNWork(b, n, in, out)
	must(t, err)
	t.Cleanup(wk.Free)
	o := empty(t, b, n, out)
	dh, dfw, dbw, dw1, dw2 := up(t, h), up(t, fwd), up(t, bwd), up(t, w1), up(t, w2)
	must(t, dev.DiGCNForward(dh, dfw, dbw, dw1, dw2, wk, o))
	near(t, "DiGCN layer", down(t, o), want.Data(), 1e-5, 1e-4)

	// Backward against the autograd tape through the same tensor ops.
	g := randn(rng, b, n, out)
	tp := autograd.NewTape()
	hv, w1v, w2v := autograd.NewVar(h, true), autograd.Param("w1", w1), autograd.Param("w2", w2)
	fa, ba := autograd.Const(fwd), autograd.Const(bwd)
	ov := tp.Scale(tp.Add(tp.ReLU(tp.Linear(tp.MatMul(fa, hv), w1v, nil)), tp.ReLU(tp.Linear(tp.MatMul(ba, hv), w2v, nil))), 0.5)
	grads, err := tp.GradWith(ov, g, hv, w1v, w2v)
	must(t, err)
	gh, gw1, gw2 := empty(t, b, n, in), empty(t, out, in), empty(t, out, in)
	must(t, dev.Fill(gw1, 0))
	must(t, dev.Fill(gw2, 0))
	must(t, dev.DiGCNBackward(dh, dfw, dbw, dw1, dw2, wk, up(t, g), gh, gw1, gw2))
	near(t, "DiGCN backward dh", down(t, gh), grads[0].Data(), 1e-5, 1e-4)
	near(t, "DiGCN backward dw1", down(t, gw1), grads[1].Data(), 1e-4, 1e-4)
	near(t, "DiGCN backward dw2", down(t, gw2), grads[2].Data(), 1e-4, 1e-4)
}

func TestLinearBackward(t *testing.T) {
	rng := tensor.NewRNG(18)
	for _, s := range [][3]int{{1, 1, 1}, {37, 144, 128}, {5, 3, 70}} {
		r, in, o := s[0], s[1], s[2]
		x, w, bias, g := randn(rng, r, in), randn(rng, o, in), randn(rng, o), randn(rng, r, o)
		tp := autograd.NewTape()
		xv, wv, bv := autograd.NewVar(x, true), autograd.Param("w", w), autograd.Param("b", bias)
		grads, err := tp.GradWith(tp.Linear(xv, wv, bv), g, xv, wv, bv)
		must(t, err)
		dx, dw, db, tmp := empty(t, r, in), up(t, tensor.Full(1, o, in)), up(t, tensor.Full(2, o)), empty(t, o)
		must(t, dev.LinearBackward(up(t, x), up(t, w), up(t, g), dx, dw, db, tmp))
		name := fmt.Sprintf("linear backward %v", s)
		near(t, name+" dx", down(t, dx), grads[0].Data(), 1e-5, 1e-4)
		near(t, name+" dw (accumulated onto 1)", down(t, dw), tensor.AddScalar(grads[1], 1).Data(), 1e-5, 1e-4)
		near(t, name+" db (accumulated onto 2)", down(t, db), tensor.AddScalar(grads[2], 2).Data(), 1e-5, 1e-4)
	}
}

func TestAttention(t *testing.T) {
	rng := tensor.NewRNG(10)
	for _, s := range [][4]int{{1, 1, 1, 1}, {3, 4, 8, 8}, {5, 2, 20, 8}, {2, 3, 32, 16}} {
		b, h, n, d := s[0], s[1], s[2], s[3]
		q, k, v := randn(rng, b, h, n, d), randn(rng, b, h, n, d), randn(rng, b, h, n, d)
		perGraph := tensor.Zeros(b, n, n)
		for i := range perGraph.Data() {
			if rng.Float32() < 0.6 {
				perGraph.Data()[i] = 1
			}
		}
		// A fully masked row in graph 0 (must attend uniformly).
		for j := 0; j < n; j++ {
			perGraph.Set(0, 0, n-1, j)
		}
		shared := randomDAG(rng, n)
		for _, mc := range []struct {
			name string
			mask *tensor.Tensor
		}{{"none", nil}, {"per-graph", perGraph}, {"shared", shared}} {
			scale := float32(1 / math.Sqrt(float64(d)))
			out, probs := tensor.MaskedAttention(q, k, v, mc.mask, scale)
			dq, dk, dv := up(t, q), up(t, k), up(t, v)
			var dm *DeviceTensor
			if mc.mask != nil {
				dm = up(t, mc.mask)
			}
			o, p := empty(t, b, h, n, d), empty(t, b, h, n, n)
			must(t, dev.Attention(dq, dk, dv, dm, scale, o, p))
			name := fmt.Sprintf("attention %v mask %s", s, mc.name)
			near(t, name+" out", down(t, o), out.Data(), 1e-6, 1e-5)
			near(t, name+" probs", down(t, p), probs.Data(), 1e-7, 1e-5)

			g := randn(rng, b, h, n, d)
			gq, gk, gv := tensor.MaskedAttentionBackward(g, q, k, v, mc.mask, probs, nil, scale)
			oq, ok, ov := empty(t, b, h, n, d), empty(t, b, h, n, d), empty(t, b, h, n, d)
			must(t, dev.AttentionBackward(dq, dk, dv, dm, up(t, probs), up(t, g), scale, oq, ok, ov))
			near(t, name+" dq", down(t, oq), gq.Data(), 1e-6, 1e-4)
			near(t, name+" dk", down(t, ok), gk.Data(), 1e-6, 1e-4)
			near(t, name+" dv", down(t, ov), gv.Data(), 1e-6, 1e-4)
		}
	}
}

// TestPhiloxDeviceBitExact compares the device Philox4x32-10 words with the
// Go reference bit for bit, including counters and keys with high bits set.
func TestPhiloxDeviceBitExact(t *testing.T) {
	for _, c := range []struct{ seed, off uint64 }{{0, 0}, {42, 7}, {0xffffffffffffffff, 0x8000000000000001}, {0x0123456789abcdef, 1 << 40}} {
		const nb = 1000
		got, err := dev.PhiloxRaw(nb, c.seed, c.off)
		must(t, err)
		for j := 0; j < nb; j++ {
			w := PhiloxBlock(c.seed, c.off, uint64(j))
			for r := 0; r < 4; r++ {
				if got[4*j+r] != w[r] {
					t.Fatalf("seed %#x offset %#x block %d word %d: device %#08x, Go %#08x", c.seed, c.off, j, r, got[4*j+r], w[r])
				}
			}
		}
	}
}

// TestNormalsAndDropout: device normals vs NormalsRef (float32 vs float64
// Box-Muller math: |Δ| <= 4e-6·(1+|z|)); dropout mask vs UniformsRef exactly.
func TestNormalsAndDropout(t *testing.T) {
	for _, n := range []int{1, 3, 4, 5, 1 << 16} {
		x := empty(t, n)
		must(t, dev.FillNormal(x, 99, 3, 0, 1))
		want := make([]float32, n)
		NormalsRef(want, 99, 3)
		near(t, fmt.Sprintf("normals n=%d", n), down(t, x), want, 4e-6, 4e-6)
	}
	rng := tensor.NewRNG(11)
	x := randn(rng, 1001)
	out := empty(t, 1001)
	must(t, dev.Dropout(up(t, x), 0.3, 5, 9, out))
	u := make([]float32, 1001)
	UniformsRef(u, 5, 9)
	want := make([]float32, 1001)
	for i, v := range x.Data() {
		if u[i] >= 0.3 {
			want[i] = v / 0.7
		}
	}
	near(t, "dropout", down(t, out), want, 1e-7, 1e-6)
}

func TestSDEPredictor(t *testing.T) {
	rng := tensor.NewRNG(12)
	for _, n := range []int{1, 7, 256 * 8 * 7} {
		x, s := randn(rng, n), randn(rng, n)
		ca, cs, nz := float32(0.999), float32(0.37), float32(0.05)
		z := make([]float32, n)
		NormalsRef(z, 77, 123)
		wantX, wantM := make([]float32, n), make([]float32, n)
		for i, v := range x.Data() {
			m := ca*v + cs*s.Data()[i]
			wantM[i], wantX[i] = m, m+nz*z[i]
		}
		dx, xm := up(t, x), empty(t, n)
		must(t, dev.SDEPredictor(dx, up(t, s), xm, ca, cs, nz, 77, 123))
		near(t, fmt.Sprintf("predictor xmean n=%d", n), down(t, xm), wantM, 1e-6, 1e-6)
		near(t, fmt.Sprintf("predictor x n=%d", n), down(t, dx), wantX, 1e-6, 1e-5)
	}
}

// langevinRef is the corrector of package sde (sde.langevinStep), written out
// with the Go Philox normals as the noise.
func langevinRef(x, grad []float32, b int, snr, alpha float64, seed, off uint64) (xo, xmean []float32, step float64) {
	noise := make([]float32, len(x))
	NormalsRef(noise, seed, off)
	per := len(x) / b
	var gn, nn float64
	for i := 0; i < b; i++ {
		var g2, n2 float64
		for j := i * per; j < (i+1)*per; j++ {
			g2 += float64(grad[j]) * float64(grad[j])
			n2 += float64(noise[j]) * float64(noise[j])
		}
		gn += math.Sqrt(g2)
		nn += math.Sqrt(n2)
	}
	gn /= float64(b)
	nn /= float64(b)
	if gn > 0 {
		r := snr * nn / gn
		step = 2 * alpha * r * r
	}
	sf, nf := float32(step), float32(math.Sqrt(2*step))
	xo, xmean = make([]float32, len(x)), make([]float32, len(x))
	for j := range x {
		m := x[j] + sf*grad[j]
		xmean[j], xo[j] = m, m+nf*noise[j]
	}
	return xo, xmean, step
}

func TestLangevinCorrector(t *testing.T) {
	rng := tensor.NewRNG(13)
	for _, c := range [][2]int{{1, 1}, {3, 5}, {256, 56}, {7, 1000}} {
		b, per := c[0], c[1]
		x, g := randn(rng, b, per), tensor.Scale(randn(rng, b, per), 10)
		wantX, wantM, step := langevinRef(x.Data(), g.Data(), b, 0.16, 1, 8, 21)
		w, err := dev.NewLangevinWork(b)
		must(t, err)
		t.Cleanup(w.Free)
		dx, xm := up(t, x), empty(t, b, per)
		must(t, dev.LangevinCorrector(dx, up(t, g), xm, b, 0.16, 1, 8, 21, w))
		name := fmt.Sprintf("langevin B=%d per=%d", b, per)
		info := down(t, w.Info)
		near(t, name+" step", info[:1], []float32{float32(step)}, 1e-9, 1e-5)
		near(t, name+" xmean", down(t, xm), wantM, 1e-6, 1e-5)
		near(t, name+" x", down(t, dx), wantX, 1e-5, 1e-5)
	}
	// A zero score gives step 0: x unchanged.
	x := randn(rng, 2, 9)
	w, err := dev.NewLangevinWork(2)
	must(t, err)
	t.Cleanup(w.Free)
	dx := up(t, x)
	must(t, dev.LangevinCorrector(dx, up(t, tensor.Zeros(2, 9)), nil, 2, 0.16, 1, 1, 1, w))
	near(t, "langevin zero score", down(t, dx), x.Data(), 0, 0)
}

// TestAdamEMA runs three optimiser steps on the device and with optim.Adam.StepEMA.
func TestAdamEMA(t *testing.T) {
	rng := tensor.NewRNG(14)
	for _, n := range []int{1, 1000, 12345} {
		for _, wd := range []float64{0, 1e-4} {
			p0 := randn(rng, n)
			par := autograd.Param("w", p0.Clone())
			adam, err := optim.NewAdam([]*autograd.Var{par}, 0.9, 0.999, 1e-8, wd)
			must(t, err)
			ema, err := optim.NewEMA([]*autograd.Var{par}, 0.9999)
			must(t, err)
			dp, dm, dv, ds := up(t, p0), empty(t, n), empty(t, n), up(t, p0)
			must(t, dev.Fill(dm, 0))
			must(t, dev.Fill(dv, 0))
			for step := int64(1); step <= 3; step++ {
				g := randn(rng, n)
				par.Grad = g
				decay := ema.NextDecay()
				must(t, adam.StepEMA(1e-3, ema))
				must(t, dev.AdamEMA(dp, up(t, g), dm, dv, ds, NewAdamStep(1e-3, 0.9, 0.999, 1e-8, wd, step, decay)))
			}
			name := fmt.Sprintf("adam n=%d wd=%g", n, wd)
			near(t, name+" params", down(t, dp), par.Value.Data(), 1e-7, 1e-6)
			near(t, name+" ema", down(t, ds), ema.Shadow()[0].Data(), 1e-7, 1e-6)
		}
	}
}

func TestAllocatorReuse(t *testing.T) {
	a, err := dev.Empty(1000)
	must(t, err)
	a.Free()
	before := dev.AllocStats()
	b, err := dev.Empty(900) // same 4 KiB class
	must(t, err)
	after := dev.AllocStats()
	b.Free()
	if after.DriverAllocs != before.DriverAllocs || after.CacheHits != before.CacheHits+1 {
		t.Fatalf("reuse: before %+v after %+v", before, after)
	}
	for _, c := range []struct {
		bytes int64
		class uint
	}{{1, 8}, {256, 8}, {257, 9}, {4096, 12}, {4097, 13}} {
		if got := sizeClass(c.bytes); got != c.class {
			t.Errorf("sizeClass(%d) = %d, want %d", c.bytes, got, c.class)
		}
	}
}

// TestBackendSgemm checks the tensor.Backend registered as "cuda", including
// that gaps between rows of C (ldc > n) keep their values.
func TestBackendSgemm(t *testing.T) {
	be, ok := tensor.LookupBackend("cuda")
	if !ok {
		t.Fatal("cuda backend not registered")
	}
	rng := tensor.NewRNG(15)
	m, n, k, ldc := 9, 5, 11, 8
	a, b := randn(rng, m, k).Data(), randn(rng, n, k).Data()
	c := randn(rng, m*ldc).Data()
	want := append([]float32(nil), c...)
	tensor.NewCPUBackend("ref", nil).Sgemm(blas.NoTrans, blas.Trans, m, n, k, 0.5, a, k, b, k, 2, want, ldc)
	be.Sgemm(blas.NoTrans, blas.Trans, m, n, k, 0.5, a, k, b, k, 2, c, ldc)
	near(t, "backend sgemm", c, want, 1e-5, 1e-5)
	c0 := randn(rng, m*ldc).Data()
	want0 := append([]float32(nil), c0...)
	tensor.NewCPUBackend("ref", nil).Sgemm(blas.NoTrans, blas.Trans, m, n, k, 1, a, k, b, k, 0, want0, ldc)
	be.Sgemm(blas.NoTrans, blas.Trans, m, n, k, 1, a, k, b, k, 0, c0, ldc)
	near(t, "backend sgemm beta=0 (row gaps kept)", c0, want0, 1e-5, 1e-5)
}

// TestParamSetStep runs three optimiser steps of a multi-tensor parameter set
// against optim.Adam.StepEMA on the host.
func TestParamSetStep(t *testing.T) {
	rng := tensor.NewRNG(16)
	mk := func() []*autograd.Var {
		r := tensor.NewRNG(17)
		return []*autograd.Var{autograd.Param("a.weight", randn(r, 7, 3)), autograd.Param("a.bias", randn(r, 7)),
			autograd.Param("b", randn(r, 1))}
	}
	host, devp := mk(), mk()
	set, err := dev.NewParamSet(devp, true)
	must(t, err)
	t.Cleanup(set.Free)
	adam, err := optim.NewAdam(host, 0.9, 0.999, 1e-8, 1e-4)
	must(t, err)
	ema, err := optim.NewEMA(host, 0.999)
	must(t, err)
	for step := 0; step < 3; step++ {
		for i, p := range host {
			g := randn(rng, p.Shape()...)
			p.Grad = g
			must(t, set.Grad(i).CopyFrom(g.Data()))
		}
		must(t, adam.StepEMA(2e-3, ema))
		must(t, set.Step(2e-3, 0.9, 0.999, 1e-8, 1e-4, 0.999))
	}
	must(t, set.CopyTo(devp, false))
	for i := range host {
		near(t, "param set "+host[i].Name, devp[i].Value.Data(), host[i].Value.Data(), 1e-7, 1e-6)
	}
	must(t, set.CopyTo(devp, true))
	for i := range host {
		near(t, "param set ema "+host[i].Name, devp[i].Value.Data(), ema.Shadow()[i].Data(), 1e-7, 1e-6)
	}
}

func TestConcatGatherScatter(t *testing.T) {
	rng := tensor.NewRNG(19)
	a, b := randn(rng, 9, 56), randn(rng, 9, 128)
	out := empty(t, 9, 184)
	must(t, dev.ConcatLast(out, up(t, a), up(t, b)))
	near(t, "concat last axis", down(t, out), tensor.Concat(1, a, b).Data(), 0, 0)
	back := empty(t, 9, 128)
	must(t, dev.Copy2D(9, 128, out, 184, 56, back, 128, 0))
	near(t, "slice last axis", down(t, back), b.Data(), 0, 0)

	table := randn(rng, 7, 13)
	ids := []int{3, 0, 6, 3, 3, 1}
	did, err := dev.UploadIndices(ids, 7)
	must(t, err)
	t.Cleanup(did.Free)
	o := empty(t, len(ids), 13)
	must(t, dev.GatherRows(up(t, table), did, o))
	near(t, "gather rows", down(t, o), tensor.Embedding(table, ids).Data(), 0, 0)

	g := randn(rng, len(ids), 13)
	tp := autograd.NewTape()
	wv := autograd.Param("emb", table)
	grads, err := tp.GradWith(tp.Embedding(wv, ids), g, wv)
	must(t, err)
	dt := up(t, tensor.Zeros(7, 13))
	must(t, dev.ScatterAddRows(up(t, g), did, dt))
	near(t, "scatter-add rows (embedding backward)", down(t, dt), grads[0].Data(), 1e-6, 1e-6)
	if _, err := dev.UploadIndices([]int{7}, 7); err == nil {
		t.Fatal("UploadIndices accepted an index outside [0, V)")
	}
}

func TestHeadsPermute(t *testing.T) {
	rng := tensor.NewRNG(23)
	for _, s := range [][4]int{{4, 8, 8, 8}, {3, 20, 4, 14}, {1, 1, 1, 1}} {
		b, n, h, dd := s[0], s[1], s[2], s[3]
		packed := randn(rng, b*n, 3*h*dd)
		// CPU reference: [B, N, 3, H, D] -> [3, B, H, N, D].
		want := packed.Reshape(b, n, 3, h, dd).Permute(2, 0, 3, 1, 4).Contiguous()
		heads := empty(t, 3, b, h, n, dd)
		must(t, dev.HeadsPermute(b, n, 3, h, dd, false, up(t, packed), heads))
		near(t, fmt.Sprintf("heads split %v", s), down(t, heads), want.Data(), 0, 0)
		back := empty(t, b*n, 3*h*dd)
		must(t, dev.HeadsPermute(b, n, 3, h, dd, true, back, heads))
		near(t, fmt.Sprintf("heads merge %v", s), down(t, back), packed.Data(), 0, 0)
	}
}

// TestCaptureReplay records a small launch sequence as a CUDA graph and
// replays it on changed inputs: the replay must recompute from the buffers'
// current contents, exactly as the direct launches do.
func TestCaptureReplay(t *testing.T) {
	rng := tensor.NewRNG(29)
	x, y := randn(rng, 1000), randn(rng, 1000)
	dx, dy, out := up(t, x), up(t, y), empty(t, 1000)
	seq := func() error {
		if err := dev.Axpby(2, dx, -1, dy, out); err != nil {
			return err
		}
		return dev.Unary(ReLU, out, 0, out)
	}
	g, err := dev.Capture(seq)
	must(t, err)
	defer g.Destroy()
	if g.Nodes() != 2 {
		t.Errorf("graph has %d nodes, want 2", g.Nodes())
	}
	want := func() []float32 {
		w := make([]float32, 1000)
		xd, yd := down(t, dx), down(t, dy)
		for i := range w {
			w[i] = max(2*xd[i]-yd[i], 0)
		}
		return w
	}
	must(t, g.Launch())
	near(t, "graph replay", down(t, out), want(), 0, 0)
	must(t, dx.CopyFrom(randn(rng, 1000).Data()))
	must(t, g.Launch())
	near(t, "graph replay on new input", down(t, out), want(), 0, 0)
}

// TestProfile: the kernel profiler names every launch (GEMMs with their
// shape), counts them, gives each a positive time, times a graph replay as
// one span and records nothing once stopped.
func TestProfile(t *testing.T) {
	rng := tensor.NewRNG(31)
	x, y := up(t, randn(rng, 4096)), up(t, randn(rng, 4096))
	out := empty(t, 4096)
	a, b, c := up(t, randn(rng, 64*32)), up(t, randn(rng, 32*48)), empty(t, 64*48)
	g, err := dev.Capture(func() error { return dev.Unary(ReLU, out, 0, out) })
	must(t, err)
	defer g.Destroy()
	must(t, dev.StartProfile())
	for i := 0; i < 3; i++ {
		must(t, dev.Axpby(2, x, -1, y, out))
	}
	must(t, dev.Gemm(GemmArgs{M: 64, N: 48, K: 32, Alpha: 1, Lda: 32, Ldb: 48, Ldc: 48}, a, b, c))
	must(t, g.Launch())
	ks, err := dev.StopProfile()
	must(t, err)
	got := map[string]KernelTime{}
	for _, k := range ks {
		got[k.Name] = k
	}
	gemm := gemmTag(pickGemm(64, 48, 32, 1, dev.Info.SMs).name, GemmArgs{M: 64, N: 48, K: 32})
	for name, calls := range map[string]int{"ew_axpby": 3, gemm: 1, "graph(1 nodes)": 1} {
		k, ok := got[name]
		if !ok || k.Calls != calls || !(k.Seconds > 0 && k.Seconds < 1) {
			t.Errorf("profile entry %q = %+v (present %v), want %d calls and a positive time; profile %+v", name, k, ok, calls, ks)
		}
	}
	if len(ks) != 3 {
		t.Errorf("profile has %d entries, want 3: %+v", len(ks), ks)
	}
	must(t, dev.Axpby(2, x, -1, y, out))
	must(t, dev.StartProfile())
	ks, err = dev.StopProfile()
	must(t, err)
	if len(ks) != 0 {
		t.Errorf("launches outside StartProfile..StopProfile were recorded: %+v", ks)
	}
}
