// Package shareddata locates the shared data folder (NAS-Bench-201 table,
// official .pt files, image sets, CNN weights) for tests.
package shareddata

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// locate returns $NAG_DATA if set, else ../shared/data next to the
// directory holding go.mod (whether or not it exists).
func locate() (string, error) {
	if d := os.Getenv("NAG_DATA"); d != "" {
		return d, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "data"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// Find returns the data folder like Root, and whether it exists, without
// skipping (for optional inputs such as fuzz seeds).
func Find() (string, bool) {
	d, err := locate()
	if err != nil {
		return "", false
	}
	_, err = os.Stat(d)
	return d, err == nil
}

// Root returns the data folder: $NAG_DATA if set, else ../shared/data next
// to the directory holding go.mod. A test that needs the data is skipped,
// with a message saying where it looked, when the folder does not exist.
func Root(tb testing.TB) string {
	tb.Helper()
	d, err := locate()
	if err != nil {
		tb.Fatal(err)
	}
	if os.Getenv("NAG_DATA") == "" {
		if _, err := os.Stat(d); err != nil {
			tb.Skipf("shared data not found at %s (set NAG_DATA)", d)
		}
	}
	return d
}
