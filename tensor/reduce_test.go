package tensor

import (
	"reflect"
	"testing"
)

func TestReductions(t *testing.T) {
	a := FromSlice([]float32{1, 5, 3, 4, 2, 6}, 2, 3)
	b := opsSeq(0, 1, 2, 3, 2) // 0..11
	tests := []struct {
		name  string
		got   *Tensor
		shape []int
		want  []float32
	}{
		{"sum axis0", Sum(a, 0, false), []int{3}, []float32{5, 7, 9}},
		{"sum axis1 keep", Sum(a, 1, true), []int{2, 1}, []float32{9, 12}},
		{"sum axis-1", Sum(a, -1, false), []int{2}, []float32{9, 12}},
		{"mean axis0", Mean(a, 0, false), []int{3}, []float32{2.5, 3.5, 4.5}},
		{"mean axis1 keep", Mean(a, 1, true), []int{2, 1}, []float32{3, 4}},
		{"max axis0", Max(a, 0, false), []int{3}, []float32{4, 5, 6}},
		{"max axis1 keep", Max(a, 1, true), []int{2, 1}, []float32{5, 6}},
		{"3d sum middle", Sum(b, 1, false), []int{2, 2}, []float32{6, 9, 24, 27}},
		{"3d max middle keep", Max(b, 1, true), []int{2, 1, 2}, []float32{4, 5, 10, 11}},
		{"3d mean last", Mean(b, 2, false), []int{2, 3}, []float32{0.5, 2.5, 4.5, 6.5, 8.5, 10.5}},
		{"strided sum", Sum(a.T(), 1, false), []int{3}, []float32{5, 7, 9}},
		{"max negatives", Max(FromSlice([]float32{-3, -1, -2}, 3), 0, false), []int{}, []float32{-1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { opsExpect(t, tc.name, tc.got, tc.shape, tc.want, 1e-6) })
	}
	if got := ArgMax(a, 1); !reflect.DeepEqual(got, []int{1, 2}) {
		t.Errorf("ArgMax axis1 = %v, want [1 2]", got)
	}
	if got := ArgMax(a, 0); !reflect.DeepEqual(got, []int{1, 0, 1}) {
		t.Errorf("ArgMax axis0 = %v, want [1 0 1]", got)
	}
	if got := ArgMax(FromSlice([]float32{2, 7, 7, 1}, 4), 0); !reflect.DeepEqual(got, []int{1}) {
		t.Errorf("ArgMax ties = %v, want first maximum [1]", got)
	}
	if got := ArgMax(b, 1); !reflect.DeepEqual(got, []int{2, 2, 2, 2}) {
		t.Errorf("ArgMax 3d = %v", got)
	}
	if got := SumAll(a); got != 21 {
		t.Errorf("SumAll = %v, want 21", got)
	}
	if got := SumAll(a.T()); got != 21 {
		t.Errorf("SumAll strided = %v, want 21", got)
	}
	if got := MaxAbs(FromSlice([]float32{1, -7, 3}, 3)); got != 7 {
		t.Errorf("MaxAbs = %v, want 7", got)
	}
	opsExpectPanic(t, "axis", func() { Sum(a, 2, false) }, "axis 2")
}
