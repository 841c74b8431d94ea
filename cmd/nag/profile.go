package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// envCPUProfile names a file that receives a pprof CPU profile of whatever
// command runs (any subcommand; `go tool pprof nag FILE` reads it).
const envCPUProfile = "NAG_CPUPROFILE"

// startProfile starts a CPU profile into path (nothing when path is empty)
// and returns the function that stops it and closes the file.
func startProfile(path string) (stop func() error, err error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		return nil
	}, nil
}
