package optim

import (
	"errors"
	"math"
	"testing"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/tensor"
)

func param(name string, vals ...float32) *autograd.Var {
	return autograd.Param(name, tensor.FromSlice(append([]float32(nil), vals...), len(vals)))
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// TestAdamHandComputed checks the first two Adam steps on f(p) = ½‖p‖²
// (gradient p) against values worked out by hand (float64):
//
//	lr 0.1, b1 0.9, b2 0.999, eps 1e-8, p0 = (1, -2)
//	step 1 (t=1), g = p0:
//	  m = 0.1·g = (0.1, -0.2); v = 0.001·g² = (0.001, 0.004)
//	  m̂ = m/0.1 = g; v̂ = v/0.001 = g²; p1 = p0 - 0.1·g/(|g|+1e-8)
//	    = (0.900000001, -1.9000000005)
//	step 2 (t=2), g = p1:
//	  m = m + 0.1·(g - m) = (0.1800000001, -0.37000000005)
//	  v = 0.999·v + 0.001·g² = (0.001809000002, 0.007606000002)
//	  bc1 = 1-0.9² = 0.19; bc2 = 1-0.999² = 0.001999
//	  p2 = p1 - 0.1·(m/0.19)/(sqrt(v/0.001999) + 1e-8)
//	     = (0.8004122297, -1.8001664866)
func TestAdamHandComputed(t *testing.T) {
	p := param("w", 1, -2)
	a, err := NewAdam([]*autograd.Var{p}, 0.9, 0.999, 1e-8, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]float64{{0.900000001, -1.9000000005}, {0.8004122297123382, -1.8001664866210927}}
	wantM := [][]float64{{0.1, -0.2}, {0.18000000009999995, -0.3700000000499999}}
	wantV := [][]float64{{0.001, 0.004}, {0.0018090000018000018, 0.007606000001900007}}
	for step := 0; step < 2; step++ {
		p.Grad = p.Value.Clone()
		if err := a.Step(0.1); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			if got := float64(p.Value.Data()[i]); !near(got, want[step][i], 1e-6) {
				t.Errorf("step %d: p[%d] = %.9f, want %.9f", step+1, i, got, want[step][i])
			}
			if got := float64(a.m[0].Data()[i]); !near(got, wantM[step][i], 1e-7) {
				t.Errorf("step %d: m[%d] = %.9g, want %.9g", step+1, i, got, wantM[step][i])
			}
			if got := float64(a.v[0].Data()[i]); !near(got, wantV[step][i], 1e-9) {
				t.Errorf("step %d: v[%d] = %.9g, want %.9g", step+1, i, got, wantV[step][i])
			}
		}
	}
	if a.Steps() != 2 {
		t.Errorf("Steps = %d, want 2", a.Steps())
	}
}

// TestAdamQuadratic minimises f(p) = Σ c_i (p_i - t_i)² through the full
// Optimizer (warm-up, no clipping) and checks it reaches the minimum.
func TestAdamQuadratic(t *testing.T) {
	target := []float32{3, -1, 0.5, 10}
	coef := []float32{1, 4, 0.25, 2}
	p := param("p", 0, 0, 0, 0)
	cfg := Config{LR: 0.05, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Warmup: 20}
	o, err := New([]*autograd.Var{p}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3000; i++ {
		g := tensor.Zeros(4)
		for j := range target {
			g.Data()[j] = 2 * coef[j] * (p.Value.Data()[j] - target[j])
		}
		p.Grad = g
		if _, err := o.Step(); err != nil {
			t.Fatal(err)
		}
	}
	for j := range target {
		if got := p.Value.Data()[j]; !near(float64(got), float64(target[j]), 1e-2) {
			t.Errorf("p[%d] = %v, want %v", j, got, target[j])
		}
	}
}

// TestWeightDecay: weight decay is L2 added to the gradient, so a step with
// gradient g and decay wd equals a step with gradient g + wd·p and no decay.
func TestWeightDecay(t *testing.T) {
	a := param("w", 2, -4, 0.5)
	b := param("w", 2, -4, 0.5)
	oa, _ := NewAdam([]*autograd.Var{a}, 0.9, 0.999, 1e-8, 0.5)
	ob, _ := NewAdam([]*autograd.Var{b}, 0.9, 0.999, 1e-8, 0)
	grad := []float32{0.1, 0, -0.3}
	for step := 0; step < 5; step++ {
		a.Grad = tensor.FromSlice(append([]float32(nil), grad...), 3)
		gb := make([]float32, 3)
		for i := range gb {
			gb[i] = grad[i] + 0.5*b.Value.Data()[i]
		}
		b.Grad = tensor.FromSlice(gb, 3)
		if err := oa.Step(0.01); err != nil {
			t.Fatal(err)
		}
		if err := ob.Step(0.01); err != nil {
			t.Fatal(err)
		}
	}
	for i := range grad {
		if a.Value.Data()[i] != b.Value.Data()[i] {
			t.Errorf("p[%d]: decay %v, explicit L2 %v", i, a.Value.Data()[i], b.Value.Data()[i])
		}
	}
	// The zero-gradient entry (2nd) must have moved toward zero: decay pulls
	// -4 up.
	if got := a.Value.Data()[1]; !(got > -4) {
		t.Errorf("weight decay did not pull -4 toward 0: %v", got)
	}
}

func TestWarmupLR(t *testing.T) {
	for _, c := range []struct {
		step, warmup int64
		want         float64
	}{
		{0, 1000, 0}, {1, 1000, 1e-6}, {500, 1000, 5e-4}, {999, 1000, 9.99e-4},
		{1000, 1000, 1e-3}, {5000, 1000, 1e-3}, {0, 0, 1e-3}, {7, 0, 1e-3},
	} {
		if got := WarmupLR(1e-3, c.step, c.warmup); !near(got, c.want, 1e-15) {
			t.Errorf("WarmupLR(1e-3, %d, %d) = %g, want %g", c.step, c.warmup, got, c.want)
		}
	}
	// Through the optimiser: the first step uses lr 0 and leaves p.
	p := param("p", 1)
	o, _ := New([]*autograd.Var{p}, Config{LR: 1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Warmup: 4})
	wantLR := []float64{0, 0.25, 0.5, 0.75, 1, 1}
	for i, w := range wantLR {
		p.Grad = tensor.Full(1, 1)
		st, err := o.Step()
		if err != nil {
			t.Fatal(err)
		}
		if st.LR != w || st.Step != int64(i) {
			t.Errorf("step %d: lr %g (index %d), want %g", i, st.LR, st.Step, w)
		}
		if i == 0 && p.Value.Data()[0] != 1 {
			t.Errorf("lr-0 step moved the parameter to %v", p.Value.Data()[0])
		}
	}
}

func TestClipGradNorm(t *testing.T) {
	mk := func() []*autograd.Var {
		a, b, c := param("a", 0, 0), param("b", 0), param("c", 0)
		a.Grad = tensor.FromSlice([]float32{3, 0}, 2)
		b.Grad = tensor.FromSlice([]float32{4}, 1)
		// c has no gradient and is ignored.
		return []*autograd.Var{a, b, c}
	}
	for _, c := range []struct {
		max    float64
		want   []float32 // a0, a1, b0 after clipping
		scaled bool
	}{
		{1, []float32{float32(3 / (5 + 1e-6)), 0, float32(4 / (5 + 1e-6))}, true},
		{2.5, []float32{float32(3 * 2.5 / (5 + 1e-6)), 0, float32(4 * 2.5 / (5 + 1e-6))}, true},
		{10, []float32{3, 0, 4}, false},
		{0, []float32{3, 0, 4}, false},
	} {
		ps := mk()
		norm, err := ClipGradNorm(ps, c.max)
		if err != nil {
			t.Fatal(err)
		}
		if norm != 5 {
			t.Errorf("max %v: norm %v, want 5", c.max, norm)
		}
		got := []float32{ps[0].Grad.Data()[0], ps[0].Grad.Data()[1], ps[1].Grad.Data()[0]}
		for i := range got {
			if !near(float64(got[i]), float64(c.want[i]), 1e-6) {
				t.Errorf("max %v: grad %d = %v, want %v", c.max, i, got[i], c.want[i])
			}
		}
		if after := GradNorm(ps); c.scaled && !near(after, c.max, 1e-5) {
			t.Errorf("max %v: norm after clipping %v", c.max, after)
		}
	}
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1))} {
		ps := mk()
		ps[1].Grad.Data()[0] = bad
		_, err := ClipGradNorm(ps, 1)
		if !errors.Is(err, ErrNonFinite) {
			t.Errorf("grad %v: err %v, want ErrNonFinite", bad, err)
		}
		if ps[0].Grad.Data()[0] != 3 {
			t.Errorf("grad %v: gradients modified on error", bad)
		}
	}
}

func TestOptimizerStopsOnNaN(t *testing.T) {
	p := param("p", 1, 2)
	o, err := New([]*autograd.Var{p}, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	p.Grad = tensor.FromSlice([]float32{float32(math.NaN()), 1}, 2)
	_, err = o.Step()
	if !errors.Is(err, ErrNonFinite) {
		t.Fatalf("err = %v, want ErrNonFinite", err)
	}
	if p.Value.Data()[0] != 1 || p.Value.Data()[1] != 2 || o.Steps() != 0 || o.EMA().Updates() != 0 {
		t.Errorf("state changed on a NaN step: p %v, steps %d", p.Value.Data(), o.Steps())
	}
}

// TestEMAHandComputed: shadow starts at p = 0; then p = 10, 10, 4:
//
//	n=1: d = 2/11;  s = 0 - (9/11)(0-10)          = 8.181818...
//	n=2: d = 3/12;  s = s - 0.75(s-10)            = 9.545454...
//	n=3: d = 4/13;  s = s - (9/13)(s-4)           = 5.706293...
func TestEMAHandComputed(t *testing.T) {
	p := param("p", 0)
	e, err := NewEMA([]*autograd.Var{p}, 0.9999)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct{ p, d, s float64 }{
		{10, 2.0 / 11, 8.181818181818182}, {10, 0.25, 9.545454545454545}, {4, 4.0 / 13, 5.706293706293707},
	}
	for i, st := range steps {
		p.Value.Data()[0] = float32(st.p)
		if d := e.NextDecay(); !near(d, st.d, 1e-15) {
			t.Errorf("update %d: decay %v, want %v", i+1, d, st.d)
		}
		if err := e.Update(); err != nil {
			t.Fatal(err)
		}
		if got := float64(e.Shadow()[0].Data()[0]); !near(got, st.s, 1e-5) {
			t.Errorf("update %d: shadow %v, want %v", i+1, got, st.s)
		}
	}
	// The warm-up reaches the cap when (1+n)/(10+n) > decay.
	for _, c := range []struct {
		decay   float64
		updates int64 // updates already done
		want    float64
	}{
		{0.9999, 0, 2.0 / 11}, {0.9999, 89989, 89991.0 / 90000}, {0.9999, 89990, 0.9999}, {0.9999, 1e6, 0.9999},
		{0.5, 7, 0.5}, {0.5, 6, 8.0 / 17},
	} {
		e := &EMA{Decay: c.decay, updates: c.updates}
		if got := e.NextDecay(); !near(got, c.want, 1e-15) {
			t.Errorf("decay %v after %d updates: %v, want %v", c.decay, c.updates, got, c.want)
		}
	}
}

func TestEMASwapAndCopy(t *testing.T) {
	p := param("p", 1, 2)
	e, _ := NewEMA([]*autograd.Var{p}, 0.5)
	p.Value.Data()[0], p.Value.Data()[1] = 5, 6
	e.Update() // d = 2/11: s = (1,2) + 9/11·((5,6)-(1,2))
	s := append([]float32(nil), e.Shadow()[0].Data()...)
	e.Swap()
	if !e.Swapped() || p.Value.Data()[0] != s[0] || p.Value.Data()[1] != s[1] {
		t.Fatalf("after Swap p = %v, want shadow %v", p.Value.Data(), s)
	}
	if err := e.Update(); err == nil {
		t.Error("Update while swapped should fail")
	}
	dst := param("q", 0, 0)
	if err := e.CopyTo([]*autograd.Var{dst}); err != nil {
		t.Fatal(err)
	}
	if dst.Value.Data()[0] != s[0] || dst.Value.Data()[1] != s[1] {
		t.Errorf("CopyTo while swapped gave %v, want %v", dst.Value.Data(), s)
	}
	e.Swap()
	if e.Swapped() || p.Value.Data()[0] != 5 || p.Value.Data()[1] != 6 {
		t.Errorf("after swapping back p = %v, want [5 6]", p.Value.Data())
	}
	if err := e.CopyTo([]*autograd.Var{param("r", 0)}); err == nil {
		t.Error("CopyTo with a wrong shape should fail")
	}
}

// TestFusedMatchesSeparate: the fused Adam+EMA sweep is bit-identical to an
// Adam step followed by a separate EMA update.
func TestFusedMatchesSeparate(t *testing.T) {
	rng := tensor.NewRNG(7)
	mk := func() []*autograd.Var {
		r := tensor.NewRNG(1)
		return []*autograd.Var{autograd.Param("a", tensor.RandN(r, 3, 4)), autograd.Param("b", tensor.RandN(r, 5))}
	}
	pa, pb := mk(), mk()
	aa, _ := NewAdam(pa, 0.9, 0.999, 1e-8, 0.01)
	ab, _ := NewAdam(pb, 0.9, 0.999, 1e-8, 0.01)
	ea, _ := NewEMA(pa, 0.9)
	eb, _ := NewEMA(pb, 0.9)
	for step := 0; step < 20; step++ {
		for i := range pa {
			g := tensor.RandN(rng, pa[i].Shape()...)
			pa[i].Grad, pb[i].Grad = g, g.Clone()
		}
		if err := aa.StepEMA(0.01, ea); err != nil {
			t.Fatal(err)
		}
		if err := ab.Step(0.01); err != nil {
			t.Fatal(err)
		}
		if err := eb.Update(); err != nil {
			t.Fatal(err)
		}
	}
	for i := range pa {
		for j, v := range pa[i].Value.Data() {
			if v != pb[i].Value.Data()[j] || ea.Shadow()[i].Data()[j] != eb.Shadow()[i].Data()[j] {
				t.Fatalf("param %d elem %d differs: fused %v/%v, separate %v/%v", i, j, v, ea.Shadow()[i].Data()[j], pb[i].Value.Data()[j], eb.Shadow()[i].Data()[j])
			}
		}
	}
}

func TestStateRoundTrip(t *testing.T) {
	mk := func() []*autograd.Var {
		r := tensor.NewRNG(3)
		return []*autograd.Var{autograd.Param("w", tensor.RandN(r, 2, 3)), autograd.Param("b", tensor.RandN(r, 3))}
	}
	cfg := DefaultConfig()
	cfg.LR, cfg.Warmup = 0.01, 3
	pa, pb := mk(), mk()
	oa, _ := New(pa, cfg)
	rng := tensor.NewRNG(9)
	grads := func() []*tensor.Tensor {
		return []*tensor.Tensor{tensor.RandN(rng, 2, 3), tensor.RandN(rng, 3)}
	}
	for step := 0; step < 4; step++ {
		for i, g := range grads() {
			pa[i].Grad = g
		}
		oa.Step()
	}
	// Copy the state and the parameters into a fresh optimiser.
	st := oa.State()
	for i := range st.Tensors {
		st.Tensors[i].Tensor = st.Tensors[i].Tensor.Clone()
	}
	for i := range pa {
		pb[i].Value.CopyFrom(pa[i].Value)
	}
	ob, _ := New(pb, cfg)
	if err := ob.LoadState(st); err != nil {
		t.Fatal(err)
	}
	if ob.Steps() != 4 || ob.EMA().Updates() != 4 {
		t.Fatalf("restored counters %d, %d; want 4, 4", ob.Steps(), ob.EMA().Updates())
	}
	for step := 0; step < 3; step++ {
		for i, g := range grads() {
			pa[i].Grad, pb[i].Grad = g, g.Clone()
		}
		oa.Step()
		ob.Step()
	}
	for i := range pa {
		for j, v := range pa[i].Value.Data() {
			if v != pb[i].Value.Data()[j] {
				t.Fatalf("param %d elem %d: %v vs %v after resume", i, j, v, pb[i].Value.Data()[j])
			}
		}
	}
	if got, want := len(oa.StateNames()), 6; got != want {
		t.Errorf("%d state tensors, want %d (m, v, ema per param)", got, want)
	}

	bad := []struct {
		name string
		edit func(s *State)
	}{
		{"missing", func(s *State) { s.Tensors = s.Tensors[1:] }},
		{"shape", func(s *State) { s.Tensors[0].Tensor = tensor.Zeros(3, 2) }},
		{"extra", func(s *State) { s.Tensors = append(s.Tensors, NamedTensor{"adam.m.zzz", tensor.Zeros(1)}) }},
		{"duplicate", func(s *State) { s.Tensors = append(s.Tensors, s.Tensors[0]) }},
		{"negative", func(s *State) { s.Steps = -1 }},
	}
	for _, c := range bad {
		s := oa.State()
		s.Tensors = append([]NamedTensor(nil), s.Tensors...)
		c.edit(&s)
		before := pb[0].Value.Clone()
		if err := ob.LoadState(s); err == nil {
			t.Errorf("%s: LoadState accepted a bad state", c.name)
		}
		if !tensor.EqualInts(before.Shape(), pb[0].Value.Shape()) || before.Data()[0] != pb[0].Value.Data()[0] {
			t.Errorf("%s: parameters changed", c.name)
		}
	}
}

func TestNewValidates(t *testing.T) {
	ok := DefaultConfig()
	for _, c := range []struct {
		name   string
		params []*autograd.Var
		cfg    Config
	}{
		{"unnamed", []*autograd.Var{autograd.NewVar(tensor.Zeros(2), true)}, ok},
		{"duplicate", []*autograd.Var{param("a", 1), param("a", 2)}, ok},
		{"beta1", []*autograd.Var{param("a", 1)}, Config{LR: 1, Beta1: 1, Beta2: 0.9, Eps: 1e-8}},
		{"lr", []*autograd.Var{param("a", 1)}, Config{LR: math.NaN(), Beta1: 0.9, Beta2: 0.9, Eps: 1e-8}},
		{"ema", []*autograd.Var{param("a", 1)}, Config{LR: 1, Beta1: 0.9, Beta2: 0.9, Eps: 1e-8, EMADecay: 1}},
		{"eps", []*autograd.Var{param("a", 1)}, Config{LR: 1, Beta1: 0.9, Beta2: 0.9}},
	} {
		if _, err := New(c.params, c.cfg); err == nil {
			t.Errorf("%s: New accepted it", c.name)
		}
	}
	p := param("p", 1, 2)
	p.Grad = tensor.Zeros(3)
	a, _ := NewAdam([]*autograd.Var{p}, 0.9, 0.999, 1e-8, 0)
	if err := a.Step(0.1); err == nil {
		t.Error("Step accepted a gradient of the wrong shape")
	}
}

func BenchmarkAdamEMAStep(b *testing.B) {
	r := tensor.NewRNG(1)
	p := autograd.Param("w", tensor.RandN(r, 1536, 1536))
	p.Grad = tensor.RandN(r, 1536, 1536)
	o, _ := New([]*autograd.Var{p}, DefaultConfig())
	b.SetBytes(int64(p.Value.Len()) * 4 * 5) // p, g, m, v, ema
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := o.Step(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestParallelSweepBitIdentical runs the fused Adam+EMA step on parameters
// large enough to be split into many chunks across goroutines (plus a
// small one, an odd-sized one and one without a gradient) and checks every
// parameter, moment and EMA value against the same update computed in one
// serial pass per parameter with float32 arithmetic, bit for bit.
func TestParallelSweepBitIdentical(t *testing.T) {
	rng := tensor.NewRNG(5)
	sizes := []int{3 * sweepChunkLen, 5*sweepChunkLen + 17, 7, sweepChunkLen - 1}
	var params []*autograd.Var
	for i, n := range sizes {
		p := autograd.Param(string(rune('a'+i)), tensor.RandN(rng, n))
		if i != 3 { // the last parameter gets no gradient
			p.Grad = tensor.RandN(rng, n)
		}
		params = append(params, p)
	}
	// Serial reference state: copies of parameters, zero moments, EMA = p0.
	ref := make([][]float32, len(params))
	refS := make([][]float32, len(params))
	refM := make([][]float32, len(params))
	refV := make([][]float32, len(params))
	for i, p := range params {
		ref[i] = append([]float32(nil), p.Value.Data()...)
		refS[i] = append([]float32(nil), p.Value.Data()...)
		refM[i] = make([]float32, len(ref[i]))
		refV[i] = make([]float32, len(ref[i]))
	}
	const wd = 0.01
	adam, err := NewAdam(params, 0.9, 0.999, 1e-8, wd)
	if err != nil {
		t.Fatal(err)
	}
	ema, err := NewEMA(params, 0.99)
	if err != nil {
		t.Fatal(err)
	}
	for step := 1; step <= 3; step++ {
		rate := float32(1 - ema.NextDecay())
		if err := adam.StepEMA(1e-2, ema); err != nil {
			t.Fatal(err)
		}
		bc1 := 1 - math.Pow(0.9, float64(step))
		bc2 := 1 - math.Pow(0.999, float64(step))
		stepSize, bc2Sqrt := float32(1e-2/bc1), float32(math.Sqrt(bc2))
		for i, p := range params {
			for j := range ref[i] {
				if p.Grad != nil {
					g := p.Grad.Data()[j] + float32(wd)*ref[i][j]
					m := refM[i][j] + float32(1-0.9)*(g-refM[i][j])
					v := refV[i][j]*float32(0.999) + float32(1-0.999)*g*g
					refM[i][j], refV[i][j] = m, v
					ref[i][j] -= stepSize * (m / (float32(math.Sqrt(float64(v)))/bc2Sqrt + float32(1e-8)))
				}
				refS[i][j] -= rate * (refS[i][j] - ref[i][j])
			}
		}
		for i, p := range params {
			for j, want := range ref[i] {
				if got := p.Value.Data()[j]; got != want {
					t.Fatalf("step %d param %d[%d] = %v, serial %v", step, i, j, got, want)
				}
				if got := ema.Shadow()[i].Data()[j]; got != refS[i][j] {
					t.Fatalf("step %d ema %d[%d] = %v, serial %v", step, i, j, got, refS[i][j])
				}
				if got := adam.m[i].Data()[j]; got != refM[i][j] {
					t.Fatalf("step %d m %d[%d] = %v, serial %v", step, i, j, got, refM[i][j])
				}
			}
		}
	}
}
