package tensor

import (
	"testing"
)

// refMatMul multiplies the last two axes with explicit loops and broadcast
// batch dimensions, via At.
func refMatMul(a, b *Tensor) *Tensor {
	ra, rb := a.Rank(), b.Rank()
	m, k, n := a.Dim(-2), a.Dim(-1), b.Dim(-1)
	batch, err := BroadcastShapes(a.Shape()[:ra-2], b.Shape()[:rb-2])
	if err != nil {
		panic(err)
	}
	out := Zeros(append(cloneInts(batch), m, n)...)
	nb := numel(batch)
	bi := make([]int, len(batch))
	sub := func(t *Tensor, i, j int) []int {
		r := t.Rank()
		idx := make([]int, r)
		off := len(batch) - (r - 2)
		for d := 0; d < r-2; d++ {
			if t.Shape()[d] != 1 {
				idx[d] = bi[d+off]
			}
		}
		idx[r-2], idx[r-1] = i, j
		return idx
	}
	for p := 0; p < nb; p++ {
		rem := p
		for d := len(batch) - 1; d >= 0; d-- {
			bi[d] = rem % batch[d]
			rem /= batch[d]
		}
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				var s float32
				for q := 0; q < k; q++ {
					s += a.At(sub(a, i, q)...) * b.At(sub(b, q, j)...)
				}
				out.data[(p*m+i)*n+j] = s
			}
		}
	}
	return out
}

func TestMatMulHand(t *testing.T) {
	a := FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	b := FromSlice([]float32{7, 8, 9, 10, 11, 12}, 3, 2)
	opsExpect(t, "2d", MatMul(a, b), []int{2, 2}, []float32{58, 64, 139, 154}, 1e-5)
	opsExpect(t, "transA", MatMulT(a, a, true, false), []int{3, 3}, []float32{17, 22, 27, 22, 29, 36, 27, 36, 45}, 1e-5)
	opsExpect(t, "transB", MatMulT(a, a, false, true), []int{2, 2}, []float32{14, 32, 32, 77}, 1e-5)
	opsExpect(t, "both", MatMulT(b, a, true, true), []int{2, 2}, []float32{58, 139, 64, 154}, 1e-5)
	w := FromSlice([]float32{1, 0, -1, 2, 1, 0}, 2, 3) // [out=2, in=3]
	bias := FromSlice([]float32{0.5, -1}, 2)
	opsExpect(t, "Linear", Linear(a, w, bias), []int{2, 2}, []float32{-1.5, 3, -1.5, 12}, 1e-5)
	opsExpect(t, "Linear nil bias", Linear(a, w, nil), []int{2, 2}, []float32{-2, 4, -2, 13}, 1e-5)
	opsExpect(t, "Linear 3d x", Linear(a.Reshape(2, 1, 3), w, bias), []int{2, 1, 2}, []float32{-1.5, 3, -1.5, 12}, 1e-5)
	// w given as a transposed view of a [in, out] matrix.
	wt := w.T().Contiguous().T()
	opsExpect(t, "Linear w view", Linear(a, wt, bias), []int{2, 2}, []float32{-1.5, 3, -1.5, 12}, 1e-5)
	dst := Full(123, 2, 2)
	LinearInto(dst, a, w, nil)
	opsExpect(t, "LinearInto overwrites", dst, []int{2, 2}, []float32{-2, 4, -2, 13}, 1e-5)
	opsExpectPanic(t, "inner mismatch", func() { MatMul(a, a) }, "[2 3]", "inner")
	opsExpectPanic(t, "Linear mismatch", func() { Linear(a, b, nil) }, "Linear", "[3 2]")
	opsExpectPanic(t, "rank 1", func() { MatMul(Zeros(3), Zeros(3, 1)) }, "rank")
}

func TestMatMulMatchesReference(t *testing.T) {
	rng := NewRNG(7)
	cases := []struct {
		name string
		a, b *Tensor
	}{
		{"2d", RandN(rng, 5, 4), RandN(rng, 4, 3)},
		{"batched", RandN(rng, 3, 5, 4), RandN(rng, 3, 4, 2)},
		{"b shared (folded)", RandN(rng, 2, 3, 5, 4), RandN(rng, 4, 6)},
		{"a shared", RandN(rng, 5, 4), RandN(rng, 3, 4, 2)},
		{"broadcast batch", RandN(rng, 2, 1, 3, 4), RandN(rng, 3, 4, 2)},
		{"transposed views", RandN(rng, 2, 4, 5).T(), RandN(rng, 2, 3, 4).T()},
		{"permuted batch", RandN(rng, 5, 2, 4).Permute(1, 0, 2), RandN(rng, 4, 2, 3).Permute(1, 0, 2)},
		{"sliced", RandN(rng, 6, 8).Slice(1, 2, 6), RandN(rng, 4, 9).Slice(1, 1, 4)},
		{"no unit stride (copy)", RandN(rng, 4, 2, 3).Permute(2, 0, 1), RandN(rng, 2, 5)},
		{"m=1", RandN(rng, 1, 4), RandN(rng, 4, 3)},
		{"n=1", RandN(rng, 3, 4), RandN(rng, 4, 1)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := refMatMul(tc.a, tc.b)
			opsExpect(t, tc.name, MatMul(tc.a, tc.b), want.Shape(), want.Data(), 1e-4)
		})
	}
}
