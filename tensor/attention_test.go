package tensor

import (
	"math"
	"testing"
)

// naiveAttention is a float64 reference written as the reference model does
// it: scores = q·kᵀ·scale, masked_fill(mask == 0, -1e9), softmax over keys,
// optional dropout factors, then ·v. mask is [B][N][N] (nil = none), keep
// is the flat [B, H, N, N] factor slice (nil = none).
func naiveAttention(q, k, v *Tensor, mask [][][]float32, keep []float32, scale float64) (out, probs []float64) {
	s := q.Shape()
	B, H, N, D := s[0], s[1], s[2], s[3]
	out = make([]float64, B*H*N*D)
	probs = make([]float64, B*H*N*N)
	sc := make([]float64, N)
	for b := 0; b < B; b++ {
		for h := 0; h < H; h++ {
			for i := 0; i < N; i++ {
				mx := math.Inf(-1)
				for j := 0; j < N; j++ {
					var dot float64
					for d := 0; d < D; d++ {
						dot += float64(q.At(b, h, i, d)) * float64(k.At(b, h, j, d))
					}
					sc[j] = dot * scale
					if mask != nil && mask[b][i][j] == 0 {
						sc[j] = -1e9
					}
					mx = math.Max(mx, sc[j])
				}
				var sum float64
				for j := range sc {
					sc[j] = math.Exp(sc[j] - mx)
					sum += sc[j]
				}
				for j := range sc {
					p := sc[j] / sum
					pi := ((b*H+h)*N+i)*N + j
					probs[pi] = p
					if keep != nil {
						p *= float64(keep[pi])
					}
					for d := 0; d < D; d++ {
						out[((b*H+h)*N+i)*D+d] += p * float64(v.At(b, h, j, d))
					}
				}
			}
		}
	}
	return out, probs
}

// randMask returns a random 0/1 mask [B][N][N] with query row 0 of every
// graph fully masked (the all-masked case) and its tensor form.
func randMask(rng *RNG, b, n int) ([][][]float32, *Tensor) {
	m := make([][][]float32, b)
	t := Zeros(b, n, n)
	for g := range m {
		m[g] = make([][]float32, n)
		for i := range m[g] {
			m[g][i] = make([]float32, n)
			for j := range m[g][i] {
				if i > 0 && rng.Float32() < 0.5 {
					m[g][i][j] = 1
					t.Set(1, g, i, j)
				}
			}
		}
	}
	return m, t
}

func TestAttnExp(t *testing.T) {
	for x := -87.0; x <= 88; x += 0.01237 {
		got := float64(attnExp(float32(x)))
		want := math.Exp(float64(float32(x)))
		if e := math.Abs(got-want) / want; e > 4e-7 {
			t.Fatalf("attnExp(%g) = %g, want %g (rel err %.3g)", x, got, want, e)
		}
	}
	for _, x := range []float32{-88, -1e9, -1e9 + 5, float32(math.Inf(-1))} {
		if got := attnExp(x); got != 0 {
			t.Fatalf("attnExp(%g) = %g, want exactly 0", x, got)
		}
	}
	if got := attnExp(0); got != 1 {
		t.Fatalf("attnExp(0) = %g, want 1", got)
	}
}

func TestMaskedAttentionMatchesNaive(t *testing.T) {
	rng := NewRNG(7)
	cases := []struct {
		name       string
		b, h, n, d int
		maskKind   string // "none", "shared" [N,N], "batch" [B,N,N], "batch4" [B,1,N,N]
	}{
		{"no-mask", 2, 3, 5, 4, "none"},
		{"shared-mask", 3, 2, 8, 8, "shared"},
		{"batch-mask", 4, 2, 8, 8, "batch"},
		{"batch4-mask", 2, 2, 20, 8, "batch4"},
		{"parallel", 64, 8, 8, 8, "batch"},
		{"odd-d", 2, 1, 3, 5, "batch"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q, k, v := RandN(rng, c.b, c.h, c.n, c.d), RandN(rng, c.b, c.h, c.n, c.d), RandN(rng, c.b, c.h, c.n, c.d)
			var mask *Tensor
			var mm [][][]float32
			switch c.maskKind {
			case "shared":
				m1, t1 := randMask(rng, 1, c.n)
				mask = t1.Reshape(c.n, c.n)
				for g := 0; g < c.b; g++ {
					mm = append(mm, m1[0])
				}
			case "batch":
				mm, mask = randMask(rng, c.b, c.n)
			case "batch4":
				mm, mask = randMask(rng, c.b, c.n)
				mask = mask.Reshape(c.b, 1, c.n, c.n)
			}
			scale := 1 / math.Sqrt(float64(c.d))
			out, probs := MaskedAttention(q, k, v, mask, float32(scale))
			wo, wp := naiveAttention(q, k, v, mm, nil, scale)
			assertClose(t, "out", out.Data(), wo, 2e-5)
			assertClose(t, "probs", probs.Data(), wp, 2e-6)
			pd := probs.Data()
			for g := range mm {
				for h := 0; h < c.h; h++ {
					for i := 0; i < c.n; i++ {
						allMasked := true
						for j := 0; j < c.n; j++ {
							if mm[g][i][j] != 0 {
								allMasked = false
							}
						}
						for j := 0; j < c.n; j++ {
							p := pd[((g*c.h+h)*c.n+i)*c.n+j]
							switch {
							case allMasked && math.Abs(float64(p)-1/float64(c.n)) > 1e-6:
								t.Fatalf("all-masked row g%d h%d i%d: weight %g, want uniform %g", g, h, i, p, 1/float64(c.n))
							case !allMasked && mm[g][i][j] == 0 && p != 0:
								t.Fatalf("masked key g%d h%d i%d j%d has weight %g, want exactly 0", g, h, i, j, p)
							}
						}
					}
				}
			}
		})
	}
}

func TestMaskedAttentionStridedViews(t *testing.T) {
	// q, k, v as permuted views of [B, N, H, D] buffers (the layout a linear
	// layer produces) and the output written through a permuted view.
	rng := NewRNG(8)
	B, N, H, D := 5, 8, 4, 8
	qb, kb, vb := RandN(rng, B, N, H, D), RandN(rng, B, N, H, D), RandN(rng, B, N, H, D)
	q, k, v := qb.Permute(0, 2, 1, 3), kb.Permute(0, 2, 1, 3), vb.Permute(0, 2, 1, 3)
	_, mask := randMask(rng, B, N)
	wantOut, wantProbs := MaskedAttention(q.Contiguous(), k.Contiguous(), v.Contiguous(), mask, 0.3)
	outBuf := Zeros(B, N, H, D)
	probs := Zeros(B, H, N, N)
	MaskedAttentionInto(outBuf.Permute(0, 2, 1, 3), probs, q, k, v, mask, nil, 0.3)
	got := outBuf.Permute(0, 2, 1, 3).Contiguous().Data()
	for i, w := range wantOut.Data() {
		if got[i] != w {
			t.Fatalf("strided out[%d] = %g, contiguous %g", i, got[i], w)
		}
	}
	for i, w := range wantProbs.Data() {
		if probs.Data()[i] != w {
			t.Fatalf("strided probs[%d] = %g, contiguous %g", i, probs.Data()[i], w)
		}
	}

	// Backward through strided views equals the contiguous backward.
	gout := RandN(rng, B, H, N, D)
	keep := AttentionDropoutKeep(rng, 0.25, B, H, N, N)
	MaskedAttentionInto(outBuf.Permute(0, 2, 1, 3), probs, q, k, v, mask, keep, 0.3)
	dq, dk, dv := MaskedAttentionBackward(gout, q.Contiguous(), k.Contiguous(), v.Contiguous(), mask, probs, keep, 0.3)
	dqb, dkb, dvb := Zeros(B, N, H, D), Zeros(B, N, H, D), Zeros(B, N, H, D)
	gb := gout.Permute(0, 2, 1, 3).Contiguous() // [B, N, H, D]
	MaskedAttentionBackwardInto(dqb.Permute(0, 2, 1, 3), dkb.Permute(0, 2, 1, 3), dvb.Permute(0, 2, 1, 3),
		gb.Permute(0, 2, 1, 3), q, k, v, mask, probs, keep, 0.3)
	for name, pair := range map[string][2]*Tensor{"dq": {dq, dqb}, "dk": {dk, dkb}, "dv": {dv, dvb}} {
		g := pair[1].Permute(0, 2, 1, 3).Contiguous().Data()
		for i, w := range pair[0].Data() {
			if g[i] != w {
				t.Fatalf("%s strided[%d] = %g, contiguous %g", name, i, g[i], w)
			}
		}
	}
}

func TestMaskedAttentionDropout(t *testing.T) {
	rng := NewRNG(9)
	B, H, N, D := 3, 2, 8, 8
	keep := AttentionDropoutKeep(NewRNG(11), 0.25, B, H, N, N)
	zeros := 0
	for _, f := range keep.Data() {
		switch f {
		case 0:
			zeros++
		case 1 / 0.75:
		default:
			t.Fatalf("keep factor %g, want 0 or %g", f, 1/0.75)
		}
	}
	if frac := float64(zeros) / float64(keep.Len()); frac < 0.18 || frac > 0.32 {
		t.Fatalf("dropped fraction %.3f, want about 0.25", frac)
	}
	again := AttentionDropoutKeep(NewRNG(11), 0.25, B, H, N, N)
	for i, f := range again.Data() {
		if f != keep.Data()[i] {
			t.Fatal("same seed gave a different dropout mask")
		}
	}
	q, k, v := RandN(rng, B, H, N, D), RandN(rng, B, H, N, D), RandN(rng, B, H, N, D)
	mm, mask := randMask(rng, B, N)
	out, probs := Zeros(B, H, N, D), Zeros(B, H, N, N)
	MaskedAttentionInto(out, probs, q, k, v, mask, keep, 0.5)
	wo, wp := naiveAttention(q, k, v, mm, keep.Data(), 0.5)
	assertClose(t, "out", out.Data(), wo, 2e-5)
	assertClose(t, "probs (pre-dropout)", probs.Data(), wp, 2e-6)
}

func TestMaskedAttentionPanics(t *testing.T) {
	q := Zeros(2, 2, 4, 8)
	cases := []struct {
		name string
		f    func()
	}{
		{"rank", func() { MaskedAttention(Zeros(2, 4, 8), Zeros(2, 4, 8), Zeros(2, 4, 8), nil, 1) }},
		{"kv-shape", func() { MaskedAttention(q, Zeros(2, 2, 5, 8), q, nil, 1) }},
		{"mask-n", func() { MaskedAttention(q, q, q, Zeros(5, 5), 1) }},
		{"mask-batch", func() { MaskedAttention(q, q, q, Zeros(3, 4, 4), 1) }},
		{"dropout-p", func() { AttentionDropoutKeep(NewRNG(1), 1, 2) }},
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

// attnFlops is the multiply-add count ×2 of attention on [B,H,N,D]:
// QKᵀ and P·V, each 2·N·N·D per (graph, head).
func attnFlops(b, h, n, d int) float64 { return float64(b*h) * 4 * float64(n*n*d) }

func BenchmarkMaskedAttention(b *testing.B) {
	B, H, N, D := 256, 8, 8, 8
	rng := NewRNG(1)
	q, k, v := RandN(rng, B, H, N, D), RandN(rng, B, H, N, D), RandN(rng, B, H, N, D)
	_, mask := randMask(rng, B, N)
	out, probs := Zeros(B, H, N, D), Zeros(B, H, N, N)
	b.Run("forward", func(b *testing.B) {
		for b.Loop() {
			MaskedAttentionInto(out, probs, q, k, v, mask, nil, 0.35)
		}
		b.ReportMetric(attnFlops(B, H, N, D)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	b.Run("unfused-ops-forward", func(b *testing.B) {
		// The same computation with separate ops (batched MatMul, MaskedFill,
		// Softmax, MatMul), as a baseline for the fused kernel.
		inv := Zeros(B, 1, N, N)
		for i, m := range mask.Data() {
			if m == 0 {
				inv.Data()[i] = 1
			}
		}
		for b.Loop() {
			s := Scale(MatMulT(q, k, false, true), 0.35)
			p := Softmax(MaskedFill(s, inv, MaskedScore), -1)
			MatMul(p, v)
		}
		b.ReportMetric(attnFlops(B, H, N, D)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	b.Run("forward+backward", func(b *testing.B) {
		gout := RandN(rng, B, H, N, D)
		dq, dk, dv := Zeros(B, H, N, D), Zeros(B, H, N, D), Zeros(B, H, N, D)
		for b.Loop() {
			MaskedAttentionInto(out, probs, q, k, v, mask, nil, 0.35)
			MaskedAttentionBackwardInto(dq, dk, dv, gout, q, k, v, mask, probs, nil, 0.35)
		}
		// backward: dV, dP, dQ, dK are 4 more products of the same size.
		b.ReportMetric(3*attnFlops(B, H, N, D)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}
