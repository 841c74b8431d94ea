// Package shareddata locates the shared data folder (NAS-Bench-201 table,
// official .pt files, image sets, CNN weights) for tests.
package shareddata

import (
	"os"
	"path/filepath"
	"testing"
)

// Find returns the data folder like Root, and whether it exists, without
// skipping (for optional inputs such as fuzz seeds).
func Find() (string, bool) {
	if d := os.Getenv("NAG_DATA"); d != "" {
		_, err := os.Stat(d)
		return d, err == nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			d := filepath.Join(dir, "..", "shared", "data")
			_, err := os.Stat(d)
			return d, err == nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// Root returns the data folder: $NAG_DATA if set, else ../shared/data next
// to the directory holding go.mod. A test that needs the data is skipped,
// with a message saying where it looked, when the folder does not exist.
func Root(tb testing.TB) string {
	tb.Helper()
	if d := os.Getenv("NAG_DATA"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			d := filepath.Join(dir, "..", "shared", "data")
			if _, err := os.Stat(d); err != nil {
				tb.Skipf("shared data not found at %s (set NAG_DATA)", d)
			}
			return d
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}
