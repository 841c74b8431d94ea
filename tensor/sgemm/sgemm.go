package sgemm

import (
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/nagml/nag/internal/par"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// Blocking parameters, sized for a core with 32 KiB L1d and 512 KiB-1 MiB L2:
// a KC x NR panel of packed B (16 KiB for 6x16) stays in L1 while the kernel
// sweeps the MC x KC block of packed A (~144 KiB) held in L2; the KC x NC
// block of packed B lives in L3.
const (
	blockK = 256
	blockM = 144 // multiple of every kernel's MR
	blockN = 4080

	// minParallelWork is the number of multiply-adds (m*n*k) below which a
	// product runs on the calling goroutine: the goroutine hand-off would
	// cost more than it saves.
	minParallelWork = 1 << 19

	// packAMinPanels is the number of B panels a task must sweep before
	// its A panels are packed rather than read in place.
	packAMinPanels = 32

	// smallBBytes is the size up to which the packed B panels of a task
	// are kept in L1 and A row panels become the outer loop.
	smallBBytes = 20 << 10
)

// pureGoEnv is true when NAG_PUREGO=1 was set at start-up.
var pureGoEnv = os.Getenv("NAG_PUREGO") == "1"

// kernel is a micro-kernel computing an mr x nr tile of C from packed panels.
type kernel struct {
	name   string
	mr, nr int
	// fn computes C = alpha*A*Bp + beta*C for one full tile, where element
	// (r, p) of the A panel is a[r*rs+p*cs] (packed: rs = 1, cs = mr; read
	// in place from row-major A: rs = lda, cs = 1) and Bp is a packed panel
	// of k groups of nr values. beta == 0 must overwrite C without reading it.
	fn func(k int, a []float32, rs, cs int, b, c []float32, ldc int, alpha, beta float32)

	// Optional fast packing of full panels (nil: packed in Go). packBN and
	// packAT copy k rows of nr resp. mr values (src[q*ld+j]); packBT and
	// packAN gather dst[q*n+j] = src[j*ld+q] for n = nr resp. mr, with k a
	// multiple of 8.
	packBN, packBT, packAN, packAT func(k int, src []float32, ld int, dst []float32)
	// epi applies row = act(row + bias) (bias may be nil).
	epi func(row, bias []float32, act Activation)
}

var (
	// defaultKernel is the kernel used unless Implementation.PureGo is set;
	// chosen once at init from the CPU features.
	defaultKernel = goKernel
	// asmKernels lists the assembly kernels this CPU can run (tests and
	// benchmarks exercise each); empty with purego or without AVX2+FMA.
	asmKernels []*kernel
)

// KernelName reports the micro-kernel the default Implementation uses, for
// example "avx2-fma-6x16" or "go-4x4".
func KernelName() string { return defaultKernel.name }

// Implementation is a blas.Float32Level3 whose Sgemm is the fast packed GEMM
// of this package; every other routine is gonum's. The zero value is ready
// to use.
type Implementation struct {
	gonum.Implementation

	// Workers bounds the goroutines one Sgemm call uses (the calling
	// goroutine included). Zero or negative means runtime.GOMAXPROCS(0).
	Workers int
	// PureGo selects the portable Go micro-kernel even on CPUs where an
	// assembly kernel is available.
	PureGo bool

	// kern overrides the micro-kernel (tests and benchmarks).
	kern *kernel
	// forceParallel uses Workers goroutines even for small products (tests).
	forceParallel bool
	// packA overrides the A-packing heuristic (tests): 1 packs every panel,
	// -1 only partial ones, 0 decides by shape.
	packA int
	// tune overrides blockK and blockM when tune[0] > 0 (benchmarks).
	tune [2]int
}

var _ blas.Float32Level3 = Implementation{}

// Sgemm computes
//
//	C = alpha * op(A) * op(B) + beta * C
//
// where op(X) is X or Xᵀ as selected by tA and tB, op(A) is m×k, op(B) is
// k×n and C is m×n, all row-major with leading dimensions lda, ldb and ldc.
// With beta == 0, C is overwritten (NaNs in it are not propagated); with
// alpha == 0 or k == 0, A and B are not read. Invalid arguments panic with
// gonum's blas messages.
func (impl Implementation) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	impl.gemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nil, None)
}

func (impl Implementation) kernel() *kernel {
	switch {
	case impl.kern != nil:
		return impl.kern
	case impl.PureGo:
		return goKernel
	}
	return defaultKernel
}

func (impl Implementation) workers() int {
	if impl.Workers > 0 {
		return impl.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// gemm validates the arguments and runs the blocked product with the
// epilogue C = act(C + bias) applied after the last K block.
func (impl Implementation) gemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, bias []float32, act Activation) {
	transA := checkTrans(tA)
	transB := checkTrans(tB)
	if m < 0 {
		panic("blas: m < 0")
	}
	if n < 0 {
		panic("blas: n < 0")
	}
	if k < 0 {
		panic("blas: k < 0")
	}
	if transA {
		if lda < max(1, m) {
			panic("blas: bad leading dimension of A")
		}
	} else if lda < max(1, k) {
		panic("blas: bad leading dimension of A")
	}
	if transB {
		if ldb < max(1, k) {
			panic("blas: bad leading dimension of B")
		}
	} else if ldb < max(1, n) {
		panic("blas: bad leading dimension of B")
	}
	if ldc < max(1, n) {
		panic("blas: bad leading dimension of C")
	}
	if act < None || act > SiLU {
		panic("sgemm: unknown activation")
	}
	if bias != nil && len(bias) < n {
		panic("sgemm: insufficient length of bias")
	}
	if m == 0 || n == 0 {
		return
	}
	if k > 0 {
		if transA {
			if len(a) < (k-1)*lda+m {
				panic("blas: insufficient length of a")
			}
		} else if len(a) < (m-1)*lda+k {
			panic("blas: insufficient length of a")
		}
		if transB {
			if len(b) < (n-1)*ldb+k {
				panic("blas: insufficient length of b")
			}
		} else if len(b) < (k-1)*ldb+n {
			panic("blas: insufficient length of b")
		}
	}
	if len(c) < (m-1)*ldc+n {
		panic("blas: insufficient length of c")
	}

	if alpha == 0 || k == 0 {
		// C = beta*C, then the epilogue; A and B are not referenced.
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			scaleRow(row, beta)
			if bias != nil || act != None {
				impl.kernel().epi(row, bias, act)
			}
		}
		return
	}

	ws := workspaces.Get().(*workspace)
	ws.p = problem{
		transA: transA, transB: transB,
		m: m, n: n, k: k,
		alpha: alpha, beta: beta,
		a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc,
		bias: bias, act: act,
		kern:      impl.kernel(),
		packAMode: impl.packA,
		tune:      impl.tune,
	}
	workers := impl.workers()
	if m*n*k < minParallelWork && !impl.forceParallel {
		workers = 1
	}
	ws.p.run(ws, workers)
	ws.p = problem{} // drop references to the caller's slices
	workspaces.Put(ws)
}

func checkTrans(t blas.Transpose) bool {
	switch t {
	case blas.NoTrans:
		return false
	case blas.Trans, blas.ConjTrans:
		return true
	}
	panic("blas: illegal transpose")
}

// scaleRow sets row = beta*row; beta == 0 writes zeros (dropping NaNs).
func scaleRow(row []float32, beta float32) {
	switch beta {
	case 1:
	case 0:
		clear(row)
	default:
		for j := range row {
			row[j] *= beta
		}
	}
}

// problem is one GEMM call split into blocks.
type problem struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a              []float32
	lda            int
	b              []float32
	ldb            int
	c              []float32
	ldc            int
	bias           []float32
	act            Activation
	kern           *kernel

	// Per-call blocking.
	kc           int  // K block size
	ncb          int  // N block size (multiple of nr)
	panelsPerBlk int  // A row panels per M block
	mBlocks      int  // M blocks
	nChunks      int  // N chunks each M block is split into
	nPanelsChunk int  // B column panels per N chunk
	packAllA     bool // pack every A panel (else only partial ones)
	packAMode    int  // Implementation.packA
	tune         [2]int

	// Current round (N block jc, K block pc).
	jc, pc, kb  int
	bPanels     int // B panels in this N block
	roundChunks int // N chunks in this N block
	betaNow     float32
	last        bool // last K block: apply the epilogue
	packedB     []float32
}

// workspace holds the state and packing buffers of one call; it is pooled
// so that a call allocates nothing on the single-worker path.
type workspace struct {
	p   problem
	b   []float32   // packed B block, shared by all workers
	a   [][]float32 // packed A block, one per worker
	tmp [][]float32 // one edge tile of C, one per worker
	// nextGroup and nextTask hand out B panel groups and compute tasks;
	// packed counts the B panels packed so far (a worker computes only once
	// all are packed).
	nextGroup, nextTask, packed atomic.Int64
}

var workspaces = sync.Pool{New: func() any { return new(workspace) }}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func (p *problem) run(ws *workspace, workers int) {
	mr, nr := p.kern.mr, p.kern.nr

	// Equal K blocks no larger than blockK.
	bk, bm := blockK, blockM
	if p.tune[0] > 0 {
		bk, bm = p.tune[0], p.tune[1]
	}
	p.kc = ceilDiv(p.k, ceilDiv(p.k, bk))
	nPanelsAll := ceilDiv(p.n, nr)
	p.ncb = min(ceilDiv(blockN, nr), nPanelsAll) * nr
	nPanelsBlk := p.ncb / nr

	// M blocks: about blockM rows each, their count rounded up to a multiple
	// of the workers so the dynamic schedule ends evenly.
	mPanels := ceilDiv(p.m, mr)
	mBlocks := ceilDiv(mPanels, max(1, bm/mr))
	if workers > 1 {
		mBlocks = min(ceilDiv(mBlocks, workers)*workers, mPanels)
	}
	p.panelsPerBlk = ceilDiv(mPanels, mBlocks)
	p.mBlocks = ceilDiv(mPanels, p.panelsPerBlk)
	// Too few M blocks to keep every worker busy: split N as well.
	p.nChunks = 1
	if p.mBlocks < 2*workers {
		p.nChunks = min(ceilDiv(2*workers, p.mBlocks), nPanelsBlk)
	}
	p.nPanelsChunk = ceilDiv(nPanelsBlk, p.nChunks)
	p.nChunks = ceilDiv(nPanelsBlk, p.nPanelsChunk)
	workers = min(workers, p.mBlocks*p.nChunks)
	// Packing A costs a pass over it per K block; it pays off when each
	// packed panel is reused across many B panels.
	p.packAllA = p.nPanelsChunk >= packAMinPanels
	if p.packAMode != 0 {
		p.packAllA = p.packAMode > 0
	}

	ws.b = grow(ws.b, p.kc*p.ncb)
	for len(ws.a) < workers {
		ws.a = append(ws.a, nil)
	}
	for len(ws.tmp) < workers {
		ws.tmp = append(ws.tmp, make([]float32, 16*24))
	}
	for w := 0; w < workers; w++ {
		ws.a[w] = grow(ws.a[w], p.kc*p.panelsPerBlk*mr)
	}

	for p.jc = 0; p.jc < p.n; p.jc += p.ncb {
		p.bPanels = ceilDiv(min(p.ncb, p.n-p.jc), nr)
		for p.pc = 0; p.pc < p.k; p.pc += p.kc {
			p.kb = min(p.kc, p.k-p.pc)
			p.betaNow = p.beta
			if p.pc > 0 {
				p.betaNow = 1
			}
			p.last = p.pc+p.kb == p.k
			p.packedB = ws.b[:p.kb*p.bPanels*nr]
			p.roundChunks = ceilDiv(p.bPanels, p.nPanelsChunk)
			p.parallel(ws, workers)
		}
	}
}

// parallel runs one (N block, K block) round as one parallel region of
// workers participants on the engine's helper pool (internal/par): each packs
// B panel groups until none are left, waits (spinning) until every group is
// packed, then takes compute tasks. One hand-off per round instead of one per
// phase matters on small products; a participant that starts late finds the
// work done and returns at once.
func (p *problem) parallel(ws *workspace, workers int) {
	ws.nextGroup.Store(0)
	ws.nextTask.Store(0)
	ws.packed.Store(0)
	par.DoTask(workers, ws)
}

// Run is worker w's part of the current round (ws.p is the problem);
// workspace implements par.Task so that a round allocates nothing.
func (ws *workspace) Run(w int) { ws.p.round(ws, w) }

func (p *problem) round(ws *workspace, w int) {
	mr, nr, kb := p.kern.mr, p.kern.nr, p.kb
	const group = 8
	for {
		lo := (int(ws.nextGroup.Add(1)) - 1) * group
		if lo >= p.bPanels {
			break
		}
		hi := min(lo+group, p.bPanels)
		for jp := lo; jp < hi; jp++ {
			j0 := p.jc + jp*nr
			p.packB(p.packedB[jp*kb*nr:(jp+1)*kb*nr], p.pc, kb, j0, min(nr, p.n-j0))
		}
		ws.packed.Add(int64(hi - lo))
	}
	for ws.packed.Load() < int64(p.bPanels) {
		runtime.Gosched()
	}
	bufA := ws.a[w]
	packedFor := -1
	tasks := p.mBlocks * p.roundChunks
	for {
		t := int(ws.nextTask.Add(1)) - 1
		if t >= tasks {
			return
		}
		ib, chunk := t/p.roundChunks, t%p.roundChunks
		i0 := ib * p.panelsPerBlk * mr
		mb := min(p.panelsPerBlk*mr, p.m-i0)
		jp0 := chunk * p.nPanelsChunk
		jp1 := min(jp0+p.nPanelsChunk, p.bPanels)
		if packedFor != ib {
			// Full row panels are read in place unless there are enough B
			// panels to amortise packing them; a partial last panel is
			// always packed (zero-padded rows).
			for ip := 0; ip < ceilDiv(mb, mr); ip++ {
				r0 := i0 + ip*mr
				if rows := min(mr, p.m-r0); rows < mr || p.packAllA {
					p.packA(bufA[ip*kb*mr:(ip+1)*kb*mr], p.pc, kb, r0, rows)
				}
			}
			packedFor = ib
		}
		p.macro(bufA, p.packedB, ws.tmp[w], kb, p.pc, i0, mb, p.jc, jp0, jp1, p.betaNow, p.last)
	}
}

// macro multiplies the A block (rows i0..i0+mb, columns pc..pc+kb; packed
// panels in pa where packA wrote them, the rest read in place) by packed B
// panels jp0..jp1 of the current N block (starting at column jc), updating C.
//
// When the B panels fit in L1 together, the row panels of A form the outer
// loop (A panel and all of B stay in L1, C is written row-line by
// row-line); otherwise each B panel stays in L1 while the A block streams
// from L2 (the usual Goto/BLIS order).
func (p *problem) macro(pa, pb, tmp []float32, kb, pc, i0, mb, jc, jp0, jp1 int, beta float32, last bool) {
	mr, nr := p.kern.mr, p.kern.nr
	if (jp1-jp0)*kb*nr*4 <= smallBBytes {
		for ir := 0; ir < mb; ir += mr {
			for jp := jp0; jp < jp1; jp++ {
				p.tile(pa, pb, tmp, kb, pc, i0, ir, jc, jp, beta, last)
			}
		}
		return
	}
	for jp := jp0; jp < jp1; jp++ {
		for ir := 0; ir < mb; ir += mr {
			p.tile(pa, pb, tmp, kb, pc, i0, ir, jc, jp, beta, last)
		}
	}
}

// tile computes one mr x nr tile of C: row panel ir of the A block starting
// at row i0 times B panel jp of the N block starting at column jc. Edge
// tiles are computed into tmp (at least mr*nr) and merged.
func (p *problem) tile(pa, pb, tmp []float32, kb, pc, i0, ir, jc, jp int, beta float32, last bool) {
	mr, nr := p.kern.mr, p.kern.nr
	j := jc + jp*nr
	cols := min(nr, p.n-j)
	bp := pb[jp*kb*nr : (jp+1)*kb*nr]
	i := i0 + ir
	rows := min(mr, p.m-i)
	ap, rs, cs := pa[(ir/mr)*kb*mr:(ir/mr+1)*kb*mr], 1, mr
	if rows == mr && !p.packAllA {
		if p.transA {
			ap, rs, cs = p.a[pc*p.lda+i:], 1, p.lda
		} else {
			ap, rs, cs = p.a[i*p.lda+pc:], p.lda, 1
		}
	}
	off := i*p.ldc + j
	if rows == mr && cols == nr {
		p.kern.fn(kb, ap, rs, cs, bp, p.c[off:], p.ldc, p.alpha, beta)
	} else {
		t := tmp[:mr*nr]
		p.kern.fn(kb, ap, rs, cs, bp, t, nr, p.alpha, 0)
		for r := 0; r < rows; r++ {
			cr := p.c[off+r*p.ldc : off+r*p.ldc+cols]
			tr := t[r*nr : r*nr+cols]
			if beta == 0 {
				copy(cr, tr)
			} else {
				for x := range cr {
					cr[x] = tr[x] + beta*cr[x]
				}
			}
		}
	}
	if last && (p.bias != nil || p.act != None) {
		var bias []float32
		if p.bias != nil {
			bias = p.bias[j : j+cols]
		}
		for r := 0; r < rows; r++ {
			o := off + r*p.ldc
			p.kern.epi(p.c[o:o+cols], bias, p.act)
		}
	}
}
