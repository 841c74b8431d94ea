package tensor

import (
	"math"
	"testing"
)

func TestIndexOps(t *testing.T) {
	w := opsSeq(0, 1, 4, 2) // rows [0 1] [2 3] [4 5] [6 7]
	a := opsSeq(1, 1, 2, 3) // [[1 2 3] [4 5 6]]
	tests := []struct {
		name  string
		got   *Tensor
		shape []int
		want  []float32
	}{
		{"Embedding", Embedding(w, []int{3, 0, 3}), []int{3, 2}, []float32{6, 7, 0, 1, 6, 7}},
		{"Gather axis1", Gather(a, 1, []int{2, 0}), []int{2, 2}, []float32{3, 1, 6, 4}},
		{"Gather axis0 strided", Gather(a.T(), 0, []int{1}), []int{1, 2}, []float32{2, 5}},
		{"Concat axis0", Concat(0, a, FromSlice([]float32{7, 8, 9}, 1, 3)), []int{3, 3}, []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{"Concat axis1", Concat(1, a, FromSlice([]float32{0, -1}, 2, 1), a.Slice(1, 0, 1)), []int{2, 5}, []float32{1, 2, 3, 0, 1, 4, 5, 6, -1, 4}},
		{"Stack axis0", Stack(0, a, a), []int{2, 2, 3}, []float32{1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6}},
		{"Stack last", Stack(-1, FromSlice([]float32{1, 2}, 2), FromSlice([]float32{3, 4}, 2)), []int{2, 2}, []float32{1, 3, 2, 4}},
		{"MaskedFill full", MaskedFill(a, FromSlice([]float32{0, 1, 0, 1, 0, 0}, 2, 3), -9), []int{2, 3}, []float32{1, -9, 3, -9, 5, 6}},
		{"MaskedFill row mask", MaskedFill(a, FromSlice([]float32{1, 0}, 2, 1), 0), []int{2, 3}, []float32{0, 0, 0, 4, 5, 6}},
		{"MaskedFill col mask", MaskedFill(a, FromSlice([]float32{0, 0, 1}, 3), -1e9), []int{2, 3}, []float32{1, 2, -1e9, 4, 5, -1e9}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { opsExpect(t, tc.name, tc.got, tc.shape, tc.want, 0) })
	}
	acc := Zeros(4, 2)
	IndexAdd(acc, 0, []int{1, 1, 3}, FromSlice([]float32{1, 2, 3, 4, 5, 6}, 3, 2))
	opsExpect(t, "IndexAdd repeats", acc, []int{4, 2}, []float32{0, 0, 4, 6, 0, 0, 5, 6}, 0)
	opsExpectPanic(t, "Embedding range", func() { Embedding(w, []int{4}) }, "index 4")
	opsExpectPanic(t, "Concat shapes", func() { Concat(0, a, Zeros(1, 2)) }, "[2 3]", "[1 2]")
	opsExpectPanic(t, "Stack shapes", func() { Stack(0, a, Zeros(3, 2)) }, "Stack")
	opsExpectPanic(t, "MaskedFill mask", func() { MaskedFill(a, Zeros(3, 1), 0) }, "MaskedFill", "[3 1]")
}

func TestDropoutMask(t *testing.T) {
	m := DropoutMask(NewRNG(3), 0.25, 100, 100)
	zeros := 0
	for _, v := range m.Data() {
		switch {
		case v == 0:
			zeros++
		case math.Abs(float64(v)-1/0.75) > 1e-6:
			t.Fatalf("mask value %g, want 0 or %g", v, 1/0.75)
		}
	}
	// 10000 Bernoulli(0.25) draws: mean 2500, sd ~43.
	if zeros < 2300 || zeros > 2700 {
		t.Fatalf("%d zeros of 10000 at p=0.25", zeros)
	}
	again := DropoutMask(NewRNG(3), 0.25, 100, 100)
	opsExpect(t, "seeded", again, []int{100, 100}, m.Data(), 0)
	opsExpectPanic(t, "p=1", func() { DropoutMask(NewRNG(1), 1, 2) }, "probability")
}
