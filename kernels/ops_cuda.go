//go:build cuda

package kernels

import (
	"fmt"
	"math"
	"unsafe"
)

// Shape mismatches are programming errors and panic (as in package tensor);
// CUDA failures are returned as errors.

func sameLen(op string, ts ...*DeviceTensor) int {
	n := ts[0].n
	for _, t := range ts[1:] {
		if t != nil && t.n != n {
			panic(fmt.Sprintf("kernels: %s: sizes differ (%v vs %v)", op, ts[0].shape, t.shape))
		}
	}
	return n
}

func lastDim(op string, x *DeviceTensor) (rows, cols int) {
	if len(x.shape) == 0 {
		panic(fmt.Sprintf("kernels: %s of a scalar", op))
	}
	cols = x.shape[len(x.shape)-1]
	if cols == 0 {
		return 0, 0
	}
	return x.n / cols, cols
}

const ewThreads = 256

// Binary computes out = a op b element-wise (equal sizes; out may alias a or b).
func (d *Device) Binary(op BinOp, a, b, out *DeviceTensor) error {
	n := sameLen("Binary", a, b, out)
	if n == 0 {
		return nil
	}
	return d.launch("ew_binary", d.grid1(n, ewThreads), [3]int{ewThreads, 1, 1}, 0,
		new(kargs).i(int(op)).i(n).p(a).p(b).p(out))
}

// BinaryRow computes out[r, c] = a[r, c] op b[c] for a [..., C], b [C]: the
// bias-row broadcast.
func (d *Device) BinaryRow(op BinOp, a, b, out *DeviceTensor) error {
	rows, cols := lastDim("BinaryRow", a)
	sameLen("BinaryRow", a, out)
	if b.n != cols {
		panic(fmt.Sprintf("kernels: BinaryRow: a %v, b %v (want [%d])", a.shape, b.shape, cols))
	}
	if a.n == 0 {
		return nil
	}
	return d.launch("ew_binary_row", d.grid1(a.n, ewThreads), [3]int{ewThreads, 1, 1}, 0,
		new(kargs).i(int(op)).i(rows).i(cols).p(a).p(b).p(out))
}

// BinaryCol computes out[r, c] = a[r, c] op b[r] for a [..., C] with R rows and
// b holding R values (one per row).
func (d *Device) BinaryCol(op BinOp, a, b, out *DeviceTensor) error {
	rows, cols := lastDim("BinaryCol", a)
	sameLen("BinaryCol", a, out)
	if b.n != rows {
		panic(fmt.Sprintf("kernels: BinaryCol: a %v has %d rows, b %v", a.shape, rows, b.shape))
	}
	if a.n == 0 {
		return nil
	}
	return d.launch("ew_binary_col", d.grid1(a.n, ewThreads), [3]int{ewThreads, 1, 1}, 0,
		new(kargs).i(int(op)).i(rows).i(cols).p(a).p(b).p(out))
}

// BinaryScalar computes out = a op s.
func (d *Device) BinaryScalar(op BinOp, a *DeviceTensor, s float32, out *DeviceTensor) error {
	n := sameLen("BinaryScalar", a, out)
	if n == 0 {
		return nil
	}
	return d.launch("ew_binary_scalar", d.grid1(n, ewThreads), [3]int{ewThreads, 1, 1}, 0,
		new(kargs).i(int(op)).i(n).p(a).f(s).p(out))
}

// Unary computes out = f(a; p) (p: ELU alpha, Scale factor, AddScalar addend).
func (d *Device) Unary(op UnOp, a *DeviceTensor, p float32, out *DeviceTensor) error {
	n := sameLen("Unary", a, out)
	if n == 0 {
		return nil
	}
	return d.launch("ew_unary", d.grid1(n, ewThreads), [3]int{ewThreads, 1, 1}, 0,
		new(kargs).i(int(op)).i(n).p(a).f(p).p(out))
}

// UnaryGrad computes out = g·f'(v; p): v is the op's input, except for Tanh
// and Sigmoid where it is the op's output (as tensor.TanhGrad/SigmoidGrad).
func (d *Device) UnaryGrad(op UnOp, v, g *DeviceTensor, p float32, out *DeviceTensor) error {
	n := sameLen("UnaryGrad", v, g, out)
	if n == 0 {
		return nil
	}
	return d.launch("ew_unary_grad", d.grid1(n, ewThreads), [3]int{ewThreads, 1, 1}, 0,
		new(kargs).i(int(op)).i(n).p(v).p(g).f(p).p(out))
}

// Axpby computes out = alpha·x + beta·y.
func (d *Device) Axpby(alpha float32, x *DeviceTensor, beta float32, y, out *DeviceTensor) error {
	n := sameLen("Axpby", x, y, out)
	if n == 0 {
		return nil
	}
	return d.launch("ew_axpby", d.grid1(n, ewThreads), [3]int{ewThreads, 1, 1}, 0,
		new(kargs).i(n).f(alpha).p(x).f(beta).p(y).p(out))
}

// Fill sets every element of x to v.
func (d *Device) Fill(x *DeviceTensor, v float32) error {
	if x.n == 0 {
		return nil
	}
	return d.launch("ew_fill", d.grid1(x.n, ewThreads), [3]int{ewThreads, 1, 1}, 0, new(kargs).i(x.n).f(v).p(x))
}

// BiasAct computes out = act(x + bias) for x [..., C], bias [C] or nil; act is
// a UnOp or NoAct (p is its parameter). It is the epilogue of Linear.
func (d *Device) BiasAct(x, bias *DeviceTensor, act UnOp, p float32, out *DeviceTensor) error {
	rows, cols := lastDim("BiasAct", x)
	sameLen("BiasAct", x, out)
	if bias != nil && bias.n != cols {
		panic(fmt.Sprintf("kernels: BiasAct: x %v, bias %v", x.shape, bias.shape))
	}
	if x.n == 0 {
		return nil
	}
	return d.launch("bias_act", d.grid1(x.n, ewThreads), [3]int{ewThreads, 1, 1}, 0,
		new(kargs).i(rows).i(cols).p(x).p(bias).i(int(act)).f(p).p(out))
}

// Dropout computes out = x·keep/(1-p) with keep_i = (uniform_i(seed, offset) >= p)
// (UniformsRef is the CPU reference of the uniforms). Calling it on the
// upstream gradient with the same seed and offset is the backward.
func (d *Device) Dropout(x *DeviceTensor, p float32, seed, offset uint64, out *DeviceTensor) error {
	n := sameLen("Dropout", x, out)
	if !(p >= 0 && p < 1) {
		panic(fmt.Sprintf("kernels: dropout probability %v outside [0, 1)", p))
	}
	if n == 0 {
		return nil
	}
	return d.launch("dropout", d.grid1(n, ewThreads), [3]int{ewThreads, 1, 1}, 0,
		new(kargs).i(n).f(p).u64(seed).u64(offset).p(x).p(out))
}

// ---- reductions and softmax ----------------------------------------------------

const rowWarps = 8 // warps (rows) per block of the one-warp-per-row kernels

func (d *Device) rowGrid(rows int) [3]int { return [3]int{(rows + rowWarps - 1) / rowWarps, 1, 1} }

// ReduceLast reduces x [..., C] over its last axis into out (x's rows).
func (d *Device) ReduceLast(op ReduceOp, x, out *DeviceTensor) error {
	rows, cols := lastDim("ReduceLast", x)
	if out.n != rows {
		panic(fmt.Sprintf("kernels: ReduceLast: x %v, out %v", x.shape, out.shape))
	}
	if rows == 0 {
		return nil
	}
	return d.launch("reduce_last", d.rowGrid(rows), [3]int{32 * rowWarps, 1, 1}, 0,
		new(kargs).i(int(op)).i(rows).i(cols).p(x).p(out))
}

// ReduceMid reduces x viewed as [outer, n, inner] over its middle axis into
// out [outer, inner]: outer = 1 sums over rows (bias gradients); [B, N, C]
// with ReduceMean is the mean over graph nodes.
func (d *Device) ReduceMid(op ReduceOp, x *DeviceTensor, outer, n, inner int, out *DeviceTensor) error {
	if outer*n*inner != x.n || out.n != outer*inner {
		panic(fmt.Sprintf("kernels: ReduceMid [%d, %d, %d]: x %v, out %v", outer, n, inner, x.shape, out.shape))
	}
	if out.n == 0 {
		return nil
	}
	blocks := (inner + 31) / 32 * outer
	if parts, chunk := rowSplit(blocks, n, d.Info.SMs); parts > 1 {
		if part := d.scratchFor(parts * outer * inner); part != nil {
			pop, alpha := ReduceSum, float32(1)
			switch op {
			case ReduceMax:
				pop = ReduceMax
			case ReduceMean:
				alpha = 1 / float32(n)
			}
			if err := d.launch("reduce_mid", [3]int{(inner + 31) / 32, outer, parts}, [3]int{32, 8, 1}, 0,
				new(kargs).i(int(pop)).i(outer).i(n).i(inner).i(chunk).p(x).p(part)); err != nil {
				return err
			}
			return d.reduceParts(pop, parts, 1, outer*inner, alpha, part, 0, out, outer*inner, nil)
		}
	}
	return d.launch("reduce_mid", [3]int{(inner + 31) / 32, outer, 1}, [3]int{32, 8, 1}, 0,
		new(kargs).i(int(op)).i(outer).i(n).i(inner).i(n).p(x).p(out))
}

// reduceParts runs reduce_parts: out[r*ldo+c] = act(alpha·reduce_z part[z,
// r, c] + beta·out[r*ldo+c] + bias[c]) (out not read when beta = 0; epilogue
// nil: no bias, no activation).
func (d *Device) reduceParts(op ReduceOp, parts, rows, cols int, alpha float32, part *DeviceTensor, beta float32, out *DeviceTensor, ldo int, e *Epilogue) error {
	var bias *DeviceTensor
	act, actp := NoAct, float32(0)
	if e != nil {
		bias, act, actp = e.Bias, e.Act, e.P
	}
	return d.launch("reduce_parts", d.grid1(rows*cols, ewThreads), [3]int{ewThreads, 1, 1}, 0,
		new(kargs).i(int(op)).i(parts).i(rows).i(cols).f(alpha).p(part).f(beta).p(out).i(ldo).p(bias).i(int(act)).f(actp))
}

// Softmax computes the softmax (or log-softmax) of x over its last axis.
func (d *Device) Softmax(x, out *DeviceTensor, log bool) error {
	rows, cols := lastDim("Softmax", x)
	sameLen("Softmax", x, out)
	if rows == 0 {
		return nil
	}
	return d.launch("softmax_last", d.rowGrid(rows), [3]int{32 * rowWarps, 1, 1}, 0,
		new(kargs).i(rows).i(cols).i(b2i(log)).p(x).p(out))
}

// SoftmaxGrad is the backward of Softmax given its output y and upstream g.
func (d *Device) SoftmaxGrad(y, g, dx *DeviceTensor, log bool) error {
	rows, cols := lastDim("SoftmaxGrad", y)
	sameLen("SoftmaxGrad", y, g, dx)
	if rows == 0 {
		return nil
	}
	return d.launch("softmax_last_grad", d.rowGrid(rows), [3]int{32 * rowWarps, 1, 1}, 0,
		new(kargs).i(rows).i(cols).i(b2i(log)).p(y).p(g).p(dx))
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ---- layer norm ------------------------------------------------------------------

// LayerNorm normalises x [..., D] over its last axis with optional gamma,
// beta [D], writing out (x's shape) and per-row mean, rstd (x's rows; either
// may be nil when not needed).
func (d *Device) LayerNorm(x, gamma, beta *DeviceTensor, eps float32, out, mean, rstd *DeviceTensor) error {
	rows, cols := lastDim("LayerNorm", x)
	sameLen("LayerNorm", x, out)
	for _, p := range []*DeviceTensor{gamma, beta} {
		if p != nil && p.n != cols {
			panic(fmt.Sprintf("kernels: LayerNorm: x %v, affine %v", x.shape, p.shape))
		}
	}
	for _, s := range []*DeviceTensor{mean, rstd} {
		if s != nil && s.n != rows {
			panic(fmt.Sprintf("kernels: LayerNorm: x %v, statistics %v", x.shape, s.shape))
		}
	}
	if rows == 0 {
		return nil
	}
	return d.launch("layernorm_fwd", d.rowGrid(rows), [3]int{32 * rowWarps, 1, 1}, 0,
		new(kargs).i(rows).i(cols).p(x).p(gamma).p(beta).f(eps).p(out).p(mean).p(rstd))
}

// LayerNormBackward computes dx (and, when non-nil, dgamma and dbeta) from
// the upstream gradient gout and the forward's mean and rstd.
func (d *Device) LayerNormBackward(gout, x, gamma, mean, rstd, dx, dgamma, dbeta *DeviceTensor) error {
	rows, cols := lastDim("LayerNormBackward", x)
	sameLen("LayerNormBackward", x, gout, dx)
	if mean.n != rows || rstd.n != rows {
		panic(fmt.Sprintf("kernels: LayerNormBackward: x %v, mean %v, rstd %v", x.shape, mean.shape, rstd.shape))
	}
	if rows == 0 {
		return nil
	}
	if err := d.launch("layernorm_bwd_dx", d.rowGrid(rows), [3]int{32 * rowWarps, 1, 1}, 0,
		new(kargs).i(rows).i(cols).p(gout).p(x).p(gamma).p(mean).p(rstd).p(dx)); err != nil {
		return err
	}
	if dgamma == nil && dbeta == nil {
		return nil
	}
	if parts, chunk := rowSplit((cols+31)/32, rows, d.Info.SMs); parts > 1 {
		if part := d.scratchFor(2 * parts * cols); part != nil {
			var pg, pb *DeviceTensor
			if dgamma != nil {
				pg = part.offset(0, parts*cols)
			}
			if dbeta != nil {
				pb = part.offset(parts*cols, parts*cols)
			}
			if err := d.launch("layernorm_bwd_affine", [3]int{(cols + 31) / 32, parts, 1}, [3]int{32, 8, 1}, 0,
				new(kargs).i(rows).i(cols).i(chunk).p(gout).p(x).p(mean).p(rstd).p(pg).p(pb)); err != nil {
				return err
			}
			for _, o := range [][2]*DeviceTensor{{pg, dgamma}, {pb, dbeta}} {
				if o[0] != nil {
					if err := d.reduceParts(ReduceSum, parts, 1, cols, 1, o[0], 0, o[1], cols, nil); err != nil {
						return err
					}
				}
			}
			return nil
		}
	}
	return d.launch("layernorm_bwd_affine", [3]int{(cols + 31) / 32, 1, 1}, [3]int{32, 8, 1}, 0,
		new(kargs).i(rows).i(cols).i(rows).p(gout).p(x).p(mean).p(rstd).p(dgamma).p(dbeta))
}

// ---- GEMM ----------------------------------------------------------------------

// GemmArgs describes a (batched) row-major GEMM C = alpha·op(A)·op(B) + beta·C
// with op(A) [M, K], op(B) [K, N], leading dimensions in elements and element
// strides between batch entries (0 broadcasts an operand).
type GemmArgs struct {
	TransA, TransB            bool
	M, N, K                   int
	Alpha, Beta               float32
	Lda, Ldb, Ldc             int
	Batch                     int // 0 or 1: a single product
	StrideA, StrideB, StrideC int64
	// Epilogue, if set, is applied to every element of C after the product:
	// C = act(C + bias[n]) (the bias and activation of a Linear layer, fused).
	Epilogue *Epilogue
}

// Epilogue is a GEMM epilogue: Bias [N] (nil: none) then activation Act (a
// UnOp, or NoAct) with parameter P (ELU alpha, ...).
type Epilogue struct {
	Bias *DeviceTensor
	Act  UnOp
	P    float32
}

// operandShapes returns the stored shapes of A (ar x ac) and B (br x bc):
// op(A) is M x K and op(B) K x N, transposed in storage when TransA / TransB.
func (g GemmArgs) operandShapes() (ar, ac, br, bc int) {
	ar, ac = g.M, g.K
	if g.TransA {
		ar, ac = g.K, g.M
	}
	br, bc = g.K, g.N
	if g.TransB {
		br, bc = g.N, g.K
	}
	return ar, ac, br, bc
}

func gemmSpan(rows, cols, ld int) int {
	if rows == 0 || cols == 0 {
		return 0
	}
	return (rows-1)*ld + cols
}

// Gemm runs g on device tensors a, b, c (c is read only when Beta != 0). It uses
// sgemm_tf32 when d.TF32 is set, otherwise the FP32 kernel pickGemm chooses
// (sgemm_small, sgemm_tiled, sgemm_128 or sgemm_128x64), or under UseVecGemm
// (the default) the k-16 float4-load twin of a 128-row kernel when the
// operands allow (same results bit for bit). A single product whose 64x64
// tiles cover fewer blocks than the device has SMs and whose K is long (a
// weight gradient over 2048 node rows) is split along K into slices computed
// side by side and summed in fixed order (splitKPlan; inside a Capture only
// when the device's scratch buffer already holds the slices).
func (d *Device) Gemm(g GemmArgs, a, b, c *DeviceTensor) error {
	if d.TF32 {
		k, _ := gemmByName("sgemm_tf32")
		return d.gemm(k, g, a, b, c)
	}
	if g.Batch <= 1 && g.M > 0 && g.N > 0 {
		if slices, kc := splitKPlan(g.M, g.N, g.K, d.Info.SMs); slices > 1 {
			if done, err := d.gemmSplitK(g, slices, kc, a, b, c); done {
				return err
			}
		}
	}
	return d.gemm(d.pick(g, a, b), g, a, b, c)
}

// pick returns the FP32 kernel for g: pickGemm's, or under UseVecGemm its
// k-16 twin when the operands allow.
func (d *Device) pick(g GemmArgs, a, b *DeviceTensor) gemmKernel {
	k := pickGemm(g.M, g.N, g.K, g.Batch, d.Info.SMs)
	if d.vecGemm && gemmVecOK(uintptr(a.ptr), uintptr(b.ptr), g.Lda, g.Ldb, g.StrideA, g.StrideB) {
		if k.name == "sgemm_tiled" && preferVec16(g.M, g.N, g.K) {
			k, _ = gemmByName("sgemm_128x64v16")
		} else if v, ok := vecTwin(k); ok {
			k = v
		}
	}
	return k
}

// gemmSplitK computes g by splitKPlan's slices (splitProducts), batched into
// the scratch buffer, then C = alpha·Σ + beta·C with g's epilogue in fixed
// order (reduce_parts). It reports done = false, having queued nothing, when
// no scratch is available (a Capture with too small a buffer).
func (d *Device) gemmSplitK(g GemmArgs, slices, kc int, a, b, c *DeviceTensor) (done bool, err error) {
	g.checkOperands(a, b, c) // the slices' launches check views, not C or the bias
	sp := splitProducts(g.TransA, g.TransB, g.M, g.N, g.K, g.Lda, g.Ldb, slices, kc)
	part := d.scratchFor(sp.parts * g.M * g.N)
	if part == nil {
		return false, nil
	}
	for _, p := range sp.products {
		pg := GemmArgs{TransA: g.TransA, TransB: g.TransB, M: g.M, N: g.N, K: p.k, Alpha: 1,
			Lda: g.Lda, Ldb: g.Ldb, Ldc: g.N, Batch: p.batch, StrideA: p.strideA, StrideB: p.strideB, StrideC: p.strideC}
		pa, pb := a.offset(p.offA, a.n-p.offA), b.offset(p.offB, b.n-p.offB)
		pc := part.offset(p.offC, part.n-p.offC)
		if err := d.gemm(d.pick(pg, pa, pb), pg, pa, pb, pc); err != nil {
			return true, err
		}
	}
	return true, d.reduceParts(ReduceSum, sp.parts, g.M, g.N, g.Alpha, part, g.Beta, c, g.Ldc, g.Epilogue)
}

// countGemm records one launch of GEMM kernel name (GemmLaunches).
func (d *Device) countGemm(name string) {
	d.mu.Lock()
	if d.gemmLaunches == nil {
		d.gemmLaunches = map[string]int64{}
	}
	d.gemmLaunches[name]++
	d.mu.Unlock()
}

// GemmLaunches returns how many times each GEMM kernel has been launched on
// this device (a copy): which kernels a model's products actually run on.
// Launches recorded into a CUDA graph count once, its replays not at all.
func (d *Device) GemmLaunches() map[string]int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string]int64, len(d.gemmLaunches))
	for k, v := range d.gemmLaunches {
		out[k] = v
	}
	return out
}

// UseVecGemm switches Gemm (and MatMul, Linear and the model runners built on
// them) between the k-16 float4-load twins of the 128-row kernels
// (gemm_fast.cu; on by default: 43-44 TFLOP/s against 30-31 for the
// scalar-load kernels at the readout shapes, 64 % of FP32 peak, on an H200)
// and the scalar-load kernels. On loads their lazy module now: its JIT takes
// seconds, which should not land in whatever the caller times next.
func (d *Device) UseVecGemm(on bool) error {
	if on {
		err := d.do(func() error {
			for _, k := range vecGemms {
				if f, lazy := d.lazy[k.name]; lazy {
					if err := d.loadModule(f); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	d.vecGemm = on
	return nil
}

// GemmWith runs g with a named kernel ("sgemm_tiled", "sgemm_128",
// "sgemm_128x64", "sgemm_tf32", or the float4-load "sgemm_128v",
// "sgemm_128x64v", "sgemm_128v16" and "sgemm_128x64v16", which need aligned
// operands: see gemmVecOK).
func (d *Device) GemmWith(kernel string, g GemmArgs, a, b, c *DeviceTensor) error {
	k, ok := gemmByName(kernel)
	if !ok {
		return fmt.Errorf("kernels: unknown GEMM kernel %q", kernel)
	}
	return d.gemm(k, g, a, b, c)
}

// checkOperands panics unless a, b and c hold g's operands (leading
// dimensions, batch strides and the epilogue's bias).
func (g GemmArgs) checkOperands(a, b, c *DeviceTensor) {
	batch := max(g.Batch, 1)
	ar, ac, br, bc := g.operandShapes()
	need := func(what string, t *DeviceTensor, rows, cols, ld int, stride int64) {
		if rows > 0 && cols > 0 && ld < cols {
			panic(fmt.Sprintf("kernels: Gemm: leading dimension of %s %d < %d", what, ld, cols))
		}
		span := int64(gemmSpan(rows, cols, ld)) + int64(batch-1)*stride
		if span > int64(t.n) {
			panic(fmt.Sprintf("kernels: Gemm: %s %v holds %d values, needs %d (%+v)", what, t.shape, t.n, span, g))
		}
	}
	need("A", a, ar, ac, g.Lda, g.StrideA)
	need("B", b, br, bc, g.Ldb, g.StrideB)
	need("C", c, g.M, g.N, g.Ldc, g.StrideC)
	if e := g.Epilogue; e != nil && e.Bias != nil && e.Bias.n < g.N {
		panic(fmt.Sprintf("kernels: Gemm epilogue bias %v for N = %d", e.Bias.shape, g.N))
	}
}

func (d *Device) gemm(k gemmKernel, g GemmArgs, a, b, c *DeviceTensor) error {
	batch := max(g.Batch, 1)
	g.checkOperands(a, b, c)
	if g.M == 0 || g.N == 0 {
		return nil
	}
	if k.vec && !gemmVecOK(uintptr(a.ptr), uintptr(b.ptr), g.Lda, g.Ldb, g.StrideA, g.StrideB) {
		return fmt.Errorf("kernels: %s needs 16-byte aligned A and B with leading dimensions and batch strides that are multiples of 4 (lda %d, ldb %d, strides %d, %d)",
			k.name, g.Lda, g.Ldb, g.StrideA, g.StrideB)
	}
	if batch > 65535 {
		panic(fmt.Sprintf("kernels: Gemm batch %d > 65535", batch))
	}
	var bias *DeviceTensor
	act, actp := NoAct, float32(0)
	if e := g.Epilogue; e != nil {
		bias, act, actp = e.Bias, e.Act, e.P
	}
	grid := [3]int{(g.N + k.tn - 1) / k.tn, (g.M + k.tm - 1) / k.tm, batch}
	d.countGemm(k.name)
	tag := k.name
	if d.profiling() {
		tag = gemmTag(k.name, g)
	}
	return d.launchTagged(tag, k.name, grid, [3]int{k.threads, 1, 1}, 0,
		new(kargs).i(b2i(g.TransA)).i(b2i(g.TransB)).i(g.M).i(g.N).i(g.K).f(g.Alpha).
			p(a).i(max(g.Lda, 1)).i64(g.StrideA).p(b).i(max(g.Ldb, 1)).i64(g.StrideB).
			f(g.Beta).p(c).i(max(g.Ldc, 1)).i64(g.StrideC).p(bias).i(int(act)).f(actp))
}

// MatMul computes out = a·b for a [M, K], b [K, N] (or batched a [Bt, M, K],
// b [Bt, K, N] or b [K, N] shared), out [.., M, N].
func (d *Device) MatMul(a, b, out *DeviceTensor) error {
	if len(a.shape) < 2 || len(b.shape) < 2 {
		panic(fmt.Sprintf("kernels: MatMul %v x %v", a.shape, b.shape))
	}
	m, k := a.shape[len(a.shape)-2], a.shape[len(a.shape)-1]
	k2, n := b.shape[len(b.shape)-2], b.shape[len(b.shape)-1]
	if k != k2 {
		panic(fmt.Sprintf("kernels: MatMul %v x %v", a.shape, b.shape))
	}
	batch := a.n / max(m*k, 1)
	var sb int64
	if b.n > k*n {
		if b.n/(k*n) != batch {
			panic(fmt.Sprintf("kernels: MatMul batch %v x %v", a.shape, b.shape))
		}
		sb = int64(k * n)
	}
	if out.n != batch*m*n {
		panic(fmt.Sprintf("kernels: MatMul %v x %v into %v", a.shape, b.shape, out.shape))
	}
	return d.Gemm(GemmArgs{M: m, N: n, K: k, Alpha: 1, Lda: k, Ldb: n, Ldc: n, Batch: batch,
		StrideA: int64(m * k), StrideB: sb, StrideC: int64(m * n)}, a, b, out)
}

// Linear computes out = act(x·wᵀ + bias) for x [..., in], w [out, in] (PyTorch
// layout), bias [out] or nil, act a UnOp or NoAct: one GEMM launch with the
// bias and activation in its epilogue.
func (d *Device) Linear(x, w, bias *DeviceTensor, act UnOp, p float32, out *DeviceTensor) error {
	rows, in := lastDim("Linear", x)
	if len(w.shape) != 2 || w.shape[1] != in {
		panic(fmt.Sprintf("kernels: Linear x %v, w %v", x.shape, w.shape))
	}
	o := w.shape[0]
	if out.n != rows*o {
		panic(fmt.Sprintf("kernels: Linear x %v, w %v into %v", x.shape, w.shape, out.shape))
	}
	if bias != nil && bias.n != o {
		panic(fmt.Sprintf("kernels: Linear bias %v for %d outputs", bias.shape, o))
	}
	g := GemmArgs{TransB: true, M: rows, N: o, K: in, Alpha: 1, Lda: in, Ldb: in, Ldc: o}
	if bias != nil || act != NoAct {
		g.Epilogue = &Epilogue{Bias: bias, Act: act, P: p}
	}
	return d.Gemm(g, x, w, out)
}

// LinearBackward is the backward of Linear without activation (apply
// UnaryGrad first for one): for x [R, in], w [out, in], gout [R, out] it writes
// dx = gout·w [R, in] (dx may be nil) and accumulates dw += goutᵀ·x [out, in]
// and db += Σ_r gout [out] (each may be nil), so gradients of a weight used
// several times (or over micro-batches) add up in place. dbTmp [out] is scratch
// for the bias sum (required when db is non-nil).
func (d *Device) LinearBackward(x, w, gout, dx, dw, db, dbTmp *DeviceTensor) error {
	rows, in := lastDim("LinearBackward", x)
	o := w.shape[0]
	if len(w.shape) != 2 || w.shape[1] != in || gout.n != rows*o {
		panic(fmt.Sprintf("kernels: LinearBackward x %v, w %v, gout %v", x.shape, w.shape, gout.shape))
	}
	if dx != nil {
		if err := d.Gemm(GemmArgs{M: rows, N: in, K: o, Alpha: 1, Lda: o, Ldb: in, Ldc: in}, gout, w, dx); err != nil {
			return err
		}
	}
	if dw != nil {
		if err := d.Gemm(GemmArgs{TransA: true, M: o, N: in, K: rows, Alpha: 1, Beta: 1, Lda: o, Ldb: in, Ldc: in}, gout, x, dw); err != nil {
			return err
		}
	}
	if db != nil {
		if dbTmp == nil || dbTmp.n != o {
			panic(fmt.Sprintf("kernels: LinearBackward needs a [%d] scratch for the bias gradient", o))
		}
		if err := d.ReduceMid(ReduceSum, gout, 1, rows, o, dbTmp); err != nil {
			return err
		}
		return d.Binary(Add, db, dbTmp, db)
	}
	return nil
}

// ---- graph convolution -------------------------------------------------------------

func graphDims(op string, a1 *DeviceTensor, h *DeviceTensor) (b, n, c int) {
	if len(h.shape) != 3 || len(a1.shape) != 2 || a1.shape[0] != h.shape[1] || a1.shape[1] != h.shape[1] {
		panic(fmt.Sprintf("kernels: %s: adjacency %v, features %v (want [N, N], [B, N, C])", op, a1.shape, h.shape))
	}
	if h.shape[1] > 32 {
		panic(fmt.Sprintf("kernels: %s supports N <= 32 nodes, got %d", op, h.shape[1]))
	}
	return h.shape[0], h.shape[1], h.shape[2]
}

// GraphAdj2 computes out1[b] = op(a1)·h[b] and out2[b] = op(a2)·h[b] for every
// graph b of h [B, N, C] (op = transpose when trans). a2, out2 may be nil.
func (d *Device) GraphAdj2(trans bool, a1, a2, h, out1, out2 *DeviceTensor) error {
	b, n, c := graphDims("GraphAdj2", a1, h)
	sameLen("GraphAdj2", h, out1, out2)
	if b*n*c == 0 {
		return nil
	}
	return d.launch("graph_adj2", [3]int{b, 1, 1}, [3]int{128, 1, 1}, 0,
		new(kargs).i(b).i(n).i(c).i(b2i(trans)).p(a1).p(a2).p(h).p(out1).p(out2))
}

// GraphAdj2Sum computes out[b] = op(a1)·x1[b] + op(a2)·x2[b] (a2, x2 may be nil):
// the backward of GraphAdj2 with trans = true.
func (d *Device) GraphAdj2Sum(trans bool, a1, x1, a2, x2, out *DeviceTensor) error {
	b, n, c := graphDims("GraphAdj2Sum", a1, x1)
	sameLen("GraphAdj2Sum", x1, x2, out)
	if b*n*c == 0 {
		return nil
	}
	return d.launch("graph_adj2_sum", [3]int{b, 1, 1}, [3]int{128, 1, 1}, 0,
		new(kargs).i(b).i(n).i(c).i(b2i(trans)).p(a1).p(x1).p(a2).p(x2).p(out))
}

// DiGCNCombine computes out = (ReLU(y1) + ReLU(y2))/2.
func (d *Device) DiGCNCombine(y1, y2, out *DeviceTensor) error {
	n := sameLen("DiGCNCombine", y1, y2, out)
	if n == 0 {
		return nil
	}
	return d.launch("digcn_combine", d.grid1(n, ewThreads), [3]int{ewThreads, 1, 1}, 0,
		new(kargs).i(n).p(y1).p(y2).p(out))
}

// DiGCNCombineBackward computes g1 = g/2·[y1>0], g2 = g/2·[y2>0].
func (d *Device) DiGCNCombineBackward(y1, y2, g, g1, g2 *DeviceTensor) error {
	n := sameLen("DiGCNCombineBackward", y1, y2, g, g1, g2)
	if n == 0 {
		return nil
	}
	return d.launch("digcn_combine_bwd", d.grid1(n, ewThreads), [3]int{ewThreads, 1, 1}, 0,
		new(kargs).i(n).p(y1).p(y2).p(g).p(g1).p(g2))
}

// DiGCNWork holds the intermediates of one DiGCN layer that the backward
// needs, and the backward's scratch; allocate once per shape (NewDiGCNWork)
// and reuse every step.
type DiGCNWork struct {
	P1, P2   *DeviceTensor // Â·H, Âᵀₙ·H  [B, N, in]
	Y1, Y2   *DeviceTensor // P1·W1ᵀ, P2·W2ᵀ  [B·N, out]
	G1, G2   *DeviceTensor // backward: gradients at Y1, Y2  [B·N, out]
	DP1, DP2 *DeviceTensor // backward: gradients at P1, P2  [B·N, in]
}

// NewDiGCNWork allocates the buffers of a DiGCN layer for b graphs of n nodes.
func (d *Device) NewDiGCNWork(b, n, in, out int) (*DiGCNWork, error) {
	w := &DiGCNWork{}
	bufs := []struct {
		p     **DeviceTensor
		shape []int
	}{{&w.P1, []int{b, n, in}}, {&w.P2, []int{b, n, in}}, {&w.Y1, []int{b * n, out}}, {&w.Y2, []int{b * n, out}},
		{&w.G1, []int{b * n, out}}, {&w.G2, []int{b * n, out}}, {&w.DP1, []int{b * n, in}}, {&w.DP2, []int{b * n, in}}}
	for _, x := range bufs {
		t, err := d.Empty(x.shape...)
		if err != nil {
			w.Free()
			return nil, err
		}
		*x.p = t
	}
	return w, nil
}

// Free releases the buffers.
func (w *DiGCNWork) Free() {
	for _, t := range []*DeviceTensor{w.P1, w.P2, w.Y1, w.Y2, w.G1, w.G2, w.DP1, w.DP2} {
		t.Free() // nil-safe
	}
}

// DiGCNForward computes the predictor's directed graph convolution
// out = (ReLU(Â·H·W1ᵀ) + ReLU(Âᵀₙ·H·W2ᵀ))/2 for h [B, N, in], fwd/bwd [N, N],
// w1/w2 [out, in], keeping the intermediates in wk (no dropout: apply Dropout
// to out when training).
func (d *Device) DiGCNForward(h, fwd, bwd, w1, w2 *DeviceTensor, wk *DiGCNWork, out *DeviceTensor) error {
	b, n, in := graphDims("DiGCNForward", fwd, h)
	if err := d.GraphAdj2(false, fwd, bwd, h, wk.P1, wk.P2); err != nil {
		return err
	}
	if err := d.Linear(wk.P1.Reshape(b*n, in), w1, nil, NoAct, 0, wk.Y1); err != nil {
		return err
	}
	if err := d.Linear(wk.P2.Reshape(b*n, in), w2, nil, NoAct, 0, wk.Y2); err != nil {
		return err
	}
	return d.DiGCNCombine(wk.Y1, wk.Y2, out)
}

// DiGCNBackward is the backward of DiGCNForward (same h, adjacencies, weights
// and wk) for the upstream gradient gout [B, N, out]: it writes dh (nil: not
// wanted; the guidance gradient d prediction / d x needs it) and accumulates
// dw1, dw2 (nil: not wanted).
func (d *Device) DiGCNBackward(h, fwd, bwd, w1, w2 *DeviceTensor, wk *DiGCNWork, gout, dh, dw1, dw2 *DeviceTensor) error {
	b, n, in := graphDims("DiGCNBackward", fwd, h)
	if err := d.DiGCNCombineBackward(wk.Y1, wk.Y2, gout, wk.G1, wk.G2); err != nil {
		return err
	}
	var dp1, dp2 *DeviceTensor
	if dh != nil {
		dp1, dp2 = wk.DP1, wk.DP2
	}
	p1, p2 := wk.P1.Reshape(b*n, in), wk.P2.Reshape(b*n, in)
	if err := d.LinearBackward(p1, w1, wk.G1, dp1, dw1, nil, nil); err != nil {
		return err
	}
	if err := d.LinearBackward(p2, w2, wk.G2, dp2, dw2, nil, nil); err != nil {
		return err
	}
	if dh == nil {
		return nil
	}
	return d.GraphAdj2Sum(true, fwd, wk.DP1.Reshape(b, n, in), bwd, wk.DP2.Reshape(b, n, in), dh)
}

// ---- attention -------------------------------------------------------------------

func attnCheck(q, k, v, mask *DeviceTensor) (b, h, n, dd, maskStride int) {
	if len(q.shape) != 4 {
		panic(fmt.Sprintf("kernels: attention q %v, want [B, H, N, D]", q.shape))
	}
	b, h, n, dd = q.shape[0], q.shape[1], q.shape[2], q.shape[3]
	sameLen("attention", q, k, v)
	if n > 32 || dd > 64 {
		panic(fmt.Sprintf("kernels: attention supports N <= 32, D <= 64; got %v", q.shape))
	}
	if mask != nil {
		switch mask.n {
		case n * n:
			maskStride = 0
		case b * n * n:
			maskStride = n * n
		default:
			panic(fmt.Sprintf("kernels: attention mask %v for q %v (want [N, N] or [B, N, N])", mask.shape, q.shape))
		}
	}
	return
}

// Attention is fused masked multi-head attention for tiny graphs (one block per
// graph): out = softmax(scale·QKᵀ masked)·V for q, k, v, out [B, H, N, D] and
// probs [B, H, N, N] (the weights, for the backward). mask is nil, [N, N] or
// [B, N, N] 0/1 (0 = masked, score -1e9: a fully masked row is uniform).
func (d *Device) Attention(q, k, v, mask *DeviceTensor, scale float32, out, probs *DeviceTensor) error {
	b, h, n, dd, ms := attnCheck(q, k, v, mask)
	sameLen("Attention", q, out)
	if probs.n != b*h*n*n {
		panic(fmt.Sprintf("kernels: Attention probs %v for q %v", probs.shape, q.shape))
	}
	if q.n == 0 {
		return nil
	}
	shm := 4 * (3*h*n*dd + h*n*n)
	if shm > 48<<10 {
		panic(fmt.Sprintf("kernels: Attention of %v needs %d bytes of shared memory (> 48 KiB)", q.shape, shm))
	}
	return d.launch("attn_fwd", [3]int{b, 1, 1}, [3]int{attnThreads(h * n), 1, 1}, shm,
		new(kargs).i(b).i(h).i(n).i(dd).f(scale).p(q).p(k).p(v).p(mask).i(ms).p(out).p(probs))
}

// AttentionBackward writes dq, dk, dv (each may be nil) from the upstream
// gradient gout and the forward's probs. Masked scores pass no gradient.
func (d *Device) AttentionBackward(q, k, v, mask, probs, gout *DeviceTensor, scale float32, dq, dk, dv *DeviceTensor) error {
	b, h, n, dd, ms := attnCheck(q, k, v, mask)
	sameLen("AttentionBackward", q, gout, dq, dk, dv)
	if q.n == 0 {
		return nil
	}
	shm := 4 * (4*h*n*dd + 2*h*n*n)
	if shm > 48<<10 {
		panic(fmt.Sprintf("kernels: AttentionBackward of %v needs %d bytes of shared memory (> 48 KiB)", q.shape, shm))
	}
	return d.launch("attn_bwd", [3]int{b, 1, 1}, [3]int{attnThreads(h * n), 1, 1}, shm,
		new(kargs).i(b).i(h).i(n).i(dd).f(scale).p(q).p(k).p(v).p(mask).i(ms).p(probs).p(gout).p(dq).p(dk).p(dv))
}

func attnThreads(rows int) int {
	t := (rows + 31) / 32 * 32
	return min(max(t, 32), 256)
}

// ---- random numbers and SDE steps -------------------------------------------------

// PhiloxRaw returns the Philox4x32-10 words of blocks 0..nblocks-1 of the
// (seed, offset) stream, computed on the device (for bit-exact tests against
// PhiloxBlock).
func (d *Device) PhiloxRaw(nblocks int, seed, offset uint64) ([]uint32, error) {
	buf, err := d.Empty(4 * nblocks)
	if err != nil {
		return nil, err
	}
	defer buf.Free()
	if err := d.launch("philox_raw", d.grid1(nblocks, ewThreads), [3]int{ewThreads, 1, 1}, 0,
		new(kargs).i(nblocks).u64(seed).u64(offset).p(buf)); err != nil {
		return nil, err
	}
	out := make([]uint32, 4*nblocks)
	if err := buf.copyToRaw(unsafe.Pointer(&out[0]), 4*len(out)); err != nil {
		return nil, err
	}
	return out, nil
}

// FillNormal sets x[i] = mean + std·z_i, z_i normal i of the (seed, offset)
// stream (NormalsRef on the CPU).
func (d *Device) FillNormal(x *DeviceTensor, seed, offset uint64, mean, std float32) error {
	if x.n == 0 {
		return nil
	}
	return d.launch("philox_normal", d.grid1((x.n+3)/4, ewThreads), [3]int{ewThreads, 1, 1}, 0,
		new(kargs).i(x.n).u64(seed).u64(offset).f(mean).f(std).p(x))
}

// SDEPredictor applies one Euler–Maruyama (or reverse-diffusion) predictor
// step in place: xmean = ca·x + cs·score, x = xmean + nz·z with z normal i of
// the (seed, offset) stream. xmean may be nil. See package sde for ca, cs, nz.
func (d *Device) SDEPredictor(x, score, xmean *DeviceTensor, ca, cs, nz float32, seed, offset uint64) error {
	n := sameLen("SDEPredictor", x, score, xmean)
	if n == 0 {
		return nil
	}
	return d.launch("sde_predictor", d.grid1((n+3)/4, ewThreads), [3]int{ewThreads, 1, 1}, 0,
		new(kargs).i(n).f(ca).f(cs).f(nz).u64(seed).u64(offset).p(x).p(score).p(xmean))
}

// LangevinWork is the scratch of the Langevin corrector for batch size B.
type LangevinWork struct {
	Norms *DeviceTensor // [2B]: ‖grad_b‖ then ‖z_b‖
	Info  *DeviceTensor // [2]: step size and mean score norm of the last step
}

// NewLangevinWork allocates the corrector scratch for b samples.
func (d *Device) NewLangevinWork(b int) (*LangevinWork, error) {
	n, err := d.Empty(2 * b)
	if err != nil {
		return nil, err
	}
	info, err := d.Zeros(2)
	if err != nil {
		n.Free()
		return nil, err
	}
	return &LangevinWork{Norms: n, Info: info}, nil
}

// Free releases the scratch.
func (w *LangevinWork) Free() { w.Norms.Free(); w.Info.Free() }

// LangevinCorrector applies one Langevin corrector step of package sde in
// place (batch-averaged norms): for x, grad [B, ...], z normal i of the (seed,
// offset) stream, step = 2·alpha·(snr·mean_b‖z_b‖/mean_b‖grad_b‖)²,
// xmean = x + step·grad, x = xmean + √(2·step)·z. Two launches, no host sync.
func (d *Device) LangevinCorrector(x, grad, xmean *DeviceTensor, b int, snr, alpha float32, seed, offset uint64, w *LangevinWork) error {
	n := sameLen("LangevinCorrector", x, grad, xmean)
	if b <= 0 || n%b != 0 || w.Norms.n != 2*b {
		panic(fmt.Sprintf("kernels: LangevinCorrector: %d elements, batch %d, norms %v", n, b, w.Norms.shape))
	}
	if n == 0 {
		return nil
	}
	per := n / b
	if err := d.launch("langevin_norms", [3]int{b, 1, 1}, [3]int{128, 1, 1}, 0,
		new(kargs).i(b).i(per).p(grad).u64(seed).u64(offset).p(w.Norms)); err != nil {
		return err
	}
	return d.launch("langevin_update", d.grid1((n+3)/4, ewThreads), [3]int{ewThreads, 1, 1}, 0,
		new(kargs).i(b).i(per).f(snr).f(alpha).p(w.Norms).p(grad).u64(seed).u64(offset).p(x).p(xmean).p(w.Info))
}

// ---- optimiser --------------------------------------------------------------------

// AdamStep holds the per-step scalars of the fused Adam+EMA kernel, computed
// on the host as autograd/optim does.
type AdamStep struct {
	StepSize, Bc2Sqrt, W1, B2, W2, Eps, WD, EMARate float32
}

// NewAdamStep returns the scalars of Adam step t (1-based) with learning rate
// lr, betas, eps, L2 weight decay wd, and EMA decay emaDecay for this update
// (optim.EMA.NextDecay(); ignored without an EMA shadow).
func NewAdamStep(lr, beta1, beta2, eps, wd float64, t int64, emaDecay float64) AdamStep {
	bc1 := 1 - math.Pow(beta1, float64(t))
	bc2 := 1 - math.Pow(beta2, float64(t))
	return AdamStep{StepSize: float32(lr / bc1), Bc2Sqrt: float32(math.Sqrt(bc2)), W1: float32(1 - beta1),
		B2: float32(beta2), W2: float32(1 - beta2), Eps: float32(eps), WD: float32(wd), EMARate: float32(1 - emaDecay)}
}

// AdamEMA applies one fused Adam update to parameters p with gradient g and
// moments m, v, and moves the EMA shadow (nil: no EMA) toward the new p.
func (d *Device) AdamEMA(p, g, m, v, shadow *DeviceTensor, s AdamStep) error {
	n := sameLen("AdamEMA", p, g, m, v, shadow)
	if n == 0 {
		return nil
	}
	return d.launch("adam_ema", d.grid1(n, ewThreads), [3]int{ewThreads, 1, 1}, 0,
		new(kargs).i(n).p(p).p(g).p(m).p(v).p(shadow).f(s.StepSize).f(s.Bc2Sqrt).f(s.W1).f(s.B2).f(s.W2).
			f(s.Eps).f(s.WD).f(s.EMARate))
}

// ---- data movement ----------------------------------------------------------------

// Copy2D copies a rows x cols block: dst[r·dstLd + dstOff + c] = src[r·srcLd +
// srcOff + c]. With the leading dimensions of [rows, ·] tensors it slices and
// concatenates along the last axis (ConcatLast, and the backward by copying
// back out).
func (d *Device) Copy2D(rows, cols int, src *DeviceTensor, srcLd, srcOff int, dst *DeviceTensor, dstLd, dstOff int) error {
	if rows == 0 || cols == 0 {
		return nil
	}
	if srcOff+cols > srcLd || dstOff+cols > dstLd || (rows-1)*srcLd+srcOff+cols > src.n || (rows-1)*dstLd+dstOff+cols > dst.n {
		panic(fmt.Sprintf("kernels: Copy2D %dx%d from %v (ld %d, off %d) to %v (ld %d, off %d)", rows, cols, src.shape, srcLd, srcOff, dst.shape, dstLd, dstOff))
	}
	return d.launch("copy2d", d.grid1(rows*cols, ewThreads), [3]int{ewThreads, 1, 1}, 0,
		new(kargs).i(rows).i(cols).p(src).i(srcLd).i(srcOff).p(dst).i(dstLd).i(dstOff))
}

// ConcatLast writes the concatenation of ts (each [R, c_i]) along the last
// axis into out [R, Σc_i].
func (d *Device) ConcatLast(out *DeviceTensor, ts ...*DeviceTensor) error {
	rows, width := lastDim("ConcatLast", out)
	off := 0
	for _, t := range ts {
		r, c := lastDim("ConcatLast", t)
		if r != rows {
			panic(fmt.Sprintf("kernels: ConcatLast %v into %v", t.shape, out.shape))
		}
		if err := d.Copy2D(rows, c, t, c, 0, out, width, off); err != nil {
			return err
		}
		off += c
	}
	if off != width {
		panic(fmt.Sprintf("kernels: ConcatLast widths sum to %d, out %v", off, out.shape))
	}
	return nil
}

// UploadIndices uploads row indices for GatherRows / ScatterAddRows (stored as
// float32, exact below 2^24), checking that each is in [0, v).
func (d *Device) UploadIndices(ids []int, v int) (*DeviceTensor, error) {
	f := make([]float32, len(ids))
	for i, id := range ids {
		if id < 0 || id >= v || id >= 1<<24 {
			return nil, fmt.Errorf("kernels: index %d at position %d outside [0, %d)", id, i, v)
		}
		f[i] = float32(id)
	}
	return d.UploadSlice(f, len(ids))
}

// GatherRows computes out[i] = table[ids[i]] for table [V, C], ids from
// UploadIndices, out [len(ids), C]: embedding lookup / index_select on axis 0.
func (d *Device) GatherRows(table, ids, out *DeviceTensor) error {
	v, c := tableDims("GatherRows", table)
	if out.n != ids.n*c {
		panic(fmt.Sprintf("kernels: GatherRows %d indices of %v into %v", ids.n, table.shape, out.shape))
	}
	if out.n == 0 {
		return nil
	}
	return d.launch("gather_rows", d.grid1(out.n, ewThreads), [3]int{ewThreads, 1, 1}, 0,
		new(kargs).i(ids.n).i(c).i(v).p(table).p(ids).p(out))
}

// ScatterAddRows accumulates dtable[ids[i]] += g[i] (the backward of
// GatherRows; repeated indices add up).
func (d *Device) ScatterAddRows(g, ids, dtable *DeviceTensor) error {
	v, c := tableDims("ScatterAddRows", dtable)
	if g.n != ids.n*c {
		panic(fmt.Sprintf("kernels: ScatterAddRows %v with %d indices into %v", g.shape, ids.n, dtable.shape))
	}
	if g.n == 0 {
		return nil
	}
	return d.launch("scatter_add_rows", d.grid1(g.n, ewThreads), [3]int{ewThreads, 1, 1}, 0,
		new(kargs).i(ids.n).i(c).i(v).p(g).p(ids).p(dtable))
}

func tableDims(op string, t *DeviceTensor) (v, c int) {
	if len(t.shape) != 2 {
		panic(fmt.Sprintf("kernels: %s table %v, want [V, C]", op, t.shape))
	}
	return t.shape[0], t.shape[1]
}

// HeadsPermute moves c stacked multi-head projections between the packed
// layout of a Linear output, packed [B·N, c·H·D] (q, k, v side by side when
// c = 3), and c consecutive per-head tensors [B, H, N, D] in heads (the
// layout of Attention). merge = false splits packed into heads; merge = true
// writes heads back into packed (the backward of the split, and how attention
// outputs return to the node-row layout).
func (d *Device) HeadsPermute(b, n, c, h, dd int, merge bool, packed, heads *DeviceTensor) error {
	tot := b * n * c * h * dd
	if packed.n != tot || heads.n != tot {
		panic(fmt.Sprintf("kernels: HeadsPermute [B %d, N %d, C %d, H %d, D %d]: packed %v, heads %v", b, n, c, h, dd, packed.shape, heads.shape))
	}
	if tot == 0 {
		return nil
	}
	src, dst := packed, heads
	if merge {
		src, dst = heads, packed
	}
	return d.launch("heads_permute", d.grid1(tot, ewThreads), [3]int{ewThreads, 1, 1}, 0,
		new(kargs).i(b).i(n).i(c).i(h).i(dd).i(b2i(merge)).p(src).p(dst))
}
