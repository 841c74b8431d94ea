package tensor

import (
	"fmt"
	"math"
	"runtime"

	"github.com/nagml/nag/internal/par"
)

// normParallelFor splits [0, n) into contiguous chunks and runs f on them in
// parallel when the total work (n*cost, in elements touched) is large enough
// to pay for goroutines; otherwise it runs f(0, n) inline. f receives the
// worker index w in [0, workers) so callers can keep per-worker scratch.
// It returns the number of workers used (at least 1).
func normParallelFor(n, cost int, f func(w, lo, hi int)) int {
	const minWork = 1 << 15 // elements per goroutine worth the spawn
	workers := runtime.GOMAXPROCS(0)
	if lim := n * cost / minWork; lim < workers {
		workers = lim
	}
	if workers > n {
		workers = n
	}
	if workers <= 1 {
		f(0, 0, n)
		return 1
	}
	chunk := (n + workers - 1) / workers
	used := (n + chunk - 1) / chunk
	par.Do(used, func(w int) { f(w, w*chunk, min((w+1)*chunk, n)) })
	return used
}

// normWorkers is the largest worker count normParallelFor can use.
func normWorkers() int { return runtime.GOMAXPROCS(0) }

// checkAffine panics unless p is nil or a tensor with exactly n elements.
func checkAffine(op, name string, p *Tensor, n int) {
	if p != nil && p.Len() != n {
		panic(fmt.Sprintf("tensor: %s %s has shape %v, want [%d]", op, name, p.Shape(), n))
	}
}

// affineData returns p's contiguous data, or nil for a nil p.
func affineData(p *Tensor) []float32 {
	if p == nil {
		return nil
	}
	return p.Contiguous().Data()
}

// rowMeanRstd returns the mean and 1/sqrt(var+eps) of row (biased variance,
// as PyTorch). It uses two passes over the (cache-resident) row with four
// independent accumulators, which is both accurate (no E[x²]−E[x]²
// cancellation) and fast.
func rowMeanRstd(row []float32, eps float32) (mean, rstd float32) {
	n := len(row)
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= n; i += 4 {
		r := row[i : i+4 : i+4]
		s0 += r[0]
		s1 += r[1]
		s2 += r[2]
		s3 += r[3]
	}
	for ; i < n; i++ {
		s0 += row[i]
	}
	mean = (s0 + s1 + s2 + s3) / float32(n)
	s0, s1, s2, s3 = 0, 0, 0, 0
	i = 0
	for ; i+4 <= n; i += 4 {
		r := row[i : i+4 : i+4]
		d0, d1, d2, d3 := r[0]-mean, r[1]-mean, r[2]-mean, r[3]-mean
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < n; i++ {
		d := row[i] - mean
		s0 += d * d
	}
	v := (s0 + s1 + s2 + s3) / float32(n)
	rstd = float32(1 / math.Sqrt(float64(v+eps)))
	return mean, rstd
}

// LayerNorm normalises x over its last axis (PyTorch nn.LayerNorm semantics:
// biased variance, eps inside the square root) and applies the optional
// affine gamma, beta (each [D] or nil). It returns the output (x's shape) and
// the per-row mean and reciprocal standard deviation (x's shape without the
// last axis), which LayerNormBackward needs.
func LayerNorm(x, gamma, beta *Tensor, eps float32) (out, mean, rstd *Tensor) {
	if x.Rank() == 0 {
		panic("tensor: LayerNorm of a scalar")
	}
	d := x.Dim(-1)
	checkAffine("LayerNorm", "gamma", gamma, d)
	checkAffine("LayerNorm", "beta", beta, d)
	xc := x.Contiguous()
	rows := 0
	if d > 0 {
		rows = xc.Len() / d
	}
	out = Zeros(x.Shape()...)
	mean = Zeros(x.Shape()[:x.Rank()-1]...)
	rstd = Zeros(x.Shape()[:x.Rank()-1]...)
	if rows == 0 || d == 0 {
		return out, mean, rstd
	}
	xd, od, md, rd := xc.Data(), out.Data(), mean.Data(), rstd.Data()
	g, b := affineData(gamma), affineData(beta)
	normParallelFor(rows, 3*d, func(_, lo, hi int) {
		for r := lo; r < hi; r++ {
			row, o := xd[r*d:(r+1)*d], od[r*d:(r+1)*d]
			mu, rs := rowMeanRstd(row, eps)
			md[r], rd[r] = mu, rs
			switch {
			case g != nil && b != nil:
				g, b := g[:d], b[:d]
				for j, v := range row {
					o[j] = (v-mu)*rs*g[j] + b[j]
				}
			case g != nil:
				g := g[:d]
				for j, v := range row {
					o[j] = (v - mu) * rs * g[j]
				}
			default:
				for j, v := range row {
					o[j] = (v - mu) * rs
				}
				if b != nil {
					for j := range o {
						o[j] += b[j]
					}
				}
			}
		}
	})
	return out, mean, rstd
}

// LayerNormBackward returns the gradients of LayerNorm with respect to x,
// gamma and beta, given the upstream gradient gout (x's shape) and the mean
// and rstd that LayerNorm returned. gamma may be nil (no affine scale); the
// returned dgamma and dbeta are nil when wantAffine is false.
//
// With x̂ = (x−μ)·rstd and ĝ = gout·γ, dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)),
// dγ = Σ_rows gout·x̂, dβ = Σ_rows gout.
func LayerNormBackward(gout, x, gamma, mean, rstd *Tensor, wantAffine bool) (dx, dgamma, dbeta *Tensor) {
	d := x.Dim(-1)
	if !EqualInts(gout.Shape(), x.Shape()) {
		panic(fmt.Sprintf("tensor: LayerNormBackward gradient %v for input %v", gout.Shape(), x.Shape()))
	}
	checkAffine("LayerNormBackward", "gamma", gamma, d)
	xc, gc := x.Contiguous(), gout.Contiguous()
	rows := 0
	if d > 0 {
		rows = xc.Len() / d
	}
	if mean.Len() != rows || rstd.Len() != rows {
		panic(fmt.Sprintf("tensor: LayerNormBackward mean %v / rstd %v for input %v", mean.Shape(), rstd.Shape(), x.Shape()))
	}
	dx = Zeros(x.Shape()...)
	if wantAffine {
		dgamma, dbeta = Zeros(d), Zeros(d)
	}
	if rows == 0 || d == 0 {
		return dx, dgamma, dbeta
	}
	xd, gd, dxd := xc.Data(), gc.Data(), dx.Data()
	md, rd := mean.Contiguous().Data(), rstd.Contiguous().Data()
	g := affineData(gamma)
	nw := normWorkers()
	var partG, partB [][]float32
	if wantAffine {
		partG, partB = make([][]float32, nw), make([][]float32, nw)
	}
	normParallelFor(rows, 5*d, func(w, lo, hi int) {
		var pg, pb []float32
		if wantAffine {
			pg, pb = make([]float32, d), make([]float32, d)
			partG[w], partB[w] = pg, pb
		}
		xh := make([]float32, d)
		gh := make([]float32, d)
		inv := 1 / float32(d)
		for r := lo; r < hi; r++ {
			row, go_, o := xd[r*d:(r+1)*d], gd[r*d:(r+1)*d], dxd[r*d:(r+1)*d]
			mu, rs := md[r], rd[r]
			var s1, s2 float32
			row, go_, xh, gh := row[:d], go_[:d], xh[:d], gh[:d]
			for j, v := range row {
				xh[j] = (v - mu) * rs
			}
			if wantAffine {
				pg, pb := pg[:d], pb[:d]
				for j, gg := range go_ {
					pg[j] += gg * xh[j]
					pb[j] += gg
				}
			}
			if g != nil {
				g := g[:d]
				for j, gg := range go_ {
					gh[j] = gg * g[j]
				}
			} else {
				copy(gh, go_)
			}
			for j, gg := range gh {
				s1 += gg
				s2 += gg * xh[j]
			}
			s1 *= inv
			s2 *= inv
			for j := range o {
				o[j] = rs * (gh[j] - s1 - xh[j]*s2)
			}
		}
	})
	if wantAffine {
		dg, db := dgamma.Data(), dbeta.Data()
		for w := range partG {
			if partG[w] == nil {
				continue
			}
			for j := range dg {
				dg[j] += partG[w][j]
				db[j] += partB[w][j]
			}
		}
	}
	return dx, dgamma, dbeta
}

// groupNormDims validates GroupNorm arguments and returns (N, C, S) where S
// is the product of the spatial dimensions (1 for a rank-2 input).
func groupNormDims(op string, x *Tensor, groups int) (n, c, s int) {
	if x.Rank() < 2 {
		panic(fmt.Sprintf("tensor: %s input %v must be [N, C, ...]", op, x.Shape()))
	}
	n, c = x.Dim(0), x.Dim(1)
	if groups <= 0 || c%groups != 0 {
		panic(fmt.Sprintf("tensor: %s with %d groups on %d channels (input %v)", op, groups, c, x.Shape()))
	}
	s = 1
	for _, v := range x.Shape()[2:] {
		s *= v
	}
	return n, c, s
}

// GroupNorm normalises x [N, C, ...] over groups of C/groups consecutive
// channels together with all spatial positions (PyTorch nn.GroupNorm
// semantics: biased variance, eps inside the square root), then applies the
// optional per-channel affine gamma, beta ([C] or nil). It returns the output
// and the per-(sample, group) mean and rstd, each of shape [N, groups].
func GroupNorm(x *Tensor, groups int, gamma, beta *Tensor, eps float32) (out, mean, rstd *Tensor) {
	n, c, s := groupNormDims("GroupNorm", x, groups)
	checkAffine("GroupNorm", "gamma", gamma, c)
	checkAffine("GroupNorm", "beta", beta, c)
	xc := x.Contiguous()
	out = Zeros(x.Shape()...)
	mean, rstd = Zeros(n, groups), Zeros(n, groups)
	cpg := c / groups
	gsz := cpg * s
	if n == 0 || gsz == 0 {
		return out, mean, rstd
	}
	xd, od, md, rd := xc.Data(), out.Data(), mean.Data(), rstd.Data()
	g, b := affineData(gamma), affineData(beta)
	normParallelFor(n*groups, 3*gsz, func(_, lo, hi int) {
		for r := lo; r < hi; r++ {
			base := r * gsz
			mu, rs := rowMeanRstd(xd[base:base+gsz], eps)
			md[r], rd[r] = mu, rs
			c0 := (r % groups) * cpg
			for ci := 0; ci < cpg; ci++ {
				sc, sh := rs, -mu*rs
				if g != nil {
					sc *= g[c0+ci]
					sh *= g[c0+ci]
				}
				if b != nil {
					sh += b[c0+ci]
				}
				seg := xd[base+ci*s : base+(ci+1)*s]
				o := od[base+ci*s : base+(ci+1)*s]
				for j, v := range seg {
					o[j] = v*sc + sh
				}
			}
		}
	})
	return out, mean, rstd
}

// GroupNormBackward returns the gradients of GroupNorm with respect to x,
// gamma and beta given the upstream gradient and the mean and rstd GroupNorm
// returned. dgamma and dbeta ([C]) are nil when wantAffine is false.
func GroupNormBackward(gout, x *Tensor, groups int, gamma, mean, rstd *Tensor, wantAffine bool) (dx, dgamma, dbeta *Tensor) {
	n, c, s := groupNormDims("GroupNormBackward", x, groups)
	if !EqualInts(gout.Shape(), x.Shape()) {
		panic(fmt.Sprintf("tensor: GroupNormBackward gradient %v for input %v", gout.Shape(), x.Shape()))
	}
	checkAffine("GroupNormBackward", "gamma", gamma, c)
	if mean.Len() != n*groups || rstd.Len() != n*groups {
		panic(fmt.Sprintf("tensor: GroupNormBackward mean %v / rstd %v for input %v with %d groups", mean.Shape(), rstd.Shape(), x.Shape(), groups))
	}
	xc, gc := x.Contiguous(), gout.Contiguous()
	dx = Zeros(x.Shape()...)
	if wantAffine {
		dgamma, dbeta = Zeros(c), Zeros(c)
	}
	cpg := c / groups
	gsz := cpg * s
	if n == 0 || gsz == 0 {
		return dx, dgamma, dbeta
	}
	xd, gd, dxd := xc.Data(), gc.Data(), dx.Data()
	md, rd := mean.Contiguous().Data(), rstd.Contiguous().Data()
	g := affineData(gamma)
	nw := normWorkers()
	var partG, partB [][]float32
	if wantAffine {
		partG, partB = make([][]float32, nw), make([][]float32, nw)
	}
	normParallelFor(n*groups, 5*gsz, func(w, lo, hi int) {
		var pg, pb []float32
		if wantAffine {
			pg, pb = make([]float32, c), make([]float32, c)
			partG[w], partB[w] = pg, pb
		}
		inv := 1 / float32(gsz)
		for r := lo; r < hi; r++ {
			base := r * gsz
			mu, rs := md[r], rd[r]
			c0 := (r % groups) * cpg
			var s1, s2 float32
			for ci := 0; ci < cpg; ci++ {
				gam := float32(1)
				if g != nil {
					gam = g[c0+ci]
				}
				var sg, sgh float32
				for j := base + ci*s; j < base+(ci+1)*s; j++ {
					h := (xd[j] - mu) * rs
					gg := gd[j]
					sg += gg
					sgh += gg * h
				}
				if wantAffine {
					pg[c0+ci] += sgh
					pb[c0+ci] += sg
				}
				s1 += sg * gam
				s2 += sgh * gam
			}
			s1 *= inv
			s2 *= inv
			for ci := 0; ci < cpg; ci++ {
				gam := float32(1)
				if g != nil {
					gam = g[c0+ci]
				}
				for j := base + ci*s; j < base+(ci+1)*s; j++ {
					h := (xd[j] - mu) * rs
					dxd[j] = rs * (gd[j]*gam - s1 - h*s2)
				}
			}
		}
	})
	if wantAffine {
		dg, db := dgamma.Data(), dbeta.Data()
		for w := range partG {
			if partG[w] == nil {
				continue
			}
			for j := range dg {
				dg[j] += partG[w][j]
				db[j] += partB[w][j]
			}
		}
	}
	return dx, dgamma, dbeta
}
