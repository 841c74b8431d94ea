package gnn

import (
	"fmt"
	"math"
	"runtime"

	"github.com/nagml/nag/internal/par"
	"github.com/nagml/nag/tensor"
	"gonum.org/v1/gonum/blas"
)

// CATEScorer evaluates a CATE in eval mode without a tape, reusing its
// buffers from call to call: the hot loop of sampling (two evaluations per
// PC timestep). It computes exactly what Forward computes with a nil tape
// and Train unset, without the intermediate allocations and copies: the
// attention reads q, k, v as strided views and writes its heads straight
// into the node-state layout, LayerNorm outputs go directly into the
// readout's concatenation buffer, and bias-free activations run in place.
//
// It reads the network's current parameter values on every call. A scorer
// is not safe for concurrent use; make one per goroutine.
type CATEScorer struct {
	m                  *CATE
	b                  int // batch size the buffers are sized for
	h, a, q, k, v, att *tensor.Tensor
	ff, cat            *tensor.Tensor
	probs              *tensor.Tensor
	tIn, tHid, tOut    *tensor.Tensor
	read               []*tensor.Tensor
}

// NewScorer returns a scorer for m.
func (m *CATE) NewScorer() *CATEScorer { return &CATEScorer{m: m} }

func (s *CATEScorer) alloc(b int) {
	c := s.m.cfg
	r, d := b*c.Nodes, c.DModel
	s.b = b
	s.h, s.a = tensor.Zeros(r, d), tensor.Zeros(r, d)
	s.q, s.k, s.v, s.att = tensor.Zeros(r, d), tensor.Zeros(r, d), tensor.Zeros(r, d), tensor.Zeros(r, d)
	s.ff = tensor.Zeros(r, c.DFF)
	s.cat = tensor.Zeros(r, c.Layers*d)
	s.probs = tensor.Zeros(b, c.Heads, c.Nodes, c.Nodes)
	s.tHid, s.tOut = tensor.Zeros(b, c.TimeHidden), tensor.Zeros(b, d)
	s.read = s.read[:0]
	for _, l := range s.m.read {
		s.read = append(s.read, tensor.Zeros(r, l.Out))
	}
}

// Score returns the score [B, N, V] of x [B, N, V] at time inputs sigma
// with the attention mask ([N, N] or [B, N, N]). The result is a buffer of
// the scorer, overwritten by the next call.
func (s *CATEScorer) Score(x *tensor.Tensor, sigma []float32, mask *tensor.Tensor) *tensor.Tensor {
	m, c := s.m, s.m.cfg
	sh := x.Shape()
	if len(sh) != 3 || sh[1] != c.Nodes || sh[2] != c.Vocab {
		panic(fmt.Sprintf("gnn: CATE input shape %v, want [B %d %d]", sh, c.Nodes, c.Vocab))
	}
	b, n, d := sh[0], c.Nodes, c.DModel
	if len(sigma) != b {
		panic(fmt.Sprintf("gnn: CATE got %d time inputs for a batch of %d", len(sigma), b))
	}
	if s.b != b {
		s.alloc(b)
	}
	rows := b * n
	xr := x.Contiguous().Reshape(rows, c.Vocab)

	// Embedding ·√d + positional encoding + time embedding.
	tensor.LinearInto(s.h, xr, m.embed.Weight.Value, m.embed.Bias.Value)
	temb := TimestepEmbedding(sigma, d)
	tensor.LinearActInto(s.tHid, temb, m.time0.Weight.Value, m.time0.Bias.Value, tensor.ActSiLU)
	tensor.LinearInto(s.tOut, s.tHid, m.time1.Weight.Value, m.time1.Bias.Value)
	hd, pe, td := s.h.Data(), m.pe.Data(), s.tOut.Data()
	sq := float32(math.Sqrt(float64(d)))
	for r := 0; r < rows; r++ {
		row, p, t := hd[r*d:(r+1)*d], pe[(r%n)*d:(r%n+1)*d], td[(r/n)*d:(r/n+1)*d]
		for j := range row {
			row[j] = row[j]*sq + p[j] + t[j]
		}
	}

	hdim := d / c.Heads
	scale := float32(1 / math.Sqrt(float64(hdim)))
	heads := func(t *tensor.Tensor) *tensor.Tensor { return t.Reshape(b, n, c.Heads, hdim).Permute(0, 2, 1, 3) }
	catW := c.Layers * d
	for l, blk := range m.blocks {
		layerNormRows(s.a.Data(), d, hd, d, blk.ln1)
		at := blk.attn
		tensor.LinearInto(s.q, s.a, at.Q.Weight.Value, at.Q.Bias.Value)
		tensor.LinearInto(s.k, s.a, at.K.Weight.Value, at.K.Bias.Value)
		tensor.LinearInto(s.v, s.a, at.V.Weight.Value, at.V.Bias.Value)
		tensor.MaskedAttentionInto(heads(s.att), s.probs, heads(s.q), heads(s.k), heads(s.v), mask, nil, scale)
		linearAccumulate(s.h, s.att, at.Out)
		layerNormRows(s.a.Data(), d, hd, d, blk.ln2)
		tensor.LinearActInto(s.ff, s.a, blk.ff1.Weight.Value, blk.ff1.Bias.Value, tensor.ActReLU)
		linearAccumulate(s.h, s.ff, blk.ff2)
		layerNormRows(s.cat.Data()[l*d:], catW, hd, d, blk.lnOut)
	}
	in := s.cat
	for i, l := range m.read {
		act := tensor.ActELU
		if i == len(m.read)-1 {
			act = tensor.ActNone
		}
		tensor.LinearActInto(s.read[i], in, l.Weight.Value, l.Bias.Value, act)
		in = s.read[i]
	}
	return in.Reshape(b, n, c.Vocab)
}

// linearAccumulate adds the linear layer's output to dst in place,
// dst += x·Wᵀ + b (dst and x contiguous [rows, Out] and [rows, In]): the
// residual connection folded into the GEMM (beta = 1) and its bias
// epilogue, so the branch output never goes through memory on its own.
func linearAccumulate(dst, x *tensor.Tensor, l *Linear) {
	rows := x.Len() / l.In
	xd, dd, wd := x.Data(), dst.Data(), l.Weight.Value.Contiguous().Data()
	var bias []float32
	if l.Bias != nil {
		bias = l.Bias.Value.Contiguous().Data()
	}
	if fb, ok := tensor.Default().(tensor.FusedLinearBackend); ok {
		fb.SgemmBiasAct(blas.NoTrans, blas.Trans, rows, l.Out, l.In, 1, xd, l.In, wd, l.In, 1, dd, l.Out, bias, tensor.ActNone)
		return
	}
	tensor.Default().Sgemm(blas.NoTrans, blas.Trans, rows, l.Out, l.In, 1, xd, l.In, wd, l.In, 1, dd, l.Out)
	if bias != nil {
		parallelRows(rows, 256, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				row := dd[r*l.Out : (r+1)*l.Out]
				for j, bv := range bias[:len(row)] {
					row[j] += bv
				}
			}
		})
	}
}

// parallelRows splits rows 0..n-1 into one contiguous chunk per CPU (at
// most GOMAXPROCS, and none below minRows rows) and runs f on them, the
// first chunk on the calling goroutine.
func parallelRows(n, minRows int, f func(lo, hi int)) {
	runWorkers(min(runtime.GOMAXPROCS(0), n/max(minRows, 1)), n, func(_, lo, hi int) { f(lo, hi) })
}

// layerNormRows normalises each d-wide row of src (rows packed densely) and
// writes row r to dst[r·ldd : r·ldd+d], with LayerNorm's affine and eps.
// Statistics are two-pass in float32 (rows are short) with four
// independent accumulators.
func layerNormRows(dst []float32, ldd int, src []float32, d int, ln *LayerNorm) {
	g, bb := ln.Weight.Value.Data()[:d], ln.Bias.Value.Data()[:d]
	eps := ln.Eps
	parallelRows(len(src)/d, 256, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			row := src[r*d : (r+1)*d]
			mean, rstd := meanRstd(row, eps)
			out := dst[r*ldd : r*ldd+d]
			out = out[:len(row)]
			g, bb := g[:len(row)], bb[:len(row)]
			for j, v := range row {
				out[j] = (v-mean)*rstd*g[j] + bb[j]
			}
		}
	})
}

// meanRstd returns the mean of row and 1/sqrt(biased variance + eps), in
// two passes with four accumulators each.
func meanRstd(row []float32, eps float32) (mean, rstd float32) {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(row); i += 4 {
		r := row[i : i+4 : i+4]
		s0 += r[0]
		s1 += r[1]
		s2 += r[2]
		s3 += r[3]
	}
	for ; i < len(row); i++ {
		s0 += row[i]
	}
	inv := 1 / float32(len(row))
	mean = ((s0 + s1) + (s2 + s3)) * inv
	s0, s1, s2, s3 = 0, 0, 0, 0
	i = 0
	for ; i+4 <= len(row); i += 4 {
		r := row[i : i+4 : i+4]
		d0, d1, d2, d3 := r[0]-mean, r[1]-mean, r[2]-mean, r[3]-mean
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < len(row); i++ {
		dv := row[i] - mean
		s0 += dv * dv
	}
	v := ((s0 + s1) + (s2 + s3)) * inv
	return mean, float32(1 / math.Sqrt(float64(v+eps)))
}

// maxWorkers is the number of goroutines a row-parallel loop may use.
func maxWorkers() int { return runtime.GOMAXPROCS(0) }

// runWorkers splits rows 0..n-1 into w contiguous chunks and runs
// f(worker, lo, hi) on each, chunk 0 on the calling goroutine.
func runWorkers(w, n int, f func(w, lo, hi int)) {
	if w <= 1 {
		f(0, 0, n)
		return
	}
	par.Do(w, func(i int) { f(i, i*n/w, (i+1)*n/w) })
}
