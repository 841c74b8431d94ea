package sgemm

// goKernel is the portable micro-kernel: a 4x4 tile held in scalars.
var goKernel = &kernel{name: "go-4x4", mr: 4, nr: 4, fn: kernelGo4x4, epi: epilogueGo}

// kernelGo4x4 computes the 4x4 tile C = alpha*A*Bp + beta*C, where element
// (r, p) of the A panel is a[r*rs+p*cs] and Bp holds k groups of 4 values
// (one per column). beta == 0 overwrites C without reading it.
func kernelGo4x4(k int, a []float32, rs, cs int, b, c []float32, ldc int, alpha, beta float32) {
	var c00, c01, c02, c03 float32
	var c10, c11, c12, c13 float32
	var c20, c21, c22, c23 float32
	var c30, c31, c32, c33 float32
	b = b[:4*k]
	o := 0
	for p := 0; p < 4*k; p += 4 {
		bb := b[p : p+4 : p+4]
		b0, b1, b2, b3 := bb[0], bb[1], bb[2], bb[3]
		a0, a1, a2, a3 := a[o], a[o+rs], a[o+2*rs], a[o+3*rs]
		o += cs
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	store4(c[0:4:4], alpha, beta, c00, c01, c02, c03)
	store4(c[ldc:ldc+4:ldc+4], alpha, beta, c10, c11, c12, c13)
	store4(c[2*ldc:2*ldc+4:2*ldc+4], alpha, beta, c20, c21, c22, c23)
	store4(c[3*ldc:3*ldc+4:3*ldc+4], alpha, beta, c30, c31, c32, c33)
}

func store4(c []float32, alpha, beta, v0, v1, v2, v3 float32) {
	if beta == 0 {
		c[0], c[1], c[2], c[3] = alpha*v0, alpha*v1, alpha*v2, alpha*v3
		return
	}
	c[0] = alpha*v0 + beta*c[0]
	c[1] = alpha*v1 + beta*c[1]
	c[2] = alpha*v2 + beta*c[2]
	c[3] = alpha*v3 + beta*c[3]
}
