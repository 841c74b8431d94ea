package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Usage errors of the hardware-aware and MobileNetV3 commands exit 2 with
// a message naming the problem.
func TestHWCommandUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"hw-train", "--space", "nb201"}, "--out is required"},
		{[]string{"hw-train", "--space", "darts", "--out", "x"}, "want nb201 or mbv3"},
		{[]string{"hw-eval"}, "required"},
		{[]string{"hw-eval", "--bench", "b", "--acc-ckpt", "a", "--lat", "edgegpu"}, "DEVICE=CHECKPOINT"},
		{[]string{"hw-eval", "--bench", "b", "--acc-ckpt", "a", "--lat", "edgegpu=x", "--quantiles", "0.1,2,0.5"}, "--quantiles"},
		{[]string{"mbv3-train-score", "--uniform", "10"}, "--out is required"},
		{[]string{"mbv3-train-score", "--sampler", "grid", "--out", "x"}, "--sampler"},
		{[]string{"mbv3-hw-eval", "--ofa-dir", "d"}, "required"},
		{[]string{"mbv3-hw-eval", "--score-ckpt", "s", "--acc-ckpt", "a", "--ofa-dir", "d", "--lat-guide", "g"}, "go together"},
	} {
		code, _, stderr := runArgs(c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, stderr, c.want)
		}
	}
}

// A tiny end-to-end run of mbv3-train-score and mbv3-sample.
func TestMBV3TrainSample(t *testing.T) {
	dir := t.TempDir()
	ck := filepath.Join(dir, "s.ckpt")
	code, out, stderr := runArgs("mbv3-train-score", "--uniform", "50", "--iters", "2", "--batch", "4", "--out", ck)
	if code != 0 {
		t.Fatalf("train exit %d: %s %s", code, out, stderr)
	}
	exp := filepath.Join(dir, "e.ckpt")
	if code, out, stderr = runArgs("mbv3-train-score", "--export-from", ck, "--out", exp); code != 0 || !strings.Contains(out, "exported") {
		t.Fatalf("export exit %d: %s %s", code, out, stderr)
	}
	ck = exp
	md := filepath.Join(dir, "r.md")
	code, out, stderr = runArgs("mbv3-sample", "--ckpt", ck, "--n", "4", "--steps", "2", "--batch", "4", "--out-md", md)
	if code != 0 {
		t.Fatalf("sample exit %d: %s %s", code, out, stderr)
	}
	b, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"validity", "| kernel 3 |", "stage/ofa-50-seed1", "2 PC steps (snr 0.16)"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("report lacks %q:\n%s", want, b)
		}
	}
	// The report names the sampler and ratio it used (TestSampleSNR checks
	// that --snr reaches the corrector).
	samples := func(args ...string) string {
		t.Helper()
		o := filepath.Join(dir, "a.txt")
		md := filepath.Join(dir, "r2.md")
		args = append([]string{"mbv3-sample", "--ckpt", ck, "--n", "4", "--steps", "3", "--batch", "4", "--out", o, "--out-md", md}, args...)
		if code, out, stderr := runArgs(args...); code != 0 {
			t.Fatalf("%v: exit %d: %s %s", args, code, out, stderr)
		}
		b, _ := os.ReadFile(md)
		return string(b)
	}
	if r := samples("--snr", "0.5"); !strings.Contains(r, "3 PC steps (snr 0.5)") {
		t.Errorf("--snr 0.5 report header:\n%s", r)
	}
	if r := samples("--sampler", "ode"); !strings.Contains(r, "3 probability-flow ODE steps") {
		t.Errorf("--sampler ode report header:\n%s", r)
	}
}
