package bo

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// handRecord builds a record whose incumbent test values are curve.
func handRecord(method string, seed uint64, values, curve []float64) *Record {
	r := &Record{Format: RecordFormat, Method: method, Task: Task{Name: "c10", Search: "c10v_valid", Test: "c10_test", Note: "hand"},
		Seed: seed, OptimumSearch: 10, OptimumTest: 94.37, WallSeconds: 2, Timings: Timings{Surrogate: 1, Generator: 0.5}}
	for i := range curve {
		r.Evals = append(r.Evals, EvalRecord{Arch: "a", Value: values[i], Test: F(curve[i]), IncumbentTest: F(curve[i])})
	}
	return r
}

func TestAggregateHandRecords(t *testing.T) {
	recs := []*Record{
		handRecord("rea", 0, []float64{1, 2, 10, 3}, []float64{90, 91, 94.37, 94.37}),
		handRecord("rea", 1, []float64{1, 2, 3, 4}, []float64{92, 93, 93, 94}),
		handRecord("random", 0, []float64{1, 10}, []float64{80, 94.37}),
	}
	sums := Aggregate(recs, []int{1, 3, 4})
	if len(sums) != 2 || sums[0].Method != "random" || sums[1].Method != "rea" {
		t.Fatalf("summaries %+v, want random then rea", sums)
	}
	rea := sums[1]
	// N=1: 90, 92 → mean 91, sample std sqrt(2).
	if a := rea.At[0]; a.Runs != 2 || a.Mean != 91 || math.Abs(a.Std-math.Sqrt2) > 1e-12 {
		t.Errorf("rea at 1: %+v", a)
	}
	// N=3: 94.37, 93 → mean 93.685.
	if a := rea.At[1]; math.Abs(a.Mean-93.685) > 1e-9 {
		t.Errorf("rea at 3: %+v", a)
	}
	if rea.ToTest.Reached != 1 || rea.ToTest.Mean != 3 || rea.ToSearch.Reached != 1 || rea.ToSearch.Mean != 3 {
		t.Errorf("rea to optimum: test %+v search %+v", rea.ToTest, rea.ToSearch)
	}
	rnd := sums[0]
	if a := rnd.At[1]; a.Runs != 0 || !math.IsNaN(a.Mean) {
		t.Errorf("random at 3 (run too short): %+v", a)
	}
	if rnd.ToTest.Mean != 2 || rnd.ToTest.Reached != 1 || rnd.Wall != 2 || rnd.Surrogate != 1 {
		t.Errorf("random: %+v", rnd)
	}
	var buf bytes.Buffer
	if err := WriteTable(&buf, sums); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"| rea | 2 | 91.00 ± 1.41 | 93.69 ± 0.97 | 94.19 ± 0.26 | 3.0 (1/2) | 3.0 (1/2) |", "| random | 1 | 80.00 ± 0.00 | – | – | 2.0 (1/1) |"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestRecordRoundTripAndPlot(t *testing.T) {
	dir := t.TempDir()
	r := handRecord("bananas", 3, []float64{1, 2, 3}, []float64{91, 92, 93})
	r.Evals[1].Test = F(math.NaN()) // unknown test value
	if err := WriteRecord(filepath.Join(dir, RecordFileName("bananas", "c10", 3)), r); err != nil {
		t.Fatal(err)
	}
	r2 := handRecord("rea", 3, []float64{1, 2, 3}, []float64{90, 92, 92.5})
	if err := WriteRecord(filepath.Join(dir, RecordFileName("rea", "c10", 3)), r2); err != nil {
		t.Fatal(err)
	}
	recs, err := ReadRecords(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Method != "bananas" || recs[0].Seed != 3 || !math.IsNaN(float64(recs[0].Evals[1].Test)) || float64(recs[0].Evals[2].IncumbentTest) != 93 {
		t.Fatalf("round trip: %+v", recs[0])
	}
	png := filepath.Join(dir, "curves.png")
	if err := PlotCurves(png, recs, "c10", "c10v_valid", "hand"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(png)
	if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Fatalf("plot is not a PNG (%v)", err)
	}
	if err := PlotCurves(png, recs, "c100", "c100_test", ""); err == nil {
		t.Error("plot of a task without runs: no error")
	}
	// A foreign JSON file is an error, not silently skipped.
	os.WriteFile(filepath.Join(dir, "other.json"), []byte(`{"x": 1}`), 0o644)
	if _, err := ReadRecords(dir); err == nil {
		t.Error("foreign JSON accepted")
	}
	if _, err := ReadRecords(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing directory accepted")
	}
}

func TestNB201Task(t *testing.T) {
	good := []struct{ ds, search, col, test string }{
		{"c10", "", "c10v_valid", "c10_test"},
		{"c10", "valid12", "c10v_valid_12ep", "c10_test"},
		{"c100", "", "c100_test", "c100_test"},
		{"c100", "valid12", "c100_valid_12ep", "c100_test"},
		{"in16", "test", "in16_test", "in16_test"},
		{"in16", "valid12", "in16_valid_12ep", "in16_test"},
	}
	for _, g := range good {
		tk, err := NB201Task(g.ds, g.search)
		if err != nil || tk.Search != g.col || tk.Test != g.test || tk.Note == "" {
			t.Errorf("NB201Task(%q, %q) = %+v, %v", g.ds, g.search, tk, err)
		}
	}
	for _, b := range [][2]string{{"c100", "valid"}, {"in16", "valid"}, {"imagenet", ""}, {"c10", "train"}} {
		if _, err := NB201Task(b[0], b[1]); err == nil {
			t.Errorf("NB201Task(%q, %q): no error", b[0], b[1])
		}
	}
}

// Runs without a recorded optimum (MobileNetV3) report "n/a", not "0 runs
// reached it".
func TestAggregateUnknownOptimum(t *testing.T) {
	r := handRecord("rea", 0, []float64{1, 2}, []float64{80, 81})
	r.OptimumSearch, r.OptimumTest, r.Task.Name = 0, 0, "in1k"
	sums := Aggregate([]*Record{r}, []int{1, 2})
	if len(sums) != 1 || sums[0].ToTest.Known || sums[0].ToSearch.Known {
		t.Fatalf("summaries %+v: optimum should be unknown", sums)
	}
	var buf bytes.Buffer
	if err := WriteTable(&buf, sums); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "n/a (optimum unknown)") {
		t.Errorf("table:\n%s", buf.String())
	}
}
