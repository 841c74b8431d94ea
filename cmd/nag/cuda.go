//go:build cuda

package main

// Building nag with -tags cuda links the CUDA backend, which registers
// itself as the tensor backend "cuda" (see kernels/README.md). Such a
// binary needs the NVIDIA driver at run time.
import _ "github.com/nagml/nag/kernels"
