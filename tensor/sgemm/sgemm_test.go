package sgemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
)

// kernels returns every micro-kernel this build can run: the portable Go one
// and, on amd64 with AVX2+FMA, the assembly ones.
func kernels() []*kernel { return append([]*kernel{goKernel}, asmKernels...) }

// refGemm is the float64 triple-loop reference. It returns the result and,
// per element, the magnitude |alpha|*sum|a*b| + |beta*c| that bounds the
// rounding error.
func refGemm(tA, tB bool, m, n, k int, alpha float64, a []float32, lda int, b []float32, ldb int, beta float64, c []float32, ldc int) (out, mag []float64) {
	out = make([]float64, m*n)
	mag = make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, sa float64
			if alpha != 0 {
				for p := 0; p < k; p++ {
					var av, bv float32
					if tA {
						av = a[p*lda+i]
					} else {
						av = a[i*lda+p]
					}
					if tB {
						bv = b[j*ldb+p]
					} else {
						bv = b[p*ldb+j]
					}
					s += float64(av) * float64(bv)
					sa += math.Abs(float64(av) * float64(bv))
				}
			}
			r := alpha * s
			mg := math.Abs(alpha) * sa
			if beta != 0 {
				r += beta * float64(c[i*ldc+j])
				mg += math.Abs(beta * float64(c[i*ldc+j]))
			}
			out[i*n+j] = r
			mag[i*n+j] = mg
		}
	}
	return out, mag
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

// tolerance is the allowed |got-want| for an element of magnitude mag after
// k multiply-adds: 1e-5*sqrt(k+1) relative, plus a tiny absolute floor.
func tolerance(k int, mag float64) float64 { return 1e-5*math.Sqrt(float64(k+1))*mag + 1e-30 }

type gemmCase struct {
	m, n, k     int
	tA, tB      bool
	alpha, beta float32
	pad         int // extra leading-dimension elements
}

func (tc gemmCase) String() string {
	return fmt.Sprintf("m%d_n%d_k%d_tA%v_tB%v_a%g_b%g_pad%d", tc.m, tc.n, tc.k, tc.tA, tc.tB, tc.alpha, tc.beta, tc.pad)
}

func trans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

func gemmCases() []gemmCase {
	shapes := [][3]int{
		{1, 1, 1}, {1, 1, 0}, {2, 3, 4}, {7, 5, 3}, {6, 16, 1}, {4, 24, 2},
		{13, 17, 19}, {5, 33, 257}, {37, 45, 600}, {150, 20, 33}, {301, 7, 70},
		{3, 4100, 5}, {70, 130, 520}, {1, 64, 9}, {64, 1, 9},
	}
	ab := [][2]float32{{1, 0}, {2.5, -0.5}, {0, 0.5}, {1, 1}, {-1, 0}}
	var cases []gemmCase
	for si, s := range shapes {
		for t := 0; t < 4; t++ {
			for ai, x := range ab {
				// Thin the big shapes: every transpose pair, a few alpha/beta.
				if s[0]*s[1]*s[2] > 100000 && ai > 1 && ai != 4 {
					continue
				}
				cases = append(cases, gemmCase{
					m: s[0], n: s[1], k: s[2], tA: t&1 != 0, tB: t&2 != 0,
					alpha: x[0], beta: x[1], pad: (si + ai + t) % 3 * 3,
				})
			}
		}
	}
	return cases
}

// runCase runs one case on each implementation and checks every element of
// C against the reference (computed once), and that the padding between
// rows of C is untouched.
func runCase(t *testing.T, impls []Implementation, tc gemmCase, bias []float32, act Activation) {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(tc.m*1000003+tc.n*1009+tc.k), 7))
	ar, ac := tc.m, tc.k
	if tc.tA {
		ar, ac = tc.k, tc.m
	}
	br, bc := tc.k, tc.n
	if tc.tB {
		br, bc = tc.n, tc.k
	}
	lda, ldb, ldc := max(1, ac+tc.pad), max(1, bc+tc.pad), max(1, tc.n+tc.pad)
	a := randSlice(rng, max(0, (ar-1)*lda+ac))
	b := randSlice(rng, max(0, (br-1)*ldb+bc))
	c := randSlice(rng, (tc.m-1)*ldc+tc.n)
	for i := 0; i < tc.m; i++ {
		for j := tc.n; j < ldc && i*ldc+j < len(c); j++ {
			c[i*ldc+j] = 12345 // padding sentinel
		}
	}
	if tc.beta == 0 {
		for i := 0; i < tc.m; i++ {
			for j := 0; j < tc.n; j++ {
				c[i*ldc+j] = float32(math.NaN())
			}
		}
	}
	if tc.alpha == 0 && len(a) > 0 {
		a[0] = float32(math.NaN()) // must not be read
	}
	want, mag := refGemm(tc.tA, tc.tB, tc.m, tc.n, tc.k, float64(tc.alpha), a, lda, b, ldb, float64(tc.beta), c, ldc)
	if bias != nil || act != None {
		for i := 0; i < tc.m; i++ {
			for j := 0; j < tc.n; j++ {
				v := want[i*tc.n+j]
				if bias != nil {
					v += float64(bias[j])
					mag[i*tc.n+j] += math.Abs(float64(bias[j]))
				}
				want[i*tc.n+j] = refAct(v, act)
			}
		}
	}
	c0 := append([]float32(nil), c...)
	for _, impl := range impls {
		copy(c, c0)
		impl.SgemmBiasAct(trans(tc.tA), trans(tc.tB), tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc, bias, act)
		checkC(t, impl, tc, c, ldc, want, mag)
	}
}

func checkC(t *testing.T, impl Implementation, tc gemmCase, c []float32, ldc int, want, mag []float64) {
	t.Helper()
	bad := 0
	for i := 0; i < tc.m; i++ {
		for j := 0; j < ldc && i*ldc+j < len(c); j++ {
			got := float64(c[i*ldc+j])
			if j >= tc.n {
				if got != 12345 {
					t.Fatalf("%s %v: padding C[%d,%d] changed to %g", implName(impl), tc, i, j, got)
				}
				continue
			}
			w := want[i*tc.n+j]
			// Activations add a relative error of a few float32 ulps.
			tol := tolerance(tc.k, mag[i*tc.n+j]) + 4e-7*math.Abs(w)
			if math.IsNaN(got) || math.Abs(got-w) > tol {
				if bad++; bad <= 5 {
					t.Errorf("%s %v: C[%d,%d] = %g, want %g (tol %.3g)", implName(impl), tc, i, j, got, w, tol)
				}
			}
		}
	}
}

func implName(impl Implementation) string {
	return fmt.Sprintf("%s/workers%d/packA%d", impl.kernel().name, impl.Workers, impl.packA)
}

func refAct(v float64, act Activation) float64 {
	switch act {
	case ReLU:
		return math.Max(v, 0)
	case ELU:
		if v > 0 {
			return v
		}
		return math.Expm1(v)
	case SiLU:
		return v / (1 + math.Exp(-v))
	}
	return v
}

// testImpls is every kernel with three schedules: one worker with the
// packing heuristic, three workers packing every A panel, two workers
// reading A in place (the parallel ones forced even for tiny products).
func testImpls() []Implementation {
	var impls []Implementation
	for _, kern := range kernels() {
		impls = append(impls,
			Implementation{Workers: 1, kern: kern},
			Implementation{Workers: 3, kern: kern, forceParallel: true, packA: 1},
			Implementation{Workers: 2, kern: kern, forceParallel: true, packA: -1},
		)
	}
	return impls
}

func TestSgemmAgainstReference(t *testing.T) {
	impls := testImpls()
	for _, tc := range gemmCases() {
		runCase(t, impls, tc, nil, None)
	}
}

// TestSgemmBlockBoundaries crosses the K, M and N block sizes with the
// default kernel and the parallel schedule.
func TestSgemmBlockBoundaries(t *testing.T) {
	cases := []gemmCase{
		{m: 2*blockM + 5, n: 40, k: 2*blockK + 3, alpha: 1, beta: 0.25},
		{m: 9, n: blockN + 37, k: 11, tB: true, alpha: 1, beta: 0},
		{m: 200, n: 100, k: blockK, tA: true, tB: true, alpha: 0.5, beta: 2, pad: 5},
	}
	for _, tc := range cases {
		runCase(t, []Implementation{{Workers: 1}, {Workers: 2}, {PureGo: true, Workers: 2}}, tc, nil, None)
	}
}

func TestSgemmBiasAct(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var impls []Implementation
	for _, kern := range kernels() {
		impls = append(impls, Implementation{kern: kern, Workers: 2, forceParallel: true})
	}
	for _, act := range []Activation{None, ReLU, ELU, SiLU} {
		for _, tc := range []gemmCase{
			{m: 1, n: 1, k: 1, alpha: 1},
			{m: 13, n: 17, k: 19, tB: true, alpha: 1},
			{m: 64, n: 70, k: 300, tA: true, alpha: 0.5, beta: 1, pad: 2},
			{m: 5, n: 9, k: 0, alpha: 1, beta: 0.5},
		} {
			bias := randSlice(rng, tc.n)
			for _, b := range [][]float32{nil, bias} {
				runCase(t, impls, tc, b, act)
			}
		}
	}
}

// TestSgemmBlasInterface checks the value works through blas.Float32Level3
// and gives the same answer as gonum.
func TestSgemmBlasInterface(t *testing.T) {
	var impl blas.Float32Level3 = Implementation{}
	a := []float32{1, 2, 3, 4, 5, 6}    // 2x3
	b := []float32{7, 8, 9, 10, 11, 12} // 3x2
	c := []float32{1, 1, 1, 1}          // 2x2
	impl.Sgemm(blas.NoTrans, blas.NoTrans, 2, 2, 3, 1, a, 3, b, 2, 2, c, 2)
	want := []float32{58 + 2, 64 + 2, 139 + 2, 154 + 2}
	for i := range want {
		if c[i] != want[i] {
			t.Fatalf("C = %v, want %v", c, want)
		}
	}
}

func TestSgemmPanics(t *testing.T) {
	a := make([]float32, 12)
	tests := []struct {
		name string
		f    func()
		msg  string
	}{
		{"bad transpose", func() { Implementation{}.Sgemm('x', blas.NoTrans, 2, 2, 2, 1, a, 2, a, 2, 0, a, 2) }, "blas: illegal transpose"},
		{"m<0", func() { Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, -1, 2, 2, 1, a, 2, a, 2, 0, a, 2) }, "blas: m < 0"},
		{"lda", func() { Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, 2, 2, 3, 1, a, 2, a, 2, 0, a, 2) }, "blas: bad leading dimension of A"},
		{"ldb trans", func() { Implementation{}.Sgemm(blas.NoTrans, blas.Trans, 2, 2, 3, 1, a, 3, a, 2, 0, a, 2) }, "blas: bad leading dimension of B"},
		{"ldc", func() { Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, 2, 3, 2, 1, a, 2, a, 3, 0, a, 2) }, "blas: bad leading dimension of C"},
		{"short a", func() { Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, 4, 2, 4, 1, a, 4, a, 2, 0, a, 2) }, "blas: insufficient length of a"},
		{"short c", func() { Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, 2, 2, 2, 1, a, 2, a, 2, 0, a[:3], 2) }, "blas: insufficient length of c"},
		{"short bias", func() {
			Implementation{}.SgemmBiasAct(blas.NoTrans, blas.NoTrans, 2, 2, 2, 1, a, 2, a, 2, 0, a, 2, a[:1], ReLU)
		}, "sgemm: insufficient length of bias"},
		{"bad act", func() {
			Implementation{}.SgemmBiasAct(blas.NoTrans, blas.NoTrans, 2, 2, 2, 1, a, 2, a, 2, 0, a, 2, nil, Activation(9))
		}, "sgemm: unknown activation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r != tt.msg {
					t.Fatalf("panic %v, want %q", r, tt.msg)
				}
			}()
			tt.f()
		})
	}
}

func TestExpf(t *testing.T) {
	maxRel := 0.0
	for x := float32(-87.3); x < 88.37; x += 0.01373 {
		got, want := float64(expf(x)), math.Exp(float64(x))
		maxRel = math.Max(maxRel, math.Abs(got-want)/want)
	}
	if maxRel > 3e-7 {
		t.Errorf("expf max relative error %.3g, want <= 3e-7", maxRel)
	}
	for _, tc := range []struct{ x, want float32 }{
		{0, 1}, {100, expf(88.3762626647949)}, {-200, expf(-87.33654)},
	} {
		if got := expf(tc.x); got != tc.want {
			t.Errorf("expf(%g) = %g, want %g (clamped)", tc.x, got, tc.want)
		}
	}
	if got := expf(float32(math.NaN())); got == got {
		t.Errorf("expf(NaN) = %g, want NaN", got)
	}
	for x := float32(-20); x <= 0; x += 0.00731 {
		got, want := float64(expm1f(x)), math.Expm1(float64(x))
		if math.Abs(got-want) > 3e-7*math.Abs(want)+1e-45 {
			t.Fatalf("expm1f(%g) = %g, want %g", x, got, want)
		}
	}
}

// TestEpilogue checks every epilogue implementation (Go and, where
// available, AVX2) against float64 math on values spanning the activations'
// regimes, with and without bias, on lengths with and without a vector tail:
// relative error 4e-7, absolute 1e-36 (SiLU below x = -88.4, where exp(-x)
// is clamped, returns about x/2.4e38 instead of a subnormal).
func TestEpilogue(t *testing.T) {
	impls := map[string]func(row, bias []float32, act Activation){}
	for _, k := range kernels() {
		impls[k.name] = k.epi
	}
	rng := rand.New(rand.NewPCG(3, 4))
	special := []float32{0, -0, 1e-8, -1e-8, -0.49, -0.5, -0.51, 1, -1, 20, -20, 87, -87, 89, -89, -100, 100, -1e-30}
	for name, epi := range impls {
		for _, act := range []Activation{None, ReLU, ELU, SiLU} {
			for _, n := range []int{1, 7, 8, 16, 27, len(special)} {
				x := make([]float32, n)
				for i := range x {
					x[i] = float32(rng.NormFloat64() * 4)
					if n == len(special) {
						x[i] = special[i]
					}
				}
				for _, withBias := range []bool{false, true} {
					var bias []float32
					if withBias {
						bias = randSlice(rng, n)
					}
					got := append([]float32(nil), x...)
					epi(got, bias, act)
					for i := range x {
						v := float64(x[i])
						if bias != nil {
							v = float64(x[i] + bias[i]) // float32 add, as the kernels do
						}
						want := refAct(v, act)
						if d := math.Abs(float64(got[i]) - want); !(d <= 4e-7*math.Abs(want)+1e-36) {
							t.Errorf("%s %s(%g + bias) = %g, want %g", name, act, x[i], got[i], want)
						}
					}
				}
			}
			nan := []float32{float32(math.NaN())}
			epi(nan, nil, act)
			if nan[0] == nan[0] {
				t.Errorf("%s %s(NaN) = %g, want NaN", name, act, nan[0])
			}
		}
	}
}

func TestKernelSelection(t *testing.T) {
	name := KernelName()
	switch {
	case pureGoEnv && name != goKernel.name:
		t.Errorf("NAG_PUREGO=1 but default kernel is %s", name)
	case !pureGoEnv && len(asmKernels) > 0 && name != asmKernels[0].name:
		t.Errorf("assembly kernels %v available but default is %s", asmKernels[0].name, name)
	}
	if (Implementation{PureGo: true}).kernel() != goKernel {
		t.Error("PureGo does not select the Go kernel")
	}
}

// TestSgemmNoAllocs checks that a single-worker call allocates nothing once
// the pooled workspace has grown (hot loops call Sgemm per step).
func TestSgemmNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector (sync.Pool drops items)")
	}
	for _, s := range [][3]int{{8, 8, 8}, {7, 13, 5}, {256, 256, 256}} {
		m, n, k := s[0], s[1], s[2]
		a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
		impl := Implementation{Workers: 1}
		allocs := testing.AllocsPerRun(10, func() {
			impl.SgemmBiasAct(blas.NoTrans, blas.Trans, m, n, k, 1, a, k, b, k, 0, c, n, nil, ELU)
		})
		if allocs != 0 {
			t.Errorf("%dx%dx%d: %.1f allocations per call, want 0", m, n, k, allocs)
		}
	}
}
