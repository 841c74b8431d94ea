package kernels

import (
	"math"
	"math/rand/v2"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// defines returns the integer #defines of a .cu file.
func defines(t *testing.T, file string) map[string]int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("read %s: %v", file, err)
	}
	re := regexp.MustCompile(`(?m)^#define\s+(NAG_\w+)\s+(-?\d+)\s*$`)
	out := map[string]int{}
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		v, _ := strconv.Atoi(m[2])
		out[m[1]] = v
	}
	return out
}

// TestOpCodesMatchSources checks the Go op codes against the kernels' #defines.
func TestOpCodesMatchSources(t *testing.T) {
	ew := defines(t, "elementwise.cu")
	for k, v := range defines(t, "activation.cuh") {
		ew[k] = v
	}
	red := defines(t, "reduce.cu")
	cases := []struct {
		def  map[string]int
		name string
		val  int
	}{
		{ew, "NAG_ADD", int(Add)}, {ew, "NAG_SUB", int(Sub)}, {ew, "NAG_MUL", int(Mul)}, {ew, "NAG_DIV", int(Div)},
		{ew, "NAG_U_NEG", int(Neg)}, {ew, "NAG_U_EXP", int(Exp)}, {ew, "NAG_U_LOG", int(Log)},
		{ew, "NAG_U_SQRT", int(Sqrt)}, {ew, "NAG_U_SQUARE", int(Square)}, {ew, "NAG_U_ABS", int(Abs)},
		{ew, "NAG_U_RELU", int(ReLU)}, {ew, "NAG_U_RELU6", int(ReLU6)}, {ew, "NAG_U_SILU", int(SiLU)},
		{ew, "NAG_U_TANH", int(Tanh)}, {ew, "NAG_U_SIGMOID", int(Sigmoid)}, {ew, "NAG_U_GELU", int(GELU)},
		{ew, "NAG_U_ELU", int(ELU)}, {ew, "NAG_U_SCALE", int(Scale)}, {ew, "NAG_U_ADDSCALAR", int(AddScalar)},
		{red, "NAG_R_SUM", int(ReduceSum)}, {red, "NAG_R_MEAN", int(ReduceMean)}, {red, "NAG_R_MAX", int(ReduceMax)},
	}
	for _, c := range cases {
		v, ok := c.def[c.name]
		if !ok {
			t.Errorf("%s not defined in the CUDA sources", c.name)
			continue
		}
		if v != c.val {
			t.Errorf("%s = %d in CUDA, %d in Go", c.name, v, c.val)
		}
	}
	n := 0
	for k := range ew {
		if strings.HasPrefix(k, "NAG_U_") {
			n++
		}
	}
	if n != 15 {
		t.Errorf("activation.cuh defines %d unary ops, Go knows 15", n)
	}
}

// TestPTXCommitted checks that every .cu source has its generated PTX, whose
// entries are the source's extern "C" __global__ kernels (stale PTX after an
// edit is caught here; byte-exactness is CI's go generate + git diff).
func TestPTXCommitted(t *testing.T) {
	srcs, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	kern := regexp.MustCompile(`extern "C" __global__ void(?:\s+__launch_bounds__\(\d+(?:,\s*\d+)?\))?\s+(\w+)\s*\(`)
	entry := regexp.MustCompile(`\.entry\s+(\w+)\(`)
	nsrc := 0
	for _, e := range srcs {
		name := e.Name()
		if !strings.HasSuffix(name, ".cu") {
			continue
		}
		nsrc++
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		ptx, err := os.ReadFile("ptx/" + strings.TrimSuffix(name, ".cu") + ".ptx")
		if err != nil {
			t.Errorf("%s has no PTX (run go generate ./kernels): %v", name, err)
			continue
		}
		want := map[string]bool{}
		for _, m := range kern.FindAllStringSubmatch(string(src), -1) {
			want[m[1]] = true
		}
		got := map[string]bool{}
		for _, m := range entry.FindAllStringSubmatch(string(ptx), -1) {
			got[m[1]] = true
		}
		if len(want) == 0 {
			t.Errorf("%s: no kernels found", name)
		}
		for k := range want {
			if !got[k] {
				t.Errorf("%s: kernel %s missing from the PTX (stale; run go generate ./kernels)", name, k)
			}
		}
		for k := range got {
			if !want[k] {
				t.Errorf("%s: PTX has kernel %s the source lacks (stale)", name, k)
			}
		}
		if !strings.Contains(string(ptx), ".target sm_80") {
			t.Errorf("%s: PTX does not target sm_80 (compute_80)", name)
		}
	}
	if nsrc < 8 {
		t.Errorf("found %d .cu sources, want 8", nsrc)
	}
}

func TestPtxEntriesParser(t *testing.T) {
	// ptxEntries lives in a cuda-tagged file; the regexp above is the untagged
	// equivalent. Check it against a hand-written PTX fragment.
	ptx := "// comment .entry fake(\n.visible .entry ew_fill(\n\t.param .u32 ew_fill_param_0\n)\n.visible .entry sgemm_tiled(\n"
	entry := regexp.MustCompile(`\.entry\s+(\w+)\(`)
	var got []string
	for _, line := range strings.Split(ptx, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "//") {
			continue
		}
		for _, m := range entry.FindAllStringSubmatch(line, -1) {
			got = append(got, m[1])
		}
	}
	if strings.Join(got, ",") != "ew_fill,sgemm_tiled" {
		t.Fatalf("entries %v, want [ew_fill sgemm_tiled]", got)
	}
}

// TestPickGemm pins the kernel choice for the model's products on an H100
// (132 SMs): small node-row products stay on the 64x64 kernel, the readout
// goes to the 128x64 tile (384 blocks fill 132 SMs three deep), large square
// products to the 128x128 tile, the tiny batched attention products to
// sgemm_small.
func TestPickGemm(t *testing.T) {
	cases := []struct {
		m, n, k, batch int
		want           string
	}{
		{2048, 192, 64, 1, "sgemm_tiled"},    // q, k, v projection
		{2048, 64, 128, 1, "sgemm_tiled"},    // feed-forward out
		{2048, 144, 144, 1, "sgemm_tiled"},   // DiGCN, NB201
		{2048, 1536, 768, 1, "sgemm_128x64"}, // readout 0
		{2048, 1536, 1536, 1, "sgemm_128x64"},
		{1536, 1536, 2048, 1, "sgemm_128x64"}, // readout weight gradient
		{2048, 7, 1536, 1, "sgemm_tiled"},
		{4096, 4096, 4096, 1, "sgemm_128"},
		{8, 8, 8, 2048, "sgemm_small"},   // attention scores and their gradients
		{20, 20, 8, 1024, "sgemm_small"}, // the same for 20-node graphs
		{20, 8, 20, 1024, "sgemm_small"},
		{8, 8, 128, 2048, "sgemm_tiled"}, // long k
		{33, 8, 8, 2048, "sgemm_tiled"},
		{100, 100, 10, 1, "sgemm_tiled"},
	}
	for _, c := range cases {
		if got := pickGemm(c.m, c.n, c.k, c.batch, 132).name; got != c.want {
			t.Errorf("%dx%dx%d batch %d: %s, want %s", c.m, c.n, c.k, c.batch, got, c.want)
		}
	}
}

// TestGemmVecOK checks the alignment rule of the float4-load GEMM kernels.
func TestGemmVecOK(t *testing.T) {
	for _, c := range []struct {
		a, b             uintptr
		lda, ldb         int
		strideA, strideB int64
		want             bool
	}{
		{0x1000, 0x2000, 768, 768, 0, 0, true},
		{0x1000, 0x2000, 768, 1536, 768 * 2048, 0, true},
		{0x1004, 0x2000, 768, 768, 0, 0, false}, // A view 4 bytes into an allocation
		{0x1000, 0x2008, 768, 768, 0, 0, false},
		{0x1000, 0x2000, 77, 768, 0, 0, false},
		{0x1000, 0x2000, 768, 78, 0, 0, false},
		{0x1000, 0x2000, 768, 768, 770, 0, false},
		{0x1000, 0x2000, 768, 768, 0, 6, false},
	} {
		if got := gemmVecOK(c.a, c.b, c.lda, c.ldb, c.strideA, c.strideB); got != c.want {
			t.Errorf("gemmVecOK(%#x, %#x, %d, %d, %d, %d) = %v, want %v", c.a, c.b, c.lda, c.ldb, c.strideA, c.strideB, got, c.want)
		}
	}
	for _, k := range vecGemms {
		if got, ok := gemmByName(k.name); !ok || !got.vec {
			t.Errorf("gemmByName(%q) = %+v, %v: want the vec kernel", k.name, got, ok)
		}
	}
	if got := pickGemm(2048, 1536, 768, 1, 132); got.vec {
		t.Errorf("pickGemm chose %s: the vec kernels are not timed on a GPU yet", got.name)
	}
}

// TestLazyModules checks that every lazily loaded module exists and holds
// only kernels the default paths never launch: the by-name GEMM variants.
func TestLazyModules(t *testing.T) {
	entry := regexp.MustCompile(`\.entry\s+(\w+)\(`)
	byName := map[string]bool{}
	for _, k := range vecGemms {
		byName[k.name] = true
	}
	for _, k := range fp32Gemms {
		if byName[k.name] {
			t.Errorf("%s is both a default and a by-name kernel", k.name)
		}
	}
	for f := range lazyModules {
		ptx, err := os.ReadFile("ptx/" + f)
		if err != nil {
			t.Errorf("lazy module %s: %v", f, err)
			continue
		}
		ms := entry.FindAllStringSubmatch(string(ptx), -1)
		if len(ms) == 0 {
			t.Errorf("lazy module %s has no kernels", f)
		}
		for _, m := range ms {
			if !byName[m[1]] {
				t.Errorf("lazy module %s defines %s, which is not a by-name GEMM variant", f, m[1])
			}
		}
	}
}

// TestVecTwin pins the twins UseVecGemm swaps in: same tile and threads,
// float4 loads; the 64x64 kernel has none.
func TestVecTwin(t *testing.T) {
	for _, c := range []struct{ from, to string }{
		{"sgemm_128", "sgemm_128v16"},
		{"sgemm_128x64", "sgemm_128x64v16"},
		{"sgemm_tiled", ""},
		{"sgemm_tf32", ""},
	} {
		k, _ := gemmByName(c.from)
		v, ok := vecTwin(k)
		if c.to == "" {
			if ok {
				t.Errorf("vecTwin(%s) = %s, want none", c.from, v.name)
			}
			continue
		}
		if !ok || v.name != c.to {
			t.Errorf("vecTwin(%s) = %q, %v, want %s", c.from, v.name, ok, c.to)
			continue
		}
		if !v.vec || v.tm != k.tm || v.tn != k.tn || v.threads != k.threads {
			t.Errorf("vecTwin(%s) = %+v: want the same tile and threads as %+v, with float4 loads", c.from, v, k)
		}
		if !lazyModules["gemm_fast.ptx"] {
			t.Errorf("the twins' module gemm_fast.ptx is not lazy")
		}
	}
}

// TestSplitPlans: reductions and products split only when their output leaves
// most of the device idle and the reduced axis is long; parts cover the axis
// exactly, each at least minSplitRows long, and there are about two blocks
// per SM.
func TestSplitPlans(t *testing.T) {
	for _, c := range []struct {
		blocks, n, sms int
		parts, chunk   int
	}{
		{2, 2048, 132, 32, 64},    // bias gradient of a 64-wide layer
		{5, 5120, 132, 53, 97},    // LayerNorm affine, 144 columns, 20-node graphs
		{2, 100, 132, 1, 100},     // short: one pass
		{132, 4096, 132, 1, 4096}, // output fills the device
		{48, 2048, 132, 6, 342},
		{0, 2048, 132, 1, 2048},
	} {
		parts, chunk := rowSplit(c.blocks, c.n, c.sms)
		if parts != c.parts || chunk != c.chunk {
			t.Errorf("rowSplit(%d, %d, %d) = %d x %d, want %d x %d", c.blocks, c.n, c.sms, parts, chunk, c.parts, c.chunk)
		}
		if parts > 1 && (chunk < minSplitRows || (parts-1)*chunk >= c.n || parts*chunk < c.n) {
			t.Errorf("rowSplit(%d, %d, %d) = %d x %d does not cover the rows in parts of >= %d", c.blocks, c.n, c.sms, parts, chunk, minSplitRows)
		}
	}
	for _, c := range []struct {
		m, n, k, sms int
		slices, kc   int
	}{
		{64, 64, 2048, 132, 32, 64},     // attention-out weight gradient
		{192, 64, 2048, 132, 32, 64},    // 3 tiles: 88 slices wanted, 32 allowed
		{7, 1536, 2048, 132, 11, 176},   // remainder slice of 112
		{1536, 768, 2048, 132, 1, 2048}, // 288 tiles: no split
		{64, 64, 256, 132, 1, 256},      // short K
		{3, 5, 4099, 132, 64, 64},
	} {
		slices, kc := splitKPlan(c.m, c.n, c.k, c.sms)
		if slices != c.slices || kc != c.kc {
			t.Errorf("splitKPlan(%d, %d, %d, %d) = %d x %d, want %d x %d", c.m, c.n, c.k, c.sms, slices, kc, c.slices, c.kc)
		}
		if slices > 1 && (kc%16 != 0 || kc < minSplitRows || slices*kc > c.k) {
			t.Errorf("splitKPlan(%d, %d, %d, %d) = %d x %d: slices must be multiples of 16, >= %d, within K", c.m, c.n, c.k, c.sms, slices, kc, minSplitRows)
		}
	}
}

// TestPreferVec16 pins which tiled-kernel products move to sgemm_128x64v16
// (long k, at least one 128x64 tile): the readout's backward products yes,
// the node-row products and the DiGCN's k = 144 no.
func TestPreferVec16(t *testing.T) {
	for _, c := range []struct {
		m, n, k int
		want    bool
	}{
		{2048, 768, 1536, true}, // readout 0 input gradient
		{1536, 768, 2048, true}, // readout 0 weight gradient
		{256, 1536, 768, true},
		{2048, 144, 144, false},
		{2048, 64, 128, false},
		{64, 1536, 2048, false},
		{2048, 32, 1536, false},
	} {
		if got := preferVec16(c.m, c.n, c.k); got != c.want {
			t.Errorf("preferVec16(%d, %d, %d) = %v, want %v", c.m, c.n, c.k, got, c.want)
		}
	}
}

// TestSplitProducts runs a split-K layout on the CPU (a naive strided GEMM
// per product, then the fixed-order sum with alpha and beta) and compares it
// with the unsplit product for every transpose pair, padded leading
// dimensions and a K that leaves a remainder: wrong strides or offsets along
// K in either operand's storage fail it.
func TestSplitProducts(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, s := range [][3]int{{7, 5, 300}, {16, 3, 256}, {3, 9, 1000}} {
		m, n, k := s[0], s[1], s[2]
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			ar, ac, br, bc := m, k, k, n
			if tr[0] {
				ar, ac = k, m
			}
			if tr[1] {
				br, bc = n, k
			}
			lda, ldb := ac+3, bc+2
			a, b := make([]float64, ar*lda), make([]float64, br*ldb)
			for _, x := range [][]float64{a, b} {
				for i := range x {
					x[i] = rng.NormFloat64()
				}
			}
			at := func(x []float64, off, ld int, trans bool, i, j int) float64 {
				if trans {
					return x[off+j*ld+i]
				}
				return x[off+i*ld+j]
			}
			for _, split := range [][2]int{{4, 64}, {3, 80}, {2, 128}} {
				sp := splitProducts(tr[0], tr[1], m, n, k, lda, ldb, split[0], split[1])
				wantParts := split[0]
				if split[0]*split[1] < k {
					wantParts++
				}
				if sp.parts != wantParts {
					t.Fatalf("%v %v split %v: %d parts, want %d", s, tr, split, sp.parts, wantParts)
				}
				part := make([]float64, sp.parts*m*n)
				for _, p := range sp.products {
					for z := 0; z < p.batch; z++ {
						oa, ob, oc := p.offA+z*int(p.strideA), p.offB+z*int(p.strideB), p.offC+z*int(p.strideC)
						for i := 0; i < m; i++ {
							for j := 0; j < n; j++ {
								acc := 0.0
								for kk := 0; kk < p.k; kk++ {
									acc += at(a, oa, lda, tr[0], i, kk) * at(b, ob, ldb, tr[1], kk, j)
								}
								part[oc+i*n+j] = acc
							}
						}
					}
				}
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						sum, want := 0.0, 0.0
						for z := 0; z < sp.parts; z++ {
							sum += part[z*m*n+i*n+j]
						}
						for kk := 0; kk < k; kk++ {
							want += at(a, 0, lda, tr[0], i, kk) * at(b, 0, ldb, tr[1], kk, j)
						}
						if math.Abs(sum-want) > 1e-9*(1+math.Abs(want)) {
							t.Fatalf("%v trans %v split %v: C[%d,%d] = %v, want %v", s, tr, split, i, j, sum, want)
						}
					}
				}
			}
		}
	}
}
