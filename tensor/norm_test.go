package tensor

import (
	"math"
	"testing"
)

// naiveLayerNorm is a float64 reference of LayerNorm over the last axis.
func naiveLayerNorm(x []float32, d int, gamma, beta []float32, eps float64) (out, mean, rstd []float64) {
	rows := len(x) / d
	out = make([]float64, len(x))
	mean, rstd = make([]float64, rows), make([]float64, rows)
	for r := 0; r < rows; r++ {
		var s float64
		for j := 0; j < d; j++ {
			s += float64(x[r*d+j])
		}
		mu := s / float64(d)
		var v float64
		for j := 0; j < d; j++ {
			e := float64(x[r*d+j]) - mu
			v += e * e
		}
		rs := 1 / math.Sqrt(v/float64(d)+eps)
		mean[r], rstd[r] = mu, rs
		for j := 0; j < d; j++ {
			y := (float64(x[r*d+j]) - mu) * rs
			if gamma != nil {
				y *= float64(gamma[j])
			}
			if beta != nil {
				y += float64(beta[j])
			}
			out[r*d+j] = y
		}
	}
	return out, mean, rstd
}

func assertClose(t *testing.T, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(float64(got[i]) - want[i]); d > tol*math.Max(1, math.Abs(want[i])) || math.IsNaN(float64(got[i])) {
			t.Fatalf("%s[%d] = %.7g, want %.7g (diff %.3g)", what, i, got[i], want[i], d)
		}
	}
}

func TestLayerNormMatchesReference(t *testing.T) {
	rng := NewRNG(1)
	cases := []struct {
		name   string
		shape  []int
		affine bool
		shift  float32
	}{
		{"small-affine", []int{3, 5}, true, 0},
		{"rank3-plain", []int{2, 3, 64}, false, 0},
		{"large-offset", []int{4, 768}, true, 1000}, // mean far from 0: tests the two-pass variance
		{"parallel-rows", []int{2048, 64}, true, 0},
		{"d1", []int{6, 1}, true, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := RandN(rng, c.shape...)
			xd := x.Data()
			for i := range xd {
				xd[i] += c.shift
			}
			d := c.shape[len(c.shape)-1]
			var g, b *Tensor
			var gd, bd []float32
			if c.affine {
				g, b = RandN(rng, d), RandN(rng, d)
				gd, bd = g.Data(), b.Data()
			}
			out, mean, rstd := LayerNorm(x, g, b, 1e-5)
			wo, wm, wr := naiveLayerNorm(xd, d, gd, bd, 1e-5)
			if !EqualInts(out.Shape(), c.shape) || !EqualInts(mean.Shape(), c.shape[:len(c.shape)-1]) {
				t.Fatalf("shapes out %v mean %v for x %v", out.Shape(), mean.Shape(), c.shape)
			}
			tol := 2e-5
			if c.shift != 0 {
				tol = 2e-3 // float32 inputs near 1000 carry ~6e-5 absolute rounding
			}
			assertClose(t, "out", out.Data(), wo, tol)
			assertClose(t, "mean", mean.Data(), wm, 1e-5)
			assertClose(t, "rstd", rstd.Data(), wr, tol)
		})
	}
}

func TestLayerNormStridedInput(t *testing.T) {
	rng := NewRNG(2)
	x := RandN(rng, 6, 4)
	xt := x.T() // [4, 6] view
	out, _, _ := LayerNorm(xt, nil, nil, 1e-5)
	want, _, _ := naiveLayerNorm(xt.Contiguous().Data(), 6, nil, nil, 1e-5)
	assertClose(t, "out", out.Data(), want, 2e-5)
}

// TestGroupNormHandComputed checks GroupNorm on x [1, 4, 2] with 2 groups
// against values worked out by hand (eps = 0):
//
//	group 0 = channels 0,1 = {1, 2, 3, 4}: mean 2.5, var 1.25, rstd 0.894427191
//	  x̂ = {-1.3416408, -0.4472136, 0.4472136, 1.3416408}
//	group 1 = channels 2,3 = {0, 0, 0, 4}: mean 1, var 3, rstd 0.577350269
//	  x̂ = {-0.5773503, -0.5773503, -0.5773503, 1.7320508}
//
// gamma = {1, 2, 0.5, -1}, beta = {0, 1, 0, 0.5} per channel give
//
//	ch0: x̂·1 + 0   = {-1.3416408, -0.4472136}
//	ch1: x̂·2 + 1   = {1.8944272, 3.6832816}
//	ch2: x̂·0.5 + 0 = {-0.2886751, -0.2886751}
//	ch3: x̂·(-1)+.5 = {1.0773503, -1.2320508}
func TestGroupNormHandComputed(t *testing.T) {
	x := FromSlice([]float32{1, 2, 3, 4, 0, 0, 0, 4}, 1, 4, 2)
	g := FromSlice([]float32{1, 2, 0.5, -1}, 4)
	b := FromSlice([]float32{0, 1, 0, 0.5}, 4)
	out, mean, rstd := GroupNorm(x, 2, g, b, 0)
	assertClose(t, "out", out.Data(), []float64{-1.3416408, -0.4472136, 1.8944272, 3.6832816, -0.2886751, -0.2886751, 1.0773503, -1.2320508}, 1e-6)
	assertClose(t, "mean", mean.Data(), []float64{2.5, 1}, 1e-7)
	assertClose(t, "rstd", rstd.Data(), []float64{0.894427191, 0.577350269}, 1e-6)
	if !EqualInts(mean.Shape(), []int{1, 2}) {
		t.Fatalf("mean shape %v, want [1 2]", mean.Shape())
	}
	// eps enters under the square root: var 1.25 + eps 0.75 = 2 -> rstd 1/sqrt(2).
	_, _, rstd2 := GroupNorm(x, 2, nil, nil, 0.75)
	assertClose(t, "rstd(eps)", rstd2.Data()[:1], []float64{1 / math.Sqrt2}, 1e-6)
}

func TestGroupNormEqualsLayerNormPerGroup(t *testing.T) {
	// GroupNorm with one channel per group on [N, C, S] equals LayerNorm of
	// each [S] row; with one group it equals LayerNorm over [C*S].
	rng := NewRNG(3)
	x := RandN(rng, 3, 4, 5)
	gn, _, _ := GroupNorm(x, 4, nil, nil, 1e-5)
	ln, _, _ := LayerNorm(x, nil, nil, 1e-5)
	want := make([]float64, ln.Len())
	for i, v := range ln.Data() {
		want[i] = float64(v)
	}
	assertClose(t, "groups=C", gn.Data(), want, 1e-5)
	gn1, _, _ := GroupNorm(x, 1, nil, nil, 1e-5)
	ln1, _, _ := LayerNorm(x.Reshape(3, 20), nil, nil, 1e-5)
	for i, v := range ln1.Data() {
		want[i] = float64(v)
	}
	assertClose(t, "groups=1", gn1.Data(), want, 1e-5)
}

func TestNormPanicsOnBadShapes(t *testing.T) {
	cases := []struct {
		name string
		f    func()
	}{
		{"ln-gamma", func() { LayerNorm(Zeros(2, 3), Zeros(4), nil, 1e-5) }},
		{"gn-groups", func() { GroupNorm(Zeros(2, 6, 3), 4, nil, nil, 1e-5) }},
		{"gn-rank", func() { GroupNorm(Zeros(6), 2, nil, nil, 1e-5) }},
		{"gn-beta", func() { GroupNorm(Zeros(2, 6), 2, nil, Zeros(5), 1e-5) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			c.f()
		})
	}
}

func BenchmarkLayerNorm(b *testing.B) {
	for _, d := range []int{64, 768} {
		rows := 2048
		rng := NewRNG(1)
		x := RandN(rng, rows, d)
		g, be := RandN(rng, d), RandN(rng, d)
		b.Run(map[int]string{64: "2048x64", 768: "2048x768"}[d], func(b *testing.B) {
			for b.Loop() {
				LayerNorm(x, g, be, 1e-5)
			}
			// read x, write out: 8 bytes per element
			b.ReportMetric(float64(8*rows*d)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
		b.Run(map[int]string{64: "2048x64", 768: "2048x768"}[d]+"-backward", func(b *testing.B) {
			out, mean, rstd := LayerNorm(x, g, be, 1e-5)
			for b.Loop() {
				LayerNormBackward(out, x, g, mean, rstd, true)
			}
			b.ReportMetric(float64(12*rows*d)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
	}
}

// TestNormBackwardParallelMatchesSerial runs the backward kernels on inputs
// large enough to be split over goroutines and compares them with the same
// kernels applied to small (serial) slices of rows: dx must agree exactly,
// dgamma/dbeta (summed over rows in a different order) closely.
func TestNormBackwardParallelMatchesSerial(t *testing.T) {
	rng := NewRNG(4)
	rows, d := 2048, 64
	x, gout := RandN(rng, rows, d), RandN(rng, rows, d)
	g := RandN(rng, d)
	_, mean, rstd := LayerNorm(x, g, nil, 1e-5)
	dx, dg, db := LayerNormBackward(gout, x, g, mean, rstd, true)
	wantG, wantB := make([]float64, d), make([]float64, d)
	const chunk = 16
	for r := 0; r < rows; r += chunk {
		sx, sg := x.Slice(0, r, r+chunk), gout.Slice(0, r, r+chunk)
		sdx, sdg, sdb := LayerNormBackward(sg, sx, g, mean.Slice(0, r, r+chunk), rstd.Slice(0, r, r+chunk), true)
		for i, v := range sdx.Data() {
			if dx.Data()[r*d+i] != v {
				t.Fatalf("LayerNorm dx row %d differs: %g vs %g", r+i/d, dx.Data()[r*d+i], v)
			}
		}
		for j := 0; j < d; j++ {
			wantG[j] += float64(sdg.Data()[j])
			wantB[j] += float64(sdb.Data()[j])
		}
	}
	assertClose(t, "dgamma", dg.Data(), wantG, 1e-4)
	assertClose(t, "dbeta", db.Data(), wantB, 1e-4)

	// GroupNorm [256, 32, 16] with 8 groups against per-sample calls.
	xg, gg := RandN(rng, 256, 32, 16), RandN(rng, 256, 32, 16)
	gam := RandN(rng, 32)
	_, gm, gr := GroupNorm(xg, 8, gam, nil, 1e-5)
	gdx, _, _ := GroupNormBackward(gg, xg, 8, gam, gm, gr, false)
	for n := 0; n < 256; n += 37 {
		sdx, _, _ := GroupNormBackward(gg.Slice(0, n, n+1), xg.Slice(0, n, n+1), 8, gam, gm.Slice(0, n, n+1), gr.Slice(0, n, n+1), false)
		for i, v := range sdx.Data() {
			if gdx.Data()[n*512+i] != v {
				t.Fatalf("GroupNorm dx sample %d differs", n)
			}
		}
	}
}
