package tensor

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// expectTensor fails t unless got has the given shape and values within tol.
func opsExpect(t *testing.T, name string, got *Tensor, shape []int, want []float32, tol float64) {
	t.Helper()
	if !EqualInts(got.Shape(), shape) {
		t.Fatalf("%s: shape %v, want %v", name, got.Shape(), shape)
	}
	g := got.Contiguous().Data()
	if len(g) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(g), len(want))
	}
	for i := range want {
		// tol is absolute up to magnitude 1 and relative above.
		if d := math.Abs(float64(g[i]) - float64(want[i])); d > tol*math.Max(1, math.Abs(float64(want[i]))) || math.IsNaN(float64(g[i])) {
			t.Fatalf("%s: element %d = %g, want %g (all: %v)", name, i, g[i], want[i], g)
		}
	}
}

// expectPanic fails t unless f panics with a message containing every part.
func opsExpectPanic(t *testing.T, name string, f func(), parts ...string) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Fatalf("%s: no panic", name)
		}
		msg := fmt.Sprint(r)
		for _, p := range parts {
			if !strings.Contains(msg, p) {
				t.Fatalf("%s: panic %q does not mention %q", name, msg, p)
			}
		}
	}()
	f()
}

// seq returns a tensor holding start, start+step, ... in the given shape.
func opsSeq(start, step float32, shape ...int) *Tensor {
	t := Zeros(shape...)
	for i := range t.data {
		t.data[i] = start + step*float32(i)
	}
	return t
}

// refBroadcast evaluates f element-wise with broadcasting through At, an
// independent (slow) path used to check the kernels.
func refBroadcast(a, b *Tensor, f func(x, y float32) float32) (*Tensor, error) {
	shape, err := BroadcastShapes(a.Shape(), b.Shape())
	if err != nil {
		return nil, err
	}
	out := Zeros(shape...)
	idx := make([]int, len(shape))
	pick := func(t *Tensor) float32 {
		sub := make([]int, t.Rank())
		off := len(shape) - t.Rank()
		for i := range sub {
			if t.Shape()[i] != 1 {
				sub[i] = idx[i+off]
			}
		}
		return t.At(sub...)
	}
	for k := 0; k < out.Len(); k++ {
		rem := k
		for d := len(shape) - 1; d >= 0; d-- {
			idx[d] = rem % shape[d]
			rem /= shape[d]
		}
		out.data[k] = f(pick(a), pick(b))
	}
	return out, nil
}
