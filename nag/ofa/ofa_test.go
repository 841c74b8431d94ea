package ofa

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"github.com/nagml/nag/internal/shareddata"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nagml/nag/tensor"
)

// dataRoot finds the shared data: $NAG_DATA, else ../shared/data next to
// the directory holding go.mod.
func dataRoot(t testing.TB) string { return shareddata.Root(t) }

type row struct {
	ID      int     `json:"id"`
	KS      []int   `json:"ks"`
	E       []int   `json:"e"`
	D       []int   `json:"d"`
	R       int     `json:"r"`
	ArchStr string  `json:"arch_str"`
	FlopsW0 float64 `json:"flops_m_w10"`
	ParamW0 float64 `json:"params_m_w10"`
	FlopsW2 float64 `json:"flops_m_w12"`
	ParamW2 float64 `json:"params_m_w12"`
}

func readTable(t *testing.T) []row {
	path := filepath.Join(dataRoot(t), "ofa-mbv3", "ofa_mbv3.jsonl.gz")
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("OFA table not available: %v", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	var rows []row
	for sc.Scan() {
		var r row
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %d: %v", len(rows)+1, err)
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// Every row of the table: lists, string form and the FLOPs/params columns
// at both widths.
func TestTable(t *testing.T) {
	rows := readTable(t)
	if len(rows) != 7650 {
		t.Fatalf("%d rows, want 7650", len(rows))
	}
	for _, r := range rows {
		a, err := FromLists(r.KS, r.E, r.D)
		if err != nil {
			t.Fatalf("id %d: %v", r.ID, err)
		}
		if got := a.String(); got != r.ArchStr {
			t.Fatalf("id %d: String() = %s, want %s", r.ID, got, r.ArchStr)
		}
		p, err := Parse(r.ArchStr)
		if err != nil || p != a {
			t.Fatalf("id %d: Parse = %v, %v", r.ID, p, err)
		}
		x := a.OneHot()
		if d, err := x.Arch(); err != nil || d != a {
			t.Fatalf("id %d: decode(onehot) = %v, %v", r.ID, d, err)
		}
		for _, c := range []struct {
			w             float64
			flops, params float64
		}{{1.0, r.FlopsW0, r.ParamW0}, {1.2, r.FlopsW2, r.ParamW2}} {
			got := a.Cost(r.R, c.w)
			if math.Abs(float64(got.MACs)/1e6-c.flops) > 1e-6 || math.Abs(float64(got.Params)/1e6-c.params) > 1e-6 {
				t.Fatalf("id %d (r %d, w %.1f): flops %.6f params %.6f; table %.6f %.6f", r.ID, r.R, c.w,
					float64(got.MACs)/1e6, float64(got.Params)/1e6, c.flops, c.params)
			}
		}
	}
}

func uniformArch(k, e, d int) Arch {
	var a Arch
	for s := range a.D {
		a.D[s] = d
		for j := 0; j < d; j++ {
			a.KS[s*4+j], a.E[s*4+j] = k, e
		}
	}
	return a
}

// Extremes quoted in the data README.
func TestCostExtremes(t *testing.T) {
	big := uniformArch(7, 6, 4).Cost(224, 1.0)
	small := uniformArch(3, 3, 2).Cost(128, 1.0)
	if math.Abs(float64(big.MACs)/1e6-566.17) > 0.005 || math.Abs(float64(big.Params)/1e6-7.665) > 0.0005 {
		t.Errorf("largest: %d MACs, %d params; want 566.17 M, 7.665 M", big.MACs, big.Params)
	}
	if math.Abs(float64(small.MACs)/1e6-41.48) > 0.005 || math.Abs(float64(small.Params)/1e6-3.411) > 0.0005 {
		t.Errorf("smallest: %d MACs, %d params; want 41.48 M, 3.411 M", small.MACs, small.Params)
	}
	cases := []struct {
		v    float64
		want int
	}{{16, 16}, {19.2, 24}, {28.8, 32}, {134.4, 136}, {1536, 1536}, {3, 8}, {72, 72}, {10, 16}}
	for _, c := range cases {
		if got := MakeDivisible(c.v, 8); got != c.want {
			t.Errorf("MakeDivisible(%v) = %d, want %d", c.v, got, c.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	good := uniformArch(3, 4, 3).String()
	toks := strings.Split(good, "_")
	with := func(i int, tok string) string {
		c := append([]string(nil), toks...)
		c[i] = tok
		return strings.Join(c, "_")
	}
	cases := []struct{ s, want string }{
		{"3-3-4", "1 '_'-separated tokens, want 20"},
		{with(0, "3-9-4"), "token 1 (layer 0, offset 0)"},
		{with(1, "3-3-5"), "expand ratio 5"},
		{with(2, "0-0-0"), "stage 0 tokens say depth 3 but 2 layers are active"},
		{with(3, "4-3-4"), "depth 4 differs from 3"}, {with(3, "3-3-4"), "tokens say depth 3 but 4 layers"},
		{with(4, "0-0-0"), "active layer after a skipped one"},
		{with(6, "3-0-4"), `a skipped layer must be "0-0-0"`},
		{with(5, "3-3"), `want "d-ks-e"`},
		{with(5, "3-x-4"), `"x" is not`},
		{with(5, "3-03-4"), `"03" is not`},
	}
	for _, c := range cases {
		if _, err := Parse(c.s); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) err = %v, want %q", c.s, err, c.want)
		}
	}
	a, err := Parse(good)
	if err != nil || a != uniformArch(3, 4, 3) {
		t.Fatalf("Parse(good) = %v, %v", a, err)
	}
	if _, err := FromLists(make([]int, 20), make([]int, 20), []int{2, 2, 2, 2, 5}); err == nil {
		t.Error("depth 5 accepted")
	}
	if _, err := FromLists(make([]int, 19), make([]int, 20), []int{2, 2, 2, 2, 2}); err == nil {
		t.Error("ks[19] accepted")
	}
}

func TestOneHotAndValidity(t *testing.T) {
	a := uniformArch(5, 6, 3)
	a.KS[0], a.E[0] = 7, 3 // type 6
	x := a.OneHot()
	if x[0][6] != 1 || x[1][TypeOf(5, 6)] != 1 || TypeOf(5, 6) != 5 || TypeName(5) != "5-6" {
		t.Error("one-hot types wrong")
	}
	for s := 0; s < 5; s++ {
		for _, v := range x[s*4+3] {
			if v != 0 {
				t.Fatalf("skipped layer %d not a zero row", s*4+3)
			}
		}
	}
	ts := x.Tensor()
	if sh := ts.Shape(); sh[0] != 20 || sh[1] != 9 || ts.At(0, 6) != 1 {
		t.Error("tensor wrong")
	}
	cases := []struct {
		name string
		mod  func(x *X)
		rule string
		row  int
	}{
		{"valid", func(x *X) {}, "", 0},
		{"two types", func(x *X) { x[5][0] = 1 }, "MULTIPLE_TYPES", 5},
		{"missing layer 2", func(x *X) { x[9] = [9]float32{} }, "MISSING_LAYER", 9},
		{"gap", func(x *X) { x[14] = [9]float32{}; x[15][2] = 1 }, "GAP", 15},
		{"not binary", func(x *X) { x[2][2] = 0.3 }, "NOT_BINARY", 2},
	}
	for _, c := range cases {
		y := x
		c.mod(&y)
		err := y.Validate()
		var ie *InvalidError
		if c.rule == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if !errors.As(err, &ie) || ie.Rule != c.rule || ie.Row != c.row {
			t.Errorf("%s: %v, want %s at row %d", c.name, err, c.rule, c.row)
		}
	}
	// Decoding a noisy sample near the one-hot matrix.
	rng := tensor.NewRNG(5)
	var n X
	for i := range n {
		for j := range n[i] {
			n[i][j] = x[i][j]*0.6 + 0.2 + 0.25*(rng.Float32()-0.5)
		}
	}
	for _, d := range []Decoder{DecodeThreshold, DecodeArgmax} {
		if got, err := Decode(n, d); err != nil || got != a {
			t.Errorf("%s: %v, %v", d, got, err)
		}
	}
	n[0][8] = 0.9 // two entries above threshold in row 0
	if _, err := Decode(n, DecodeThreshold); err == nil {
		t.Error("threshold accepted a two-type row")
	}
	if got, err := Decode(n, DecodeArgmax); err != nil || got.KS[0] != 7 || got.E[0] != 6 {
		t.Errorf("argmax: %v, %v", got, err)
	}
	archs, errs, err := DecodeBatch(OneHotBatch([]Arch{a, uniformArch(3, 3, 2)}), DecodeThreshold)
	if err != nil || errs[0] != nil || errs[1] != nil || archs[0] != a || archs[1] != uniformArch(3, 3, 2) {
		t.Errorf("DecodeBatch: %v %v %v", archs, errs, err)
	}
	adj := Adjacency()
	edges := 0
	for i := range adj {
		for j := range adj[i] {
			if adj[i][j] == 1 {
				edges++
				if j != i+1 {
					t.Errorf("edge %d->%d", i, j)
				}
			}
		}
	}
	if edges != 19 {
		t.Errorf("%d chain edges", edges)
	}
}

func TestRandom(t *testing.T) {
	rng := tensor.NewRNG(11)
	var depth [5]int
	var kern [3]int
	const n = 6000
	for i := 0; i < n; i++ {
		a := Random(rng)
		if err := a.Validate(); err != nil {
			t.Fatal(err)
		}
		depth[a.D[0]]++
		kern[kernelIndex(a.KS[0])]++
		x := a.OneHot()
		if err := x.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	// Each of 3 choices ~ 2000, sd ~ 37: allow 5 sd.
	for _, c := range append(depth[2:], kern[:]...) {
		if c < 1815 || c > 2185 {
			t.Errorf("counts depth %v kernel %v not uniform", depth, kern)
			break
		}
	}
}

func TestRandomUniform(t *testing.T) {
	rng := tensor.NewRNG(12)
	var depth [5]int
	const n = 20000
	for i := 0; i < n; i++ {
		a := RandomUniform(rng)
		if err := a.Validate(); err != nil {
			t.Fatal(err)
		}
		depth[a.D[2]]++
	}
	// P(d) = 9^d / 7371: 0.011, 0.099, 0.890.
	for d, p := range map[int]float64{2: 81.0 / 7371, 3: 729.0 / 7371, 4: 6561.0 / 7371} {
		sd := math.Sqrt(n * p * (1 - p))
		if math.Abs(float64(depth[d])-n*p) > 5*sd {
			t.Errorf("depth %d drawn %d times, want ~%.0f", d, depth[d], n*p)
		}
	}
	if got := NumArchs(); math.Abs(got/21758655492572485851-1) > 1e-12 {
		t.Errorf("NumArchs = %g", got)
	}
}
