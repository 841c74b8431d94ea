package kernels

// Op codes shared by the Go launchers and the CUDA kernels. The values must
// match the #defines in elementwise.cu and reduce.cu (TestOpCodesMatchSources
// checks this without a GPU).

// BinOp selects a binary element-wise op (NAG_ADD ... in elementwise.cu).
type BinOp int

// Binary ops.
const (
	Add BinOp = 0
	Sub BinOp = 1
	Mul BinOp = 2
	Div BinOp = 3
)

// UnOp selects a unary op or activation (NAG_U_* in elementwise.cu).
type UnOp int

// Unary ops. Their parameter p: ELU's alpha, Scale's factor, AddScalar's addend.
const (
	Neg       UnOp = 0
	Exp       UnOp = 1
	Log       UnOp = 2
	Sqrt      UnOp = 3
	Square    UnOp = 4
	Abs       UnOp = 5
	ReLU      UnOp = 6
	ReLU6     UnOp = 7
	SiLU      UnOp = 8
	Tanh      UnOp = 9
	Sigmoid   UnOp = 10
	GELU      UnOp = 11
	ELU       UnOp = 12
	Scale     UnOp = 13
	AddScalar UnOp = 14
	// NoAct means "no activation" in BiasAct and Linear.
	NoAct UnOp = -1
)

// ReduceOp selects a reduction (NAG_R_* in reduce.cu).
type ReduceOp int

// Reductions.
const (
	ReduceSum  ReduceOp = 0
	ReduceMean ReduceOp = 1
	ReduceMax  ReduceOp = 2
)

// gemmKernel describes one FP32 GEMM kernel: threads per block, block tile
// (tm x tn) and a relative cost per tile element (the 64x64 kernel computes
// 4x4 outputs per thread and is ~1.9x slower per output than the 8x8 ones).
type gemmKernel struct {
	name           string
	threads        int
	tm, tn         int
	cost           float64
	minBlocksPerSM int  // below this many blocks per SM the kernel hides latency poorly
	vec            bool // float4 global loads: needs 16-byte aligned operands (gemmVecOK)
}

// vecGemms are the float4-load variants of the 8x8-per-thread kernels
// (same tiles, bit-identical results; the v16 ones with k tiles of 16). They run only by name (GemmWith)
// until timed on a GPU against the scalar-load kernels pickGemm chooses from.
var vecGemms = []gemmKernel{
	{"sgemm_128v", 256, 128, 128, 1, 1, true},
	{"sgemm_128x64v", 128, 128, 64, 1, 2, true},
	{"sgemm_128v16", 256, 128, 128, 1, 1, true},
	{"sgemm_128x64v16", 128, 128, 64, 1, 2, true},
}

// vecTwin returns the k-16 float4-load kernel with the same tile as k
// (sgemm_128 -> sgemm_128v16, sgemm_128x64 -> sgemm_128x64v16): what Gemm runs
// instead of pickGemm's choice under Device.UseVecGemm when the operands are
// aligned. Kernels without a twin (sgemm_tiled, sgemm_tf32) return false.
func vecTwin(k gemmKernel) (gemmKernel, bool) {
	switch k.name {
	case "sgemm_128":
		return gemmByName("sgemm_128v16")
	case "sgemm_128x64":
		return gemmByName("sgemm_128x64v16")
	}
	return gemmKernel{}, false
}

// gemmVecOK reports whether a float4-load kernel may run: both operands'
// device addresses 16-byte aligned and their leading dimensions and batch
// strides multiples of 4 floats, so every vector load is aligned.
func gemmVecOK(aAddr, bAddr uintptr, lda, ldb int, strideA, strideB int64) bool {
	return aAddr%16 == 0 && bAddr%16 == 0 && lda%4 == 0 && ldb%4 == 0 && strideA%4 == 0 && strideB%4 == 0
}

// lazyModules are the embedded PTX files a Device loads on the first launch
// of one of their kernels rather than when it opens: modules whose JIT
// compilation is slow (gemm_fast: ~13 s of ptxas for sm_90 on a 2-core VM)
// and whose kernels the default paths do not launch.
var lazyModules = map[string]bool{"gemm_fast.ptx": true}

var fp32Gemms = []gemmKernel{
	{"sgemm_128", 256, 128, 128, 1, 1, false},
	{"sgemm_128x64", 128, 128, 64, 1, 2, false},
	{"sgemm_tiled", 256, 64, 64, 1.9, 0, false},
}

// smallGemm is the kernel of tiny products (m, n <= 32, k <= 64: the
// attention products, batched over graphs and heads): one thread per output,
// bit-identical to sgemm_tiled.
var smallGemm = gemmKernel{"sgemm_small", 64, 8, 8, 0, 0, false}

func gemmByName(name string) (gemmKernel, bool) {
	for _, k := range fp32Gemms {
		if k.name == name {
			return k, true
		}
	}
	for _, k := range vecGemms {
		if k.name == name {
			return k, true
		}
	}
	if name == "sgemm_tf32" {
		return gemmKernel{name: name, threads: 128, tm: 64, tn: 64}, true
	}
	if name == smallGemm.name {
		return smallGemm, true
	}
	return gemmKernel{}, false
}

// pickGemm models the time of an m x n x k product (batch entries) on a
// device with sms multiprocessors as the tile work of the busiest SM,
// ceil(blocks/SMs)·tm·tn·cost, and returns the cheapest FP32 kernel (ties go
// to the larger tile; short k uses the 64x64 kernel, whose prologue is
// cheapest). Measured on an H100 (132 SMs): 2048 x 1536 x 1536 runs at 18.2
// TFLOP/s with sgemm_tiled and 25.7 with sgemm_128.
func pickGemm(m, n, k, batch, sms int) gemmKernel {
	if m <= 32 && n <= 32 && k <= 64 {
		return smallGemm
	}
	best := fp32Gemms[len(fp32Gemms)-1]
	if k < 64 {
		return best
	}
	sms = max(sms, 1)
	bestCost := -1.0
	for _, kk := range fp32Gemms {
		blocks := ((m + kk.tm - 1) / kk.tm) * ((n + kk.tn - 1) / kk.tn) * max(batch, 1)
		if blocks < kk.minBlocksPerSM*sms {
			continue
		}
		c := float64((blocks+sms-1)/sms) * float64(kk.tm*kk.tn) * kk.cost
		if bestCost < 0 || c < bestCost {
			best, bestCost = kk, c
		}
	}
	return best
}

// preferVec16 reports whether an aligned m x n x k product that pickGemm
// sends to sgemm_tiled (too few 128-row blocks to fill the device twice)
// runs faster on sgemm_128x64v16 anyway: long k amortises its deeper
// pipeline. Measured on an H200 (132 SMs), TFLOP/s 128x64v16 / tiled:
// 2048x768x1536 31.3 / 17.9, 1536x768x2048 (ᵀA) 25.0 / 13.9, 256x1536x768
// 13.2 / 10.1; with k = 144 the tiled kernel wins (2048x144x144 6.2 / 4.1).
func preferVec16(m, n, k int) bool {
	return k >= 512 && m >= 128 && n >= 64
}

// Reductions and GEMMs whose output is covered by fewer blocks than the
// device has multiprocessors leave most of it idle while each block walks a
// long reduction axis (the column sums of a bias or LayerNorm gradient over
// 2048 rows, the K = 2048 weight-gradient products of a 64-wide layer). They
// split that axis into parts that run side by side and add the partial results
// in a second, fixed-order pass (reduce_parts): deterministic, and the same
// from run to run.

// minSplitRows is the fewest rows (or K values) one part handles.
const minSplitRows = 64

// rowSplit returns how many parts of chunk rows to split a reduction over n
// rows into when blocks blocks cover its output on a device with sms
// multiprocessors: parts = 1 (chunk = n) when the output alone fills the
// device or n is short, else enough parts for about two blocks per SM, each
// of at least minSplitRows rows.
func rowSplit(blocks, n, sms int) (parts, chunk int) {
	if blocks <= 0 || n < 4*minSplitRows || blocks >= sms {
		return 1, n
	}
	parts = min((2*sms+blocks-1)/blocks, n/minSplitRows)
	chunk = (n + parts - 1) / parts
	return (n + chunk - 1) / chunk, chunk
}

// splitKPlan returns how to split an m x n x k product (no batch, no
// epilogue) along k: slices of kc (a multiple of 16, so that float4 loads stay
// aligned) and, when slices*kc < k, one more slice of the remaining k. It
// returns slices = 1 when the product's 64x64 tiles already cover the device.
func splitKPlan(m, n, k, sms int) (slices, kc int) {
	tiles := ((m + 63) / 64) * ((n + 63) / 64)
	if k < 8*minSplitRows || tiles >= sms {
		return 1, k
	}
	slices = min((2*sms+tiles-1)/tiles, k/minSplitRows)
	kc = k / slices / 16 * 16
	return slices, kc
}

// splitPlan is how a split-K product runs: products (at most two: the
// batched slices of kc, then the remaining k) write parts partial results
// [parts, M, N] (row-major, ldc N) that reduce_parts sums.
type splitPlan struct {
	parts    int
	products []slicedProduct
}

// slicedProduct is one GEMM of a split: the product's transposes, M, N, lda
// and ldb with k, batch and the strides here, on A, B and the partial buffer
// starting offA, offB and offC elements in; alpha 1, beta 0, no epilogue
// (the finish applies the product's own).
type slicedProduct struct {
	k, batch                  int
	strideA, strideB, strideC int64
	offA, offB, offC          int
}

// splitProducts lays out an m x n x k product (no batch) as slices products
// over k-ranges of kc, batched with strides that step along K in each
// operand's storage (rows of a transposed A or of a plain B, columns
// otherwise), plus one product over the rest of K when slices·kc < k.
func splitProducts(transA, transB bool, m, n, k, lda, ldb, slices, kc int) splitPlan {
	offA, offB := func(ks int) int { return ks }, func(ks int) int { return ks * ldb }
	if transA {
		offA = func(ks int) int { return ks * lda }
	}
	if transB {
		offB = func(ks int) int { return ks }
	}
	mn := m * n
	sp := splitPlan{parts: slices, products: []slicedProduct{{k: kc, batch: slices,
		strideA: int64(offA(kc)), strideB: int64(offB(kc)), strideC: int64(mn)}}}
	if rem := k - slices*kc; rem > 0 {
		ks := slices * kc
		sp.products = append(sp.products, slicedProduct{k: rem, batch: 1, offA: offA(ks), offB: offB(ks), offC: slices * mn})
		sp.parts++
	}
	return sp
}
