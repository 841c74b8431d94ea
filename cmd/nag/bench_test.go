package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func runBenchArgs(args ...string) (int, string, string) {
	return runArgs(append([]string{"bench"}, args...)...)
}

// TestBenchOnlyJSON runs two workloads of the small configuration and
// checks that exactly those report wall and CPU times.
func TestBenchOnlyJSON(t *testing.T) {
	code, out, stderr := runBenchArgs("-config", "small", "-batch", "2", "-reps", "1", "-warmup", "0", "-only", "forward,pc", "-json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r map[string]any
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	for _, k := range []string{"forward_s", "pc_step_s", "forward_cpu_s", "pc_step_cpu_s"} {
		if v, _ := r[k].(float64); !(v > 0) && !strings.HasSuffix(k, "cpu_s") {
			t.Errorf("%s = %v, want > 0", k, r[k])
		}
		if _, ok := r[k]; !ok {
			t.Errorf("missing %s", k)
		}
	}
	for _, k := range []string{"train_step_s", "guided_pc_step_s", "predictor_train_step_s"} {
		if v, _ := r[k].(float64); v != 0 {
			t.Errorf("%s = %v, want 0 (not selected)", k, v)
		}
	}
}

func TestBenchUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-only", "forward,bogus"},
		{"-config", "huge"},
		{"-reps", "0"},
	} {
		code, _, stderr := runBenchArgs(args...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", args, code, stderr)
		}
	}
}

// TestBenchVecGemmNeedsCUDA: the CUDA-only GEMM switch is refused on the CPU
// with a message that says why.
func TestBenchVecGemmNeedsCUDA(t *testing.T) {
	code, _, stderr := runBenchArgs("-vec-gemm", "-config", "small")
	if code != 2 || !strings.Contains(stderr, "--vec-gemm needs --device cuda") {
		t.Errorf("exit %d, stderr %q: want 2 and a --device cuda hint", code, stderr)
	}
}

// TestBenchProfileNeedsCUDA: the kernel profile is a device feature; the CPU
// build points at --cpuprofile instead.
func TestBenchProfileNeedsCUDA(t *testing.T) {
	code, _, stderr := runBenchArgs("-profile", "-config", "small")
	if code != 2 || !strings.Contains(stderr, "--profile needs --device cuda") || !strings.Contains(stderr, "--cpuprofile") {
		t.Errorf("exit %d, stderr %q: want 2 and a --device cuda / --cpuprofile hint", code, stderr)
	}
}
