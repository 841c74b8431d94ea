package gnn

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/nagml/nag/tensor"
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
	m                       *CATE
	b                       int // batch size the buffers are sized for
	h, a, q, k, v, att, tmp *tensor.Tensor
	ff, cat                 *tensor.Tensor
	probs                   *tensor.Tensor
	tIn, tHid, tOut         *tensor.Tensor
	read                    []*tensor.Tensor
}

// NewScorer returns a scorer for m.
func (m *CATE) NewScorer() *CATEScorer { return &CATEScorer{m: m} }

func (s *CATEScorer) alloc(b int) {
	c := s.m.cfg
	r, d := b*c.Nodes, c.DModel
	s.b = b
	s.h, s.a, s.tmp = tensor.Zeros(r, d), tensor.Zeros(r, d), tensor.Zeros(r, d)
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
	tensor.LinearInto(s.tHid, temb, m.time0.Weight.Value, m.time0.Bias.Value)
	tensor.SiLUInto(s.tHid, s.tHid)
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
		tensor.LinearInto(s.tmp, s.att, at.Out.Weight.Value, at.Out.Bias.Value)
		addInPlace(hd, s.tmp.Data())
		layerNormRows(s.a.Data(), d, hd, d, blk.ln2)
		tensor.LinearInto(s.ff, s.a, blk.ff1.Weight.Value, blk.ff1.Bias.Value)
		tensor.ReLUInto(s.ff, s.ff)
		tensor.LinearInto(s.tmp, s.ff, blk.ff2.Weight.Value, blk.ff2.Bias.Value)
		addInPlace(hd, s.tmp.Data())
		layerNormRows(s.cat.Data()[l*d:], catW, hd, d, blk.lnOut)
	}
	in := s.cat
	for i, l := range m.read {
		tensor.LinearInto(s.read[i], in, l.Weight.Value, l.Bias.Value)
		if i < len(m.read)-1 {
			eluInPlace(s.read[i].Data())
		}
		in = s.read[i]
	}
	return in.Reshape(b, n, c.Vocab)
}

// parallelRows splits rows 0..n-1 into one contiguous chunk per CPU (at
// most GOMAXPROCS, and none below minRows rows) and runs f on them.
func parallelRows(n, minRows int, f func(lo, hi int)) {
	w := min(runtime.GOMAXPROCS(0), n/minRows)
	if w <= 1 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	for i := 0; i < w; i++ {
		lo, hi := i*n/w, (i+1)*n/w
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(lo, hi)
		}()
	}
	wg.Wait()
}

func addInPlace(dst, src []float32) {
	src = src[:len(dst)]
	parallelRows(len(dst), 1<<14, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			dst[i] += src[i]
		}
	})
}

func eluInPlace(x []float32) {
	parallelRows(len(x), 1<<14, func(lo, hi int) {
		for i, v := range x[lo:hi] {
			if v <= 0 {
				x[lo+i] = expf(v) - 1
			}
		}
	})
}

// layerNormRows normalises each d-wide row of src (rows packed densely) and
// writes row r to dst[r·ldd : r·ldd+d], with LayerNorm's affine and eps.
// Statistics are two-pass in float32 (rows are short).
func layerNormRows(dst []float32, ldd int, src []float32, d int, ln *LayerNorm) {
	g, bb := ln.Weight.Value.Data()[:d], ln.Bias.Value.Data()[:d]
	eps := ln.Eps
	inv := 1 / float32(d)
	parallelRows(len(src)/d, 256, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			row := src[r*d : (r+1)*d]
			var sum float32
			for _, v := range row {
				sum += v
			}
			mean := sum * inv
			var ss float32
			for _, v := range row {
				dv := v - mean
				ss += dv * dv
			}
			rstd := float32(1 / math.Sqrt(float64(ss*inv+eps)))
			out := dst[r*ldd : r*ldd+d]
			for j, v := range row {
				out[j] = (v-mean)*rstd*g[j] + bb[j]
			}
		}
	})
}
