package sgemm

// packA writes rows r0..r0+rows of op(A), columns p0..p0+kb, into dst as kb
// groups of mr values (one per row), zero-padding rows beyond rows.
func (p *problem) packA(dst []float32, p0, kb, r0, rows int) {
	mr := p.kern.mr
	dst = dst[:kb*mr]
	if p.transA {
		// A is stored k x m: the mr values of one group are contiguous.
		if rows == mr && p.kern.packAT != nil {
			p.kern.packAT(kb, p.a[p0*p.lda+r0:], p.lda, dst)
			return
		}
		for q := 0; q < kb; q++ {
			src := p.a[(p0+q)*p.lda+r0 : (p0+q)*p.lda+r0+rows]
			d := dst[q*mr : q*mr+mr]
			copy(d, src)
			clear(d[rows:])
		}
		return
	}
	// A is stored m x k: gather one value from each of the rows.
	if rows == mr && p.kern.packAN != nil && kb >= 8 {
		k8 := kb &^ 7
		p.kern.packAN(k8, p.a[r0*p.lda+p0:], p.lda, dst)
		if k8 == kb {
			return
		}
		for r := 0; r < rows; r++ {
			src := p.a[(r0+r)*p.lda+p0+k8 : (r0+r)*p.lda+p0+kb]
			for q, v := range src {
				dst[(k8+q)*mr+r] = v
			}
		}
		return
	}
	if rows == 6 && mr == 6 {
		s0 := p.a[r0*p.lda+p0 : r0*p.lda+p0+kb]
		s1 := p.a[(r0+1)*p.lda+p0 : (r0+1)*p.lda+p0+kb]
		s2 := p.a[(r0+2)*p.lda+p0 : (r0+2)*p.lda+p0+kb]
		s3 := p.a[(r0+3)*p.lda+p0 : (r0+3)*p.lda+p0+kb]
		s4 := p.a[(r0+4)*p.lda+p0 : (r0+4)*p.lda+p0+kb]
		s5 := p.a[(r0+5)*p.lda+p0 : (r0+5)*p.lda+p0+kb]
		for q := range kb {
			d := dst[q*6 : q*6+6 : q*6+6]
			d[0], d[1], d[2], d[3], d[4], d[5] = s0[q], s1[q], s2[q], s3[q], s4[q], s5[q]
		}
		return
	}
	if rows == 4 && mr == 4 {
		s0 := p.a[r0*p.lda+p0 : r0*p.lda+p0+kb]
		s1 := p.a[(r0+1)*p.lda+p0 : (r0+1)*p.lda+p0+kb]
		s2 := p.a[(r0+2)*p.lda+p0 : (r0+2)*p.lda+p0+kb]
		s3 := p.a[(r0+3)*p.lda+p0 : (r0+3)*p.lda+p0+kb]
		for q := range kb {
			d := dst[q*4 : q*4+4 : q*4+4]
			d[0], d[1], d[2], d[3] = s0[q], s1[q], s2[q], s3[q]
		}
		return
	}
	if rows < mr {
		clear(dst)
	}
	for r := 0; r < rows; r++ {
		src := p.a[(r0+r)*p.lda+p0 : (r0+r)*p.lda+p0+kb]
		for q, v := range src {
			dst[q*mr+r] = v
		}
	}
}

// packB writes columns j0..j0+cols of op(B), rows p0..p0+kb, into dst as kb
// groups of nr values (one per column), zero-padding columns beyond cols.
func (p *problem) packB(dst []float32, p0, kb, j0, cols int) {
	nr := p.kern.nr
	dst = dst[:kb*nr]
	if !p.transB {
		// B is stored k x n: the nr values of one group are contiguous.
		if cols == nr && p.kern.packBN != nil {
			p.kern.packBN(kb, p.b[p0*p.ldb+j0:], p.ldb, dst)
			return
		}
		for q := 0; q < kb; q++ {
			src := p.b[(p0+q)*p.ldb+j0 : (p0+q)*p.ldb+j0+cols]
			d := dst[q*nr : q*nr+nr]
			copy(d, src)
			clear(d[cols:])
		}
		return
	}
	// B is stored n x k (a weight [out, in]): gather across the columns.
	if cols == nr && p.kern.packBT != nil && kb >= 8 {
		k8 := kb &^ 7
		p.kern.packBT(k8, p.b[j0*p.ldb+p0:], p.ldb, dst)
		for c := 0; c < cols && k8 < kb; c++ {
			src := p.b[(j0+c)*p.ldb+p0+k8 : (j0+c)*p.ldb+p0+kb]
			for q, v := range src {
				dst[(k8+q)*nr+c] = v
			}
		}
		return
	}
	if cols < nr {
		clear(dst)
	}
	// Four source rows at a time keeps four read streams and fewer passes
	// over the destination.
	c := 0
	for ; c+4 <= cols; c += 4 {
		s0 := p.b[(j0+c)*p.ldb+p0 : (j0+c)*p.ldb+p0+kb]
		s1 := p.b[(j0+c+1)*p.ldb+p0 : (j0+c+1)*p.ldb+p0+kb]
		s2 := p.b[(j0+c+2)*p.ldb+p0 : (j0+c+2)*p.ldb+p0+kb]
		s3 := p.b[(j0+c+3)*p.ldb+p0 : (j0+c+3)*p.ldb+p0+kb]
		for q := range kb {
			d := dst[q*nr+c : q*nr+c+4 : q*nr+c+4]
			d[0], d[1], d[2], d[3] = s0[q], s1[q], s2[q], s3[q]
		}
	}
	for ; c < cols; c++ {
		src := p.b[(j0+c)*p.ldb+p0 : (j0+c)*p.ldb+p0+kb]
		for q, v := range src {
			dst[q*nr+c] = v
		}
	}
}
