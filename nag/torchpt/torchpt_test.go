package torchpt

import (
	"github.com/nagml/nag/internal/shareddata"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// officialDir finds ../shared/data/diffusionnag-official ($NAG_DATA or next
// to the directory holding go.mod), skipping when absent.
func officialDir(t testing.TB) string {
	t.Helper()
	d := filepath.Join(shareddata.Root(t), "diffusionnag-official")
	if _, err := os.Stat(d); err != nil {
		t.Skipf("official DiffusionNAG files not available: %v", err)
	}
	return d
}

func load(t *testing.T, name string) *File {
	t.Helper()
	f, err := Load(filepath.Join(officialDir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestLegacyTensors(t *testing.T) {
	cases := []struct {
		file  string
		n     int
		first []int64
	}{
		{"ridx.pt", 15625, []int64{14142, 8, 1946, 10394, 8554}},
		{"meta_train_tasks_predictor_idx.pt", 4630, []int64{3495, 357, 3034, 972}},
	}
	for _, c := range cases {
		f := load(t, c.file)
		if f.Format != "legacy" {
			t.Errorf("%s: format %s", c.file, f.Format)
		}
		ts, ok := f.Root.(*Tensor)
		if !ok || ts.DType != Int64 || len(ts.Shape) != 1 || ts.Shape[0] != c.n {
			t.Fatalf("%s: root %s", c.file, Describe(f.Root))
		}
		v, err := ts.Int64s()
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range c.first {
			if v[i] != w {
				t.Errorf("%s[%d] = %d, want %d", c.file, i, v[i], w)
			}
		}
		// A permutation of 0..n-1.
		seen := make([]bool, c.n)
		for _, x := range v {
			if x < 0 || int(x) >= c.n || seen[x] {
				t.Fatalf("%s: not a permutation (value %d)", c.file, x)
			}
			seen[x] = true
		}
	}
}

func TestLegacyTaskList(t *testing.T) {
	f := load(t, "meta_train_task_lst.pt")
	l, ok := f.Root.([]any)
	if !ok || len(l) != 5000 {
		t.Fatalf("root %s, want list[5000]", Describe(f.Root))
	}
	t0, ok := l[0].([]any)
	if !ok || len(t0) != 20 {
		t.Fatalf("task 0: %s", Describe(l[0]))
	}
	for i, w := range []int64{338, 238, 328, 24, 107} {
		if t0[i] != w {
			t.Errorf("task 0 [%d] = %v, want %d", i, t0[i], w)
		}
	}
}

func TestZipMetaTrain(t *testing.T) {
	f := load(t, "meta_train_tasks_predictor.pt")
	if f.Format != "zip" {
		t.Errorf("format %s", f.Format)
	}
	d, ok := f.Root.(*Dict)
	if !ok || d.Len() != 10 {
		t.Fatalf("root %s", Describe(f.Root))
	}
	for _, k := range []string{"acc", "task", "str", "x", "adj", "g", "matrix", "flops", "params", "latency"} {
		v, ok := d.Get(k)
		if !ok {
			t.Fatalf("key %q missing", k)
		}
		if l, ok := v.([]any); !ok || len(l) != 4630 {
			t.Fatalf("%s: %s, want list[4630]", k, Describe(v))
		}
	}
	get := func(k string) []any { v, _ := d.Get(k); return v.([]any) }
	if acc, ok := get("acc")[0].(float64); !ok || math.Abs(acc-74.80) > 1e-4 {
		t.Errorf("acc[0] = %v", get("acc")[0])
	}
	if s := get("str")[0]; s != "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|" {
		t.Errorf("str[0] = %v", s)
	}
	x, ok := get("x")[0].(*Tensor)
	if !ok || x.DType != Float32 || len(x.Shape) != 2 || x.Shape[0] != 8 || x.Shape[1] != 7 {
		t.Fatalf("x[0] = %s", Describe(get("x")[0]))
	}
	xv := x.Float32s()
	for row, want := range []int{0, 5, 5, 5, 3, 5, 5, 1} {
		for j := 0; j < 7; j++ {
			exp := float32(0)
			if j == want {
				exp = 1
			}
			if xv[row*7+j] != exp {
				t.Fatalf("x[0][%d][%d] = %v", row, j, xv[row*7+j])
			}
		}
	}
	// adj: 0→1; 1→2,3,5; 2→3,6; 3→4,6; 4→5; 5→6; 6→7 (11 edges).
	adj := get("adj")[0].(*Tensor).Float32s()
	edges := [][2]int{{0, 1}, {1, 2}, {1, 3}, {1, 5}, {2, 3}, {2, 6}, {3, 4}, {3, 6}, {4, 5}, {5, 6}, {6, 7}}
	sum := float32(0)
	for _, v := range adj {
		sum += v
	}
	for _, e := range edges {
		if adj[e[0]*8+e[1]] != 1 {
			t.Errorf("adj[%d][%d] != 1", e[0], e[1])
		}
	}
	if sum != 11 {
		t.Errorf("adj has %v edges", sum)
	}
	// matrix: numpy float64 [4,4], e.g. [[0,0,0,0],[5,0,0,0],[5,5,0,0],[3,5,5,0]].
	m, ok := get("matrix")[0].(*Tensor)
	if !ok || m.Source != "numpy" || m.DType != Float64 || m.Shape[0] != 4 || m.Shape[1] != 4 {
		t.Fatalf("matrix[0] = %s", Describe(get("matrix")[0]))
	}
	want := []float64{0, 0, 0, 0, 5, 0, 0, 0, 5, 5, 0, 0, 3, 5, 5, 0}
	for i, v := range m.Float64s() {
		if v != want[i] {
			t.Fatalf("matrix[0] = %v, want %v", m.Float64s(), want)
		}
	}
	// numpy float64 scalars (0.8333, 0.8333, 0.7295).
	for k, w := range map[string]float64{"flops": 0.8333, "params": 0.8333, "latency": 0.7295} {
		v, ok := get(k)[0].(float64)
		if !ok || math.Abs(v-w) > 5e-5 {
			t.Errorf("%s[0] = %v (%s), want ~%v", k, get(k)[0], Describe(get(k)[0]), w)
		}
	}
	// The igraph objects are skipped with a note.
	if o, ok := get("g")[0].(*Object); !ok || o.Class != "igraph.Graph" {
		t.Errorf("g[0] = %s", Describe(get("g")[0]))
	}
	if len(f.Notes) != 1 || !strings.Contains(f.Notes[0], "4630 igraph.Graph") {
		t.Errorf("notes %q", f.Notes)
	}
}

func TestZipConfig(t *testing.T) {
	f := load(t, "transfer_nag_config.pt")
	d, ok := f.Root.(*Dict)
	if !ok {
		t.Fatalf("root %s", Describe(f.Root))
	}
	tr, ok := d.Get("training")
	if !ok {
		t.Fatalf("no training section: %s", Describe(f.Root))
	}
	td, ok := tr.(*Dict)
	if !ok {
		t.Fatalf("training = %s", Describe(tr))
	}
	if v, _ := td.Get("sde"); v != "vesde" {
		t.Errorf("training.sde = %v", v)
	}
	if v, _ := td.Get("batch_size"); v != int64(256) {
		t.Errorf("training.batch_size = %v", v)
	}
	if v, _ := d.Get("folder_name"); v != "0404" {
		t.Errorf("folder_name = %v", v)
	}
	// sigma_max = 20.0 somewhere in the model section.
	model, _ := d.Get("model")
	md, ok := model.(*Dict)
	if !ok {
		t.Fatalf("model = %s", Describe(model))
	}
	if v, _ := md.Get("sigma_max"); v != 20.0 {
		t.Errorf("model.sigma_max = %v", v)
	}
}

func TestDecodeErrors(t *testing.T) {
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "legacy format"},
		{"text", []byte("hello world"), "legacy format"},
		{"zip without data.pkl", []byte("PK\x03\x04garbage"), "zip format"},
	}
	for _, c := range cases {
		if _, err := Decode(c.data); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
	}
	// Truncated legacy file: the storages are cut off.
	raw, err := os.ReadFile(filepath.Join(officialDir(t), "ridx.pt"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(raw[:len(raw)-100]); err == nil || !strings.Contains(err.Error(), "storage") {
		t.Errorf("truncated: %v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "none.pt")); err == nil || !strings.Contains(err.Error(), "none.pt") {
		t.Errorf("missing: %v", err)
	}
}
