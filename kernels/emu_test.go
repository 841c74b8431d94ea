package kernels

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestKernelsOnCPUEmulator compiles the CUDA kernels as host C++ against a
// small emulator of the CUDA execution model (emu/cuda_emu.h: blocks in turn,
// threads as std::threads, real barriers and warp shuffles) and checks them
// against naive double-precision references and finite differences
// (emu/emu_test.cpp). It catches indexing, tiling, synchronisation and
// reduction bugs without a GPU; device math and the TF32 tensor-core GEMM are
// covered only by the cuda-tagged tests. Needs g++ with C++20 (<barrier>);
// skipped without one, and under -short.
func TestKernelsOnCPUEmulator(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode (compiles and runs C++, 10-40 s)")
	}
	var cxx string
	for _, c := range []string{"g++", "g++-12", "g++-11", "clang++"} {
		if p, err := exec.LookPath(c); err == nil {
			cxx = p
			break
		}
	}
	if cxx == "" {
		t.Skip("no C++ compiler (g++ or clang++) on PATH: kernel emulation not run")
	}
	// Read every source the C++ build uses, so that go test's result cache
	// (which records the files a test opens, not those a child process reads)
	// is invalidated when a kernel or the emulator changes.
	srcs, _ := filepath.Glob("*.cu")
	more, _ := filepath.Glob("*.cuh")
	emu, _ := filepath.Glob(filepath.Join("emu", "*"))
	for _, f := range append(append(srcs, more...), emu...) {
		if _, err := os.ReadFile(f); err != nil {
			t.Fatalf("read %s: %v", f, err)
		}
	}
	bin := filepath.Join(t.TempDir(), "emu_test")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, cxx, "-std=c++20", "-O1", "-pthread", "-Wall", "-Wno-unknown-pragmas",
		"-o", bin, filepath.Join("emu", "emu_test.cpp"))
	if out, err := build.CombinedOutput(); err != nil {
		if strings.Contains(string(out), "barrier") && strings.Contains(string(out), "No such file") {
			t.Skipf("%s lacks C++20 <barrier>: kernel emulation not run", cxx)
		}
		t.Fatalf("compile the kernels for the CPU emulator: %v\n%s", err, out)
	}
	out, err := exec.CommandContext(ctx, bin).CombinedOutput()
	if err != nil {
		var fails []string
		for _, line := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(line, "FAIL") || strings.Contains(line, "emu:") {
				fails = append(fails, line)
			}
		}
		t.Fatalf("emulated kernels: %v\n%s", err, strings.Join(fails, "\n"))
	}
	if !strings.Contains(string(out), "0 failure(s)") {
		t.Fatalf("emulator output lacks the summary line:\n%s", out)
	}
	t.Logf("%d emulated kernel checks passed", strings.Count(string(out), "\nok ")+1)
}
