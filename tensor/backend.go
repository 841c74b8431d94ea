package tensor

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// Backend is the seam through which heavy primitives are dispatched. The CPU
// backend runs them with a BLAS implementation (gonum's by default, our
// assembly SGEMM once registered); the CUDA backend (kernels package, build
// tag cuda) implements the same interface on the GPU. All dispatch of
// matrix products goes through here, nowhere else.
type Backend interface {
	// Name identifies the backend ("cpu", "cuda", ...).
	Name() string
	// Sgemm computes C = alpha*op(A)*op(B) + beta*C on row-major matrices,
	// with the semantics of blas.Float32Level3.Sgemm.
	Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
}

// CPUBackend runs the primitives on the host with a BLAS implementation.
type CPUBackend struct {
	BLAS blas.Float32Level3
	name string
}

// NewCPUBackend returns a CPU backend using impl for GEMM. A nil impl uses
// gonum's pure-Go BLAS.
func NewCPUBackend(name string, impl blas.Float32Level3) *CPUBackend {
	if impl == nil {
		impl = gonum.Implementation{}
	}
	return &CPUBackend{BLAS: impl, name: name}
}

// Name implements Backend.
func (c *CPUBackend) Name() string { return c.name }

// Sgemm implements Backend.
func (c *CPUBackend) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c2 []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	c.BLAS.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c2, ldc)
}

// backends holds the registered backends by name. It is written only from
// package init functions (RegisterBackend) and read afterwards.
var backends = map[string]Backend{}

// defaultBackend is the backend used by the package-level ops. It is set at
// init time (the fastest registered CPU GEMM) and can be replaced with
// SetDefault before any work starts.
var defaultBackend Backend = NewCPUBackend("cpu-gonum", nil)

// RegisterBackend makes a backend available by name. Call it from init.
func RegisterBackend(b Backend) { backends[b.Name()] = b }

// LookupBackend returns the backend registered under name.
func LookupBackend(name string) (Backend, bool) { b, ok := backends[name]; return b, ok }

// Backends lists registered backend names.
func Backends() []string {
	var out []string
	for k := range backends {
		out = append(out, k)
	}
	return out
}

// Default returns the backend used by package-level ops.
func Default() Backend { return defaultBackend }

// SetDefault replaces the default backend. Call it at start-up, not while
// other goroutines run ops.
func SetDefault(b Backend) { defaultBackend = b }

func init() { RegisterBackend(defaultBackend) }
