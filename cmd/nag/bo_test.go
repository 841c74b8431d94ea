package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nagml/nag/internal/shareddata"
)

func runBOArgs(args ...string) (code int, stdout, stderr string) {
	return runArgs(append([]string{"bo"}, args...)...)
}

func TestParseSeeds(t *testing.T) {
	got, err := parseSeeds("0-3,7,2")
	if err != nil || len(got) != 5 || got[0] != 0 || got[3] != 3 || got[4] != 7 {
		t.Fatalf("parseSeeds = %v, %v", got, err)
	}
	for _, bad := range []string{"", "a", "3-1", "1-", "-2"} {
		if _, err := parseSeeds(bad); err == nil {
			t.Errorf("parseSeeds(%q): no error", bad)
		}
	}
}

func TestBOUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--task", "c10", "--out", "x"},                                             // no method
		{"--method", "random", "--task", "c10"},                                     // no out
		{"--method", "sgd", "--task", "c10", "--out", "x"},                          // unknown method
		{"--method", "random", "--task", "c100", "--search", "valid", "--out", "x"}, // no 200-epoch valid column
		{"--method", "random", "--seeds", "5-1", "--out", "x"},
		{"--method", "bananas", "--acq", "pi", "--out", "x"},
		{"--space", "darts", "--method", "random", "--out", "x"},
		{"--space", "mbv3", "--method", "random", "--task", "c100", "--out", "x"},                 // in1k only
		{"--space", "mbv3", "--method", "gnn-mutation", "--warm-start", "embedded", "--out", "x"}, // NB201 predictor
		{"--method", "diffusionnag", "--local-frac", "1.5", "--out", "x"},
		{"--method", "diffusionnag", "--local-frac", "0.5", "--local-start", "2", "--out", "x"},
		{"--method", "diffusionnag", "--local-start", "0.5", "--out", "x"}, // without --local-frac
	} {
		if code, _, stderr := runBOArgs(args...); code != 2 {
			t.Errorf("nag bo %v: exit %d (want 2), stderr %q", args, code, stderr)
		}
	}
	if code, _, _ := runBOArgs("report"); code != 2 {
		t.Errorf("nag bo report without a directory: exit %d, want 2", code)
	}
	if code, _, _ := runBOArgs("report", filepath.Join(t.TempDir(), "none")); code != 1 {
		t.Errorf("nag bo report on a missing directory: exit %d, want 1", code)
	}
}

func TestBORunAndReport(t *testing.T) {
	table := filepath.Join(evalDataRoot(t), "nasbench201", "nb201.csv.gz")
	if _, err := os.Stat(table); err != nil {
		t.Skipf("NB201 table not available (%s)", table)
	}
	dir := t.TempDir()
	code, _, stderr := runBOArgs("--method", "random,rea,ls", "--task", "in16", "--search", "valid12", "--budget", "30", "--seeds", "0-1", "--bench", table, "--out", dir)
	if code != 0 {
		t.Fatalf("nag bo: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "in16_valid_12ep") {
		t.Errorf("the search column is not stated: %q", stderr)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) != 6 {
		t.Fatalf("%d records, want 6", len(files))
	}
	// Existing records are skipped.
	if code, _, stderr = runBOArgs("--method", "random", "--task", "in16", "--search", "valid12", "--budget", "30", "--seeds", "1", "--bench", table, "--out", dir); code != 0 || !strings.Contains(stderr, "skipped") {
		t.Errorf("rerun: exit %d, stderr %q", code, stderr)
	}
	code, stdout, stderr := runBOArgs("report", dir, "--at", "10,30")
	if code != 0 {
		t.Fatalf("nag bo report: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"### in16 (search in16_valid_12ep)", "| random | 2 |", "| rea | 2 |", "| ls | 2 |", "N=30"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, stdout)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "curves-in16-in16_valid_12ep.png")); err != nil {
		t.Errorf("plot not written: %v", err)
	}
}

// A short BO run in the MobileNetV3 space with OFA's predictor as the oracle
// writes a record that says which space and which surrogate it used.
func TestBOMBV3Run(t *testing.T) {
	dir := shareddata.Root(t)
	out := t.TempDir()
	code, _, stderr := runBOArgs("--space", "mbv3", "--ofa-dir", filepath.Join(dir, "ofa-mbv3"), "--method", "rea",
		"--budget", "12", "--batch", "4", "--seeds", "1", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "SURROGATE") {
		t.Errorf("the run does not say that its benchmark is a surrogate: %s", stderr)
	}
	b, err := os.ReadFile(filepath.Join(out, "rea-in1k-seed1.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"space": "mbv3"`, `"name": "in1k"`, "ofa_pred_top1_r224"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("record lacks %s", want)
		}
	}
}
