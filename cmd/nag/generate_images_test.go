package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGenerateDatasetImagesFlags(t *testing.T) {
	if code, _, stderr := runArgs("generate", "--dataset", "a.json", "--dataset-images", "b"); code != 2 || !strings.Contains(stderr, "use one") {
		t.Fatalf("--dataset with --dataset-images: exit %d, stderr %q; want 2 and a usage message", code, stderr)
	}
	if code, _, _ := runArgs("generate", "--dataset-images", "b", "--per-class", "0"); code != 2 {
		t.Fatalf("--per-class 0: exit %d, want 2", code)
	}
	for _, cmd := range []string{"generate", "transfer"} {
		if code, _, stderr := runArgs(cmd, "--snr", "-1"); code != 2 || !strings.Contains(stderr, "--snr") {
			t.Errorf("%s --snr -1: exit %d, stderr %q; want 2 naming --snr", cmd, code, stderr)
		}
	}
	// The embedded predictor was meta-trained without features: the images
	// are not read and the command says so.
	out := filepath.Join(t.TempDir(), "g.jsonl")
	code, _, stderr := runArgs("generate", "--dataset-images", "does-not-matter", "--steps", "3", "--batch", "8",
		"--n", "1", "--rounds", "1", "--out", out)
	if code != 0 || !strings.Contains(stderr, "--dataset-images is ignored") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

func TestGenerateHardwareFlags(t *testing.T) {
	if code, _, _ := runArgs("generate", "--latency-budget", "3"); code != 2 {
		t.Fatalf("--latency-budget without a device: exit %d, want 2", code)
	}
	out := filepath.Join(t.TempDir(), "g.jsonl")
	code, _, stderr := runArgs("generate", "--max-flops", "50", "--steps", "60", "--batch", "32",
		"--n", "1", "--rounds", "1", "--out", out)
	if code != 0 || !strings.Contains(stderr, "meet the budget") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) == 0 || lines[0] == "" {
		t.Fatalf("no architectures generated; stderr %q", stderr)
	}
	for _, line := range lines {
		var c struct {
			FLOPs  int64 `json:"flops"`
			Within *bool `json:"within_budget"`
		}
		if err := json.Unmarshal([]byte(line), &c); err != nil || c.Within == nil {
			t.Fatalf("line %q: %v (want within_budget)", line, err)
		}
		// FLOPs are exact, so the flag must agree with the 50 M budget.
		if *c.Within != (float64(c.FLOPs) <= 50e6) {
			t.Fatalf("line %q: within_budget %v for %d FLOPs", line, *c.Within, c.FLOPs)
		}
	}
}
