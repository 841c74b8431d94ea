package tensor

import "github.com/nagml/nag/tensor/sgemm"

// init makes the packed, multi-threaded SGEMM of package sgemm (AVX2/FMA
// assembly where the CPU has it, portable Go otherwise) the default CPU
// backend, registered as "cpu". gonum's pure-Go BLAS stays registered as
// "cpu-gonum" (backend.go's init runs first: files initialise in name order).
func init() {
	defaultBackend = NewCPUBackend("cpu", sgemm.Implementation{})
	RegisterBackend(defaultBackend)
}
