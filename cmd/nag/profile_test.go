package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStartProfile(t *testing.T) {
	stop, err := startProfile("")
	if err != nil || stop() != nil {
		t.Fatalf("empty path: %v", err)
	}
	path := filepath.Join(t.TempDir(), "cpu.prof")
	stop, err = startProfile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Fatalf("profile file %v, %v: want a non-empty pprof file", fi, err)
	}
	_, err = startProfile(filepath.Join(t.TempDir(), "missing", "cpu.prof"))
	if err == nil || !strings.Contains(err.Error(), "cpu profile") {
		t.Fatalf("unwritable path: got %v, want a cpu profile error", err)
	}
}
