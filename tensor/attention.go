package tensor

import (
	"fmt"
	"math"
)

// MaskedScore is the value a masked attention score is replaced with before
// the softmax, as the reference's scores.masked_fill(mask == 0, -1e9). A
// query whose keys are all masked therefore attends uniformly to all keys.
const MaskedScore = -1e9

// attnExp is a fast float32 exp for x <= 88 with a relative error of a few
// ulp. Arguments below -87.3 (where the true result is at most 1.2e-38, the
// smallest normal float32) return exactly 0, so masked scores (-1e9 minus
// the row maximum) get exactly zero weight.
func attnExp(x float32) float32 {
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375
		ln2lo = -2.12194440e-4
	)
	if x < -87.33654 {
		return 0
	}
	if x > 88 {
		return float32(math.Exp(float64(x)))
	}
	kf := x * log2e
	// round to nearest
	var k int32
	if kf >= 0 {
		k = int32(kf + 0.5)
	} else {
		k = int32(kf - 0.5)
	}
	fk := float32(k)
	r := x - fk*ln2hi - fk*ln2lo
	// e^r on |r| <= 0.35 by Taylor to degree 7 (truncation error < 1e-8).
	p := float32(1.0 / 5040)
	p = p*r + 1.0/720
	p = p*r + 1.0/120
	p = p*r + 1.0/24
	p = p*r + 1.0/6
	p = p*r + 0.5
	p = p*r + 1
	p = p*r + 1
	if k < -126 {
		// 2^k is subnormal; split the scaling in two normal factors.
		return p * math.Float32frombits(uint32(k+126+127)<<23) * math.Float32frombits(uint32(-126+127)<<23)
	}
	return p * math.Float32frombits(uint32(k+127)<<23)
}

// attnDims validates a [B, H, N, D] tensor and returns its dimensions.
func attnDims(op, name string, t *Tensor) (b, h, n, d int) {
	if t.Rank() != 4 {
		panic(fmt.Sprintf("tensor: %s %s has shape %v, want [B, H, N, D]", op, name, t.Shape()))
	}
	s := t.Shape()
	return s[0], s[1], s[2], s[3]
}

// attnShapes checks that q, k, v agree and returns B, H, N, D.
func attnShapes(op string, q, k, v *Tensor) (b, h, n, d int) {
	b, h, n, d = attnDims(op, "q", q)
	if !EqualInts(k.Shape(), q.Shape()) || !EqualInts(v.Shape(), q.Shape()) {
		panic(fmt.Sprintf("tensor: %s shapes q %v, k %v, v %v must be equal [B, H, N, D]", op, q.Shape(), k.Shape(), v.Shape()))
	}
	return b, h, n, d
}

// attnMask validates a 0/1 mask for B graphs of N nodes and returns its
// contiguous data and the stride between graphs (0 when shared). Accepted
// shapes: [N, N], [1 or B, N, N], [1 or B, 1, N, N]. A nil mask returns nil
// (every query may attend to every key).
func attnMask(op string, mask *Tensor, b, n int) (data []float32, gstride int) {
	if mask == nil {
		return nil, 0
	}
	s := mask.Shape()
	ok := false
	batch := 1
	switch len(s) {
	case 2:
		ok = s[0] == n && s[1] == n
	case 3:
		ok = (s[0] == 1 || s[0] == b) && s[1] == n && s[2] == n
		batch = s[0]
	case 4:
		ok = (s[0] == 1 || s[0] == b) && s[1] == 1 && s[2] == n && s[3] == n
		batch = s[0]
	}
	if !ok {
		panic(fmt.Sprintf("tensor: %s mask shape %v, want [N, N], [B, N, N] or [B, 1, N, N] with B=%d N=%d", op, s, b, n))
	}
	if batch > 1 {
		gstride = n * n
	}
	return mask.Contiguous().Data(), gstride
}

// attnTile addresses the [N, D] slab of a [B, H, N, D] view for one (b, h).
type attnTile struct {
	data          []float32
	base, sn, sd  int
	n, d          int
	dense         bool // rows are contiguous and adjacent: data[base:base+n*d]
	strideB, strH int
}

func newAttnTile(t *Tensor) attnTile {
	s, st := t.Shape(), t.Strides()
	return attnTile{data: t.data, base: t.offset, sn: st[2], sd: st[3], n: s[2], d: s[3],
		dense: st[3] == 1 && st[2] == s[3], strideB: st[0], strH: st[1]}
}

// load returns the (b, h) slab as a dense [n*d] slice: a sub-slice of the
// storage when the view is dense, otherwise a copy into buf.
func (t attnTile) load(b, h int, buf []float32) []float32 {
	off := t.base + b*t.strideB + h*t.strH
	if t.dense {
		return t.data[off : off+t.n*t.d : off+t.n*t.d]
	}
	for i := 0; i < t.n; i++ {
		row := buf[i*t.d : (i+1)*t.d]
		o := off + i*t.sn
		if t.sd == 1 {
			copy(row, t.data[o:o+t.d])
			continue
		}
		for j := range row {
			row[j] = t.data[o+j*t.sd]
		}
	}
	return buf[:t.n*t.d]
}

// dst returns a dense slice to write the (b, h) slab into: the storage
// itself when dense, else buf (then store must be called).
func (t attnTile) dst(b, h int, buf []float32) []float32 {
	if t.dense {
		off := t.base + b*t.strideB + h*t.strH
		return t.data[off : off+t.n*t.d : off+t.n*t.d]
	}
	return buf[:t.n*t.d]
}

// store copies buf into the (b, h) slab of a non-dense view (no-op if dense).
func (t attnTile) store(b, h int, buf []float32) {
	if t.dense {
		return
	}
	off := t.base + b*t.strideB + h*t.strH
	for i := 0; i < t.n; i++ {
		row := buf[i*t.d : (i+1)*t.d]
		o := off + i*t.sn
		if t.sd == 1 {
			copy(t.data[o:o+t.d], row)
			continue
		}
		for j, v := range row {
			t.data[o+j*t.sd] = v
		}
	}
}

func attnDot(a, b []float32) float32 {
	if len(a) == 8 {
		return attnDot8((*[8]float32)(a), (*[8]float32)(b))
	}
	b = b[:len(a)]
	var s0, s1 float32
	i := 0
	for ; i+2 <= len(a); i += 2 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
	}
	if i < len(a) {
		s0 += a[i] * b[i]
	}
	return s0 + s1
}

func attnDot8(a, b *[8]float32) float32 {
	return (a[0]*b[0] + a[1]*b[1]) + (a[2]*b[2] + a[3]*b[3]) + (a[4]*b[4] + a[5]*b[5]) + (a[6]*b[6] + a[7]*b[7])
}

func attnAxpy(alpha float32, x, y []float32) {
	if len(y) == 8 {
		attnAxpy8(alpha, (*[8]float32)(x), (*[8]float32)(y))
		return
	}
	x = x[:len(y)]
	for i := range y {
		y[i] += alpha * x[i]
	}
}

func attnAxpy8(alpha float32, x, y *[8]float32) {
	y[0] += alpha * x[0]
	y[1] += alpha * x[1]
	y[2] += alpha * x[2]
	y[3] += alpha * x[3]
	y[4] += alpha * x[4]
	y[5] += alpha * x[5]
	y[6] += alpha * x[6]
	y[7] += alpha * x[7]
}

// MaskedAttention is fused scaled-dot-product attention for batches of tiny
// graphs. q, k, v are [B, H, N, D]; mask is a 0/1 matrix per graph ([N, N],
// [B, N, N] or [B, 1, N, N]; nil = no mask) where mask[i][j] = 0 forbids
// query i from attending to key j. For every (graph, head) it computes the
// scores scale·QKᵀ, replaces masked scores with MaskedScore (-1e9), takes a
// numerically stable softmax over keys and multiplies by V, in one pass
// without intermediate tensors. It returns out [B, H, N, D] and the
// attention weights probs [B, H, N, N]. Masked keys get exactly zero weight
// unless a query's row is entirely masked, in which case (as in the
// reference) the query attends uniformly to all N keys.
func MaskedAttention(q, k, v, mask *Tensor, scale float32) (out, probs *Tensor) {
	b, h, n, d := attnShapes("MaskedAttention", q, k, v)
	out = Zeros(b, h, n, d)
	probs = Zeros(b, h, n, n)
	MaskedAttentionInto(out, probs, q, k, v, mask, nil, scale)
	return out, probs
}

// AttentionDropoutKeep draws an attention-dropout mask of the given shape
// from rng: each element is 0 with probability p and 1/(1-p) otherwise
// (inverted dropout, as torch.nn.Dropout). Draws are sequential in
// row-major order, so the result depends only on the RNG state.
func AttentionDropoutKeep(rng *RNG, p float32, shape ...int) *Tensor {
	if p < 0 || p >= 1 {
		panic(fmt.Sprintf("tensor: attention dropout probability %g outside [0, 1)", p))
	}
	t := Zeros(shape...)
	keep := 1 / (1 - p)
	d := t.Data()
	for i := range d {
		if rng.Float32() >= p {
			d[i] = keep
		}
	}
	return t
}

// MaskedAttentionInto is MaskedAttention writing into out (any [B, H, N, D]
// view, e.g. a permuted view of a [B, N, H, D] buffer) and probs (a
// contiguous [B, H, N, N] tensor receiving the softmax weights before
// dropout). q, k and v may be strided views. keep is nil or a [B, H, N, N]
// dropout factor tensor from AttentionDropoutKeep: the weights used to mix V
// are then probs·keep. Work is spread over goroutines when B·H is large.
func MaskedAttentionInto(out, probs, q, k, v, mask, keep *Tensor, scale float32) {
	const op = "MaskedAttentionInto"
	b, h, n, d := attnShapes(op, q, k, v)
	if !EqualInts(out.Shape(), q.Shape()) {
		panic(fmt.Sprintf("tensor: %s out %v for q %v", op, out.Shape(), q.Shape()))
	}
	if !EqualInts(probs.Shape(), []int{b, h, n, n}) || !probs.IsContiguous() {
		panic(fmt.Sprintf("tensor: %s probs %v must be contiguous [%d %d %d %d]", op, probs.Shape(), b, h, n, n))
	}
	var kd []float32
	if keep != nil {
		if !EqualInts(keep.Shape(), probs.Shape()) {
			panic(fmt.Sprintf("tensor: %s keep %v, want %v", op, keep.Shape(), probs.Shape()))
		}
		kd = keep.Contiguous().Data()
	}
	md, mstride := attnMask(op, mask, b, n)
	if b*h*n == 0 {
		return
	}
	tq, tk, tv, to := newAttnTile(q), newAttnTile(k), newAttnTile(v), newAttnTile(out)
	pd := probs.Data()
	normParallelFor(b*h, 4*n*n*d+8*n*n, func(_, lo, hi int) {
		buf := make([]float32, 4*n*d)
		bq, bk, bv, bo := buf[:n*d], buf[n*d:2*n*d], buf[2*n*d:3*n*d], buf[3*n*d:]
		for bh := lo; bh < hi; bh++ {
			gb, hh := bh/h, bh%h
			Q, K, V := tq.load(gb, hh, bq), tk.load(gb, hh, bk), tv.load(gb, hh, bv)
			O := to.dst(gb, hh, bo)
			var M []float32
			if md != nil {
				M = md[gb*mstride : gb*mstride+n*n]
			}
			P := pd[bh*n*n : (bh+1)*n*n]
			var KP []float32
			if kd != nil {
				KP = kd[bh*n*n : (bh+1)*n*n]
			}
			if d == 8 {
				attnFwdTile8(Q, K, V, O, P, M, KP, n, scale)
			} else {
				attnFwdTile(Q, K, V, O, P, M, KP, n, d, scale)
			}
			to.store(gb, hh, O)
		}
	})
}

// attnSoftmaxRow turns the scores in prow into softmax weights in place,
// given their maximum. Scores more than 87.3 below the maximum (masked
// scores in a row with an unmasked key) get exactly 0.
func attnSoftmaxRow(prow []float32, mx float32) {
	var sum float32
	for j, s := range prow {
		var e float32
		if d := s - mx; d >= -87.33654 {
			e = attnExp(d)
		}
		prow[j] = e
		sum += e
	}
	inv := 1 / sum
	for j := range prow {
		prow[j] *= inv
	}
}

// attnFwdTile computes one (graph, head): Q, K, V, O are dense [n, d], P
// [n, n] receives the weights, M is the [n, n] 0/1 mask or nil, KP the
// [n, n] dropout factors or nil.
func attnFwdTile(Q, K, V, O, P, M, KP []float32, n, d int, scale float32) {
	for i := 0; i < n; i++ {
		qi := Q[i*d : (i+1)*d]
		prow := P[i*n : (i+1)*n]
		mx := float32(math.Inf(-1))
		for j := range prow {
			var s float32
			if M != nil && M[i*n+j] == 0 {
				s = MaskedScore
			} else {
				s = attnDot(qi, K[j*d:(j+1)*d]) * scale
			}
			prow[j] = s
			mx = max(mx, s)
		}
		attnSoftmaxRow(prow, mx)
		oi := O[i*d : (i+1)*d]
		clear(oi)
		for j, p := range prow {
			if KP != nil {
				p *= KP[i*n+j]
			}
			if p != 0 {
				attnAxpy(p, V[j*d:(j+1)*d], oi)
			}
		}
	}
}

// attnFwdTile8 is attnFwdTile specialised to d = 8 (the model's head width),
// keeping a query row and the output accumulator in registers.
func attnFwdTile8(Q, K, V, O, P, M, KP []float32, n int, scale float32) {
	_ = Q[n*8-1]
	_ = K[n*8-1]
	_ = V[n*8-1]
	_ = O[n*8-1]
	for i := 0; i < n; i++ {
		q := (*[8]float32)(Q[i*8:])
		prow := P[i*n : (i+1)*n]
		var mrow []float32
		if M != nil {
			mrow = M[i*n : (i+1)*n]
		}
		mx := float32(math.Inf(-1))
		for j := range prow {
			s := float32(MaskedScore)
			if mrow == nil || mrow[j] != 0 {
				k := (*[8]float32)(K[j*8:])
				s = ((q[0]*k[0] + q[1]*k[1]) + (q[2]*k[2] + q[3]*k[3]) + (q[4]*k[4] + q[5]*k[5]) + (q[6]*k[6] + q[7]*k[7])) * scale
			}
			prow[j] = s
			mx = max(mx, s)
		}
		attnSoftmaxRow(prow, mx)
		var o0, o1, o2, o3, o4, o5, o6, o7 float32
		for j, p := range prow {
			if KP != nil {
				p *= KP[i*n+j]
			}
			if p == 0 {
				continue
			}
			v := (*[8]float32)(V[j*8:])
			o0 += p * v[0]
			o1 += p * v[1]
			o2 += p * v[2]
			o3 += p * v[3]
			o4 += p * v[4]
			o5 += p * v[5]
			o6 += p * v[6]
			o7 += p * v[7]
		}
		o := (*[8]float32)(O[i*8:])
		o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7] = o0, o1, o2, o3, o4, o5, o6, o7
	}
}

// MaskedAttentionBackward returns the gradients of MaskedAttention (with
// optional dropout factors keep) with respect to q, k and v, given the
// upstream gradient gout [B, H, N, D] and the probs the forward returned.
// Masked scores were replaced by a constant, so they pass no gradient to q
// or k (also in an all-masked row).
func MaskedAttentionBackward(gout, q, k, v, mask, probs, keep *Tensor, scale float32) (dq, dk, dv *Tensor) {
	b, h, n, d := attnShapes("MaskedAttentionBackward", q, k, v)
	dq, dk, dv = Zeros(b, h, n, d), Zeros(b, h, n, d), Zeros(b, h, n, d)
	MaskedAttentionBackwardInto(dq, dk, dv, gout, q, k, v, mask, probs, keep, scale)
	return dq, dk, dv
}

// MaskedAttentionBackwardInto is MaskedAttentionBackward writing (not
// accumulating) into dq, dk, dv, which may be any [B, H, N, D] views. A nil
// destination skips that gradient.
func MaskedAttentionBackwardInto(dq, dk, dv, gout, q, k, v, mask, probs, keep *Tensor, scale float32) {
	const op = "MaskedAttentionBackwardInto"
	b, h, n, d := attnShapes(op, q, k, v)
	for _, t := range []*Tensor{dq, dk, dv, gout} {
		if t != nil && !EqualInts(t.Shape(), q.Shape()) {
			panic(fmt.Sprintf("tensor: %s gradient %v for q %v", op, t.Shape(), q.Shape()))
		}
	}
	if !EqualInts(probs.Shape(), []int{b, h, n, n}) {
		panic(fmt.Sprintf("tensor: %s probs %v, want [%d %d %d %d]", op, probs.Shape(), b, h, n, n))
	}
	var kd []float32
	if keep != nil {
		if !EqualInts(keep.Shape(), probs.Shape()) {
			panic(fmt.Sprintf("tensor: %s keep %v, want %v", op, keep.Shape(), probs.Shape()))
		}
		kd = keep.Contiguous().Data()
	}
	md, mstride := attnMask(op, mask, b, n)
	if b*h*n == 0 {
		return
	}
	pd := probs.Contiguous().Data()
	tq, tk, tv, tg := newAttnTile(q), newAttnTile(k), newAttnTile(v), newAttnTile(gout)
	var tdq, tdk, tdv attnTile
	if dq != nil {
		tdq = newAttnTile(dq)
	}
	if dk != nil {
		tdk = newAttnTile(dk)
	}
	if dv != nil {
		tdv = newAttnTile(dv)
	}
	normParallelFor(b*h, 8*n*n*d+8*n*n, func(_, lo, hi int) {
		nd := n * d
		buf := make([]float32, 7*nd+2*n)
		bq, bk, bv, bg := buf[:nd], buf[nd:2*nd], buf[2*nd:3*nd], buf[3*nd:4*nd]
		bdq, bdk, bdv := buf[4*nd:5*nd], buf[5*nd:6*nd], buf[6*nd:7*nd]
		dp, ds := buf[7*nd:7*nd+n], buf[7*nd+n:]
		for bh := lo; bh < hi; bh++ {
			gb, hh := bh/h, bh%h
			Q, K, V, G := tq.load(gb, hh, bq), tk.load(gb, hh, bk), tv.load(gb, hh, bv), tg.load(gb, hh, bg)
			var DQ, DK, DV []float32
			if dq != nil {
				DQ = tdq.dst(gb, hh, bdq)
				clear(DQ)
			}
			if dk != nil {
				DK = tdk.dst(gb, hh, bdk)
				clear(DK)
			}
			if dv != nil {
				DV = tdv.dst(gb, hh, bdv)
				clear(DV)
			}
			var M []float32
			if md != nil {
				M = md[gb*mstride : gb*mstride+n*n]
			}
			P := pd[bh*n*n : (bh+1)*n*n]
			var KP []float32
			if kd != nil {
				KP = kd[bh*n*n : (bh+1)*n*n]
			}
			if d == 8 {
				attnBwdTile8(Q, K, V, G, DQ, DK, DV, P, M, KP, ds, n, scale)
			} else {
				attnBwdTile(Q, K, V, G, DQ, DK, DV, P, M, KP, dp, ds, n, d, scale)
			}
			if dq != nil {
				tdq.store(gb, hh, DQ)
			}
			if dk != nil {
				tdk.store(gb, hh, DK)
			}
			if dv != nil {
				tdv.store(gb, hh, DV)
			}
		}
	})
}

// attnBwdTile is the backward of one (graph, head). Q, K, V, G (= dO) are
// dense [n, d]; DQ, DK, DV are zeroed dense [n, d] destinations or nil; P
// the forward weights, M the mask (or nil), KP the dropout factors (or
// nil); dp and ds are [n] scratch. With p̃ = p·keep:
//
//	dV_j += p̃_ij·dO_i,  dp_ij = (dO_i·V_j)·keep_ij,
//	ds_ij = p_ij·(dp_ij − Σ_j' p_ij'·dp_ij')·scale  (0 where masked),
//	dQ_i += ds_ij·K_j,  dK_j += ds_ij·Q_i.
//
// Entries with p̃ = 0 skip the dot product: their dp only ever meets p = 0
// (masked) or is 0 (dropped).
func attnBwdTile(Q, K, V, G, DQ, DK, DV, P, M, KP, dp, ds []float32, n, d int, scale float32) {
	for i := 0; i < n; i++ {
		gi := G[i*d : (i+1)*d]
		prow := P[i*n : (i+1)*n]
		var t float32
		for j, p := range prow {
			pt := p
			if KP != nil {
				pt *= KP[i*n+j]
			}
			var g float32
			if pt != 0 {
				if DV != nil {
					attnAxpy(pt, gi, DV[j*d:(j+1)*d])
				}
				g = attnDot(gi, V[j*d:(j+1)*d])
				if KP != nil {
					g *= KP[i*n+j]
				}
			}
			dp[j] = g
			t += p * g
		}
		if DQ == nil && DK == nil {
			continue
		}
		for j, p := range prow {
			if M != nil && M[i*n+j] == 0 {
				ds[j] = 0
			} else {
				ds[j] = p * (dp[j] - t) * scale
			}
		}
		qi := Q[i*d : (i+1)*d]
		for j, s := range ds[:n] {
			if s == 0 {
				continue
			}
			if DQ != nil {
				attnAxpy(s, K[j*d:(j+1)*d], DQ[i*d:(i+1)*d])
			}
			if DK != nil {
				attnAxpy(s, qi, DK[j*d:(j+1)*d])
			}
		}
	}
}

// attnBwdTile8 is attnBwdTile specialised to d = 8 with the dO, Q and dQ
// rows held in registers. ds is [n] scratch (dp is kept in ds).
func attnBwdTile8(Q, K, V, G, DQ, DK, DV, P, M, KP, ds []float32, n int, scale float32) {
	_ = Q[n*8-1]
	_ = K[n*8-1]
	_ = V[n*8-1]
	_ = G[n*8-1]
	for i := 0; i < n; i++ {
		g := (*[8]float32)(G[i*8:])
		g0, g1, g2, g3, g4, g5, g6, g7 := g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7]
		prow := P[i*n : (i+1)*n]
		dp := ds[:n]
		var t float32
		for j, p := range prow {
			pt := p
			if KP != nil {
				pt *= KP[i*n+j]
			}
			var gv float32
			if pt != 0 {
				if DV != nil {
					dv := (*[8]float32)(DV[j*8:])
					dv[0] += pt * g0
					dv[1] += pt * g1
					dv[2] += pt * g2
					dv[3] += pt * g3
					dv[4] += pt * g4
					dv[5] += pt * g5
					dv[6] += pt * g6
					dv[7] += pt * g7
				}
				v := (*[8]float32)(V[j*8:])
				gv = (g0*v[0] + g1*v[1]) + (g2*v[2] + g3*v[3]) + (g4*v[4] + g5*v[5]) + (g6*v[6] + g7*v[7])
				if KP != nil {
					gv *= KP[i*n+j]
				}
			}
			dp[j] = gv
			t += p * gv
		}
		if DQ == nil && DK == nil {
			continue
		}
		q := (*[8]float32)(Q[i*8:])
		q0, q1, q2, q3, q4, q5, q6, q7 := q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7]
		var a0, a1, a2, a3, a4, a5, a6, a7 float32
		for j, p := range prow {
			if M != nil && M[i*n+j] == 0 {
				continue
			}
			s := p * (dp[j] - t) * scale
			if s == 0 {
				continue
			}
			k := (*[8]float32)(K[j*8:])
			a0 += s * k[0]
			a1 += s * k[1]
			a2 += s * k[2]
			a3 += s * k[3]
			a4 += s * k[4]
			a5 += s * k[5]
			a6 += s * k[6]
			a7 += s * k[7]
			if DK != nil {
				dk := (*[8]float32)(DK[j*8:])
				dk[0] += s * q0
				dk[1] += s * q1
				dk[2] += s * q2
				dk[3] += s * q3
				dk[4] += s * q4
				dk[5] += s * q5
				dk[6] += s * q6
				dk[7] += s * q7
			}
		}
		if DQ != nil {
			dq := (*[8]float32)(DQ[i*8:])
			dq[0], dq[1], dq[2], dq[3], dq[4], dq[5], dq[6], dq[7] = a0, a1, a2, a3, a4, a5, a6, a7
		}
	}
}
