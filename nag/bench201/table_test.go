package bench201

import (
	"bytes"
	"compress/gzip"
	"errors"
	"github.com/nagml/nag/internal/shareddata"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/nagml/nag/nag/nb201"
)

// dataRoot finds the shared data: $NAG_DATA, else ../shared/data next to
// the directory holding go.mod.
func dataRoot(t testing.TB) string { return shareddata.Root(t) }

var (
	loadOnce sync.Once
	shared   *Table
	loadErr  error
)

// table loads the real table once per test binary, or skips when absent.
func table(t testing.TB) *Table {
	t.Helper()
	path := filepath.Join(dataRoot(t), "nasbench201", "nb201.csv.gz")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("benchmark table not available: %v", err)
	}
	loadOnce.Do(func() { shared, loadErr = Load(path) })
	if loadErr != nil {
		t.Fatal(loadErr)
	}
	return shared
}

func TestLoadFacts(t *testing.T) {
	tb := table(t)
	if tb.Len() != 15625 {
		t.Fatalf("Len = %d, want 15625", tb.Len())
	}
	if got := len(tb.Columns()); got != 77 {
		t.Errorf("%d metric columns, want 77", got)
	}
	row0 := "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
	if got := tb.Arch(0).String(); got != row0 {
		t.Errorf("Arch(0) = %s", got)
	}
	if i, err := tb.IndexOf(row0); err != nil || i != 0 {
		t.Errorf("IndexOf(row0) = %d, %v", i, err)
	}
	checks := []struct {
		i    int
		col  string
		want float64
	}{
		{0, "c10_test", 85.86333333333334},
		{0, "c10v_valid", 81.98266666},
		{0, "c100_test", 52.91333329467773},
		{0, "in16_test", 26.6333332739936},
		{0, "c10_test_12ep", 69.55},
		{0, "hw_c10_edgegpu_latency", 5.807418537139893},
		{0, "help_lat_essential_ph_1", 9},
		{1, "c10_test", 93.66},
		{1, "params_c10", 0.802426},
	}
	for _, c := range checks {
		v, err := tb.Value(c.i, c.col)
		if err != nil || v != c.want {
			t.Errorf("Value(%d, %s) = %v, %v; want %v", c.i, c.col, v, err, c.want)
		}
	}
	// Optima quoted in the data README.
	optima := []struct {
		col  string
		idx  int
		want float64
	}{
		{"c10_test", 6111, 94.37333333333332},
		{"c10v_valid", 6111, 91.60666665},
		{"c100_test", 9930, 73.51333326009114},
		{"in16_test", 857, 47.31111105685764},
		{"c10_test_12ep", 5374, 89.16},
	}
	for _, o := range optima {
		i, v, err := tb.Best(o.col)
		if err != nil || i != o.idx || v != o.want {
			t.Errorf("Best(%s) = %d, %v, %v; want %d, %v", o.col, i, v, err, o.idx, o.want)
		}
	}
	best := nb201.MustParse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|")
	if v, err := tb.Query(best, "c10_test"); err != nil || v != 94.37333333333332 {
		t.Errorf("Query(best) = %v, %v", v, err)
	}
	if _, err := tb.Column("c100_valid"); !errors.Is(err, ErrUnknownColumn) {
		t.Errorf("Column(c100_valid) err = %v, want ErrUnknownColumn", err)
	}
	if _, err := tb.Value(15625, "c10_test"); err == nil {
		t.Error("Value(15625) should fail")
	}
}

// Every row's index is a bijection with the 15,625 cells.
func TestIndexBijection(t *testing.T) {
	tb := table(t)
	for _, a := range nb201.All() {
		i := tb.Index(a)
		if i < 0 || tb.Arch(i) != a {
			t.Fatalf("Index(%s) = %d", a, i)
		}
	}
}

// The canonical form reproduces the table's iso_index on every row.
func TestIsoAgreesWithTable(t *testing.T) {
	tb := table(t)
	got := nb201.IsoClasses(tb.Archs())
	classes := map[int]bool{}
	bad := 0
	for i, r := range got {
		classes[r] = true
		if r != tb.IsoIndex(i) {
			if bad < 5 {
				t.Errorf("row %d (%s): canonical class rep %d, table iso_index %d", i, tb.Arch(i), r, tb.IsoIndex(i))
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d rows disagree", bad)
	}
	if len(classes) != 6466 {
		t.Errorf("%d classes, want 6466", len(classes))
	}
	if n := len(tb.IsoRepresentatives()); n != 6466 {
		t.Errorf("IsoRepresentatives: %d, want 6466", n)
	}
	total := 0
	for _, r := range tb.IsoRepresentatives() {
		total += len(tb.IsoMembers(r))
	}
	if total != 15625 {
		t.Errorf("class members sum to %d", total)
	}
}

// Params and FLOPs formulas reproduce the table's cost columns for every row.
func TestCostColumns(t *testing.T) {
	tb := table(t)
	for _, ds := range []nb201.Dataset{nb201.CIFAR10, nb201.CIFAR100, nb201.ImageNet16} {
		params, err := tb.Column("params_" + ds.Name)
		if err != nil {
			t.Fatal(err)
		}
		flops, err := tb.Column("flops_" + ds.Name)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < tb.Len(); i++ {
			a := tb.Arch(i)
			if p := float64(a.Params(ds)) / 1e6; math.Abs(p-params[i]) > 1e-9 {
				t.Fatalf("%s row %d params %v, table %v", ds.Name, i, p, params[i])
			}
			if f := float64(a.FLOPs(ds)) / 1e6; math.Abs(f-flops[i]) > 1e-9 {
				t.Fatalf("%s row %d flops %v, table %v", ds.Name, i, f, flops[i])
			}
		}
	}
}

// header is the full header line of a well-formed table.
func header() string {
	return strings.Join(append(append([]string(nil), identity...), MetricColumns...), ",")
}

// fakeRow is a well-formed data row for index i with every metric 1.5.
func fakeRow(i int, a nb201.Arch) string {
	f := []string{strconv.Itoa(i), a.String(), a.Code(), strconv.Itoa(i)}
	for range MetricColumns {
		f = append(f, "1.5")
	}
	return strings.Join(f, ",")
}

func TestReadErrors(t *testing.T) {
	all := nb201.All()
	var good strings.Builder
	good.WriteString(header() + "\n")
	for i, a := range all {
		good.WriteString(fakeRow(i, a) + "\n")
	}
	if tb, err := Read(strings.NewReader(good.String()), "fake.csv"); err != nil {
		t.Fatalf("well-formed fake table: %v", err)
	} else if v, _ := tb.Value(7, "c10_test"); v != 1.5 {
		t.Errorf("fake value %v", v)
	}
	lines := strings.Split(strings.TrimSuffix(good.String(), "\n"), "\n")
	edit := func(line int, s string) string {
		l := append([]string(nil), lines...)
		l[line-1] = s
		return strings.Join(l, "\n") + "\n"
	}
	cases := []struct {
		name, text, want string
	}{
		{"empty", "", "fake.csv: empty file"},
		{"wrong first column", edit(1, strings.Replace(header(), "index", "idx", 1)), `fake.csv:1: header column 1 is "idx", want "index"`},
		{"missing metric", edit(1, strings.Replace(header(), ",c10_test,", ",c10_tst,", 1)), `fake.csv:1: header lacks column "c10_test"`},
		{"short row", edit(5, "3,x"), "fake.csv:5: 2 fields"},
		{"bad number", edit(10, strings.Replace(fakeRow(8, all[8]), "1.5", "abc", 1)), `fake.csv:10: column "c10_test": "abc" is not a number`},
		{"bad arch", edit(3, strings.Replace(fakeRow(1, all[1]), "none~0", "nonee~0", 1)), "fake.csv:3: arch_str: nb201: bad arch string"},
		{"ops mismatch", edit(4, strings.Replace(fakeRow(2, all[2]), ",000002,", ",000003,", 1)), `fake.csv:4: ops "000003" does not match`},
		{"index order", edit(6, fakeRow(5, all[4])), "fake.csv:6: index"},
		{"truncated", strings.Join(lines[:100], "\n") + "\n", "fake.csv: 99 data rows, want 15625"},
		{"duplicate arch", edit(7, fakeRow(5, all[4])), "fake.csv:7: arch"},
	}
	for _, c := range cases {
		_, err := Read(strings.NewReader(c.text), "fake.csv")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to contain %q", c.name, err, c.want)
		}
	}
}

func TestLoadFileErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "missing.csv.gz")); err == nil || !strings.Contains(err.Error(), "missing.csv.gz") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Load(""); err == nil || !strings.Contains(err.Error(), EnvPath) {
		t.Errorf("empty path: %v", err)
	}
	// A gzip file with a bad header line.
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte("index,arch,ops\n"))
	zw.Close()
	p := filepath.Join(dir, "bad.csv.gz")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), p+":1:") {
		t.Errorf("bad header: %v", err)
	}
}

func BenchmarkLoad(b *testing.B) {
	path := filepath.Join(dataRoot(b), "nasbench201", "nb201.csv.gz")
	if _, err := os.Stat(path); err != nil {
		b.Skip(err)
	}
	for b.Loop() {
		if _, err := Load(path); err != nil {
			b.Fatal(err)
		}
	}
}
