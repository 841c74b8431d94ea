package metatrain

import (
	"github.com/nagml/nag/internal/shareddata"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func officialDir(t testing.TB) string {
	t.Helper()
	d := filepath.Join(shareddata.Root(t), "diffusionnag-official")
	if _, err := os.Stat(d); err != nil {
		t.Skipf("official DiffusionNAG files not available: %v", err)
	}
	return d
}

func TestLoad(t *testing.T) {
	d, err := Load(officialDir(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Entries) != 4630 {
		t.Fatalf("%d entries", len(d.Entries))
	}
	e0 := d.Entries[0]
	if s := e0.Arch.String(); s != "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|" {
		t.Errorf("entry 0 arch %s", s)
	}
	if math.Round(e0.Acc*100)/100 != 74.80 {
		t.Errorf("entry 0 acc %v", e0.Acc)
	}
	tasks, archs := map[int]bool{}, map[string]bool{}
	lo, hi, sum := math.Inf(1), math.Inf(-1), 0.0
	for _, e := range d.Entries {
		tasks[e.Task] = true
		archs[e.Arch.String()] = true
		lo, hi, sum = math.Min(lo, e.Acc), math.Max(hi, e.Acc), sum+e.Acc
		if e.Flops < 1e-5-1e-12 || e.Flops > 1 || e.Latency < 1e-5-1e-12 || e.Latency > 1 {
			t.Fatalf("cost features out of range: %+v", e)
		}
	}
	if len(tasks) != 3031 || len(archs) != 1553 {
		t.Errorf("%d distinct tasks (want 3031), %d distinct archs (want 1553)", len(tasks), len(archs))
	}
	if math.Abs(lo-40.99) > 0.005 || math.Abs(hi-86.00) > 0.005 || math.Abs(sum/4630-71.59) > 0.005 {
		t.Errorf("acc range %.3f..%.3f mean %.3f; want 40.99..86.00 mean 71.59", lo, hi, sum/4630)
	}
	if math.Abs(e0.Flops-0.8333) > 5e-5 || math.Abs(e0.Params-0.8333) > 5e-5 || math.Abs(e0.Latency-0.7295) > 5e-5 {
		t.Errorf("entry 0 costs %v %v %v", e0.Flops, e0.Params, e0.Latency)
	}
	if len(d.Tasks) != 5000 || len(d.Tasks[0]) != 20 {
		t.Fatalf("tasks: %d, task 0 has %d classes", len(d.Tasks), len(d.Tasks[0]))
	}
	for i, w := range []int{338, 238, 328, 24, 107} {
		if d.Tasks[0][i] != w {
			t.Errorf("task 0 [%d] = %d, want %d", i, d.Tasks[0][i], w)
		}
	}
	for i, task := range d.Tasks {
		seen := map[int]bool{}
		for _, c := range task {
			if c < 1 || c > 600 || seen[c] {
				t.Fatalf("task %d: class ids %v", i, task)
			}
			seen[c] = true
		}
	}
	for i, w := range []int{14142, 8, 1946, 10394, 8554} {
		if d.RIdx[i] != w {
			t.Errorf("ridx[%d] = %d, want %d", i, d.RIdx[i], w)
		}
	}
	if len(d.RIdx) != 15625 {
		t.Errorf("ridx has %d entries", len(d.RIdx))
	}
	train, eval := d.Split()
	if len(eval) != 400 || len(train) != 4230 || eval[0] != 3495 || eval[1] != 357 || train[0] != d.Idx[400] {
		t.Errorf("split: %d train, %d eval, eval starts %v", len(train), len(eval), eval[:2])
	}
}

func TestLoadErrors(t *testing.T) {
	dir := officialDir(t)
	// A tensor file where a list file is expected, and vice versa.
	if _, err := LoadTasks(filepath.Join(dir, RIdxFile)); err != nil {
		// ridx is a tensor, not a list of lists.
		if !strings.Contains(err.Error(), "want a list") {
			t.Errorf("LoadTasks(ridx): %v", err)
		}
	} else {
		t.Error("LoadTasks(ridx) succeeded")
	}
	if _, err := LoadPerm(filepath.Join(dir, TasksFile)); err == nil {
		t.Error("LoadPerm(task list) succeeded")
	}
	if _, err := LoadEntries(filepath.Join(dir, RIdxFile)); err == nil || !strings.Contains(err.Error(), "want a dict") {
		t.Errorf("LoadEntries(ridx): %v", err)
	}
	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), EntriesFile) {
		t.Errorf("Load(empty dir): %v", err)
	}
}
