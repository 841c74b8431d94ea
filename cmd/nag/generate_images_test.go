package main

import (
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
	// The embedded predictor was meta-trained without features: the images
	// are not read and the command says so.
	out := filepath.Join(t.TempDir(), "g.jsonl")
	code, _, stderr := runArgs("generate", "--dataset-images", "does-not-matter", "--steps", "3", "--batch", "8",
		"--n", "1", "--rounds", "1", "--out", out)
	if code != 0 || !strings.Contains(stderr, "--dataset-images is ignored") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}
