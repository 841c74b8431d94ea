//go:build !cuda

package main

import (
	"strings"
	"testing"
)

// Without -tags cuda, --device cuda is a clear error naming the fix, and an
// unknown device is a usage error.
func TestDeviceFlagWithoutCUDA(t *testing.T) {
	for _, args := range [][]string{
		{"sample", "--device", "cuda", "--n", "1", "--steps", "1"},
		{"bench", "--device", "cuda"},
		{"train-score", "--device", "cuda", "--out", t.TempDir() + "/x.ckpt", "--iters", "1"},
		{"mbv3-train-score", "--device", "cuda", "--uniform", "10", "--iters", "1", "--out", t.TempDir() + "/m.ckpt"},
		{"mbv3-sample", "--device", "cuda", "--n", "1", "--steps", "1"},
		{"generate", "--device", "cuda", "--n", "1", "--steps", "1"},
		{"transfer", "--device", "cuda", "--evaluate", "cmd", "--evaluate-cmd", "echo 1", "--n", "1", "--steps", "1"},
		{"train-predictor", "--device", "cuda", "--iters", "1", "--out", t.TempDir() + "/p.ckpt"},
	} {
		code, _, stderr := runArgs(args...)
		if code == 0 || !strings.Contains(stderr, "built without CUDA support") || !strings.Contains(stderr, "-tags cuda") {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
	code, _, stderr := runArgs("sample", "--device", "tpu", "--n", "1")
	if code != 2 || !strings.Contains(stderr, "want cpu or cuda") {
		t.Errorf("--device tpu: exit %d, stderr %q", code, stderr)
	}
}
