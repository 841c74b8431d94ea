package torchpt

import "testing"

// TestTensorCheckBounds: views whose offsets overflow, run past the storage
// or repeat it absurdly are refused; in-range views (strided, broadcast a
// little) pass.
func TestTensorCheckBounds(t *testing.T) {
	st := &storage{dtype: Float32, numel: 10, data: make([]byte, 40)}
	cases := []struct {
		name          string
		shape, stride []int
		offset        int
		ok            bool
	}{
		{"contiguous", []int{2, 5}, []int{5, 1}, 0, true},
		{"transposed", []int{5, 2}, []int{1, 5}, 0, true},
		{"offset view", []int{3}, []int{1}, 7, true},
		{"broadcast row", []int{4, 10}, []int{0, 1}, 0, true},
		{"empty", []int{0, 1 << 40}, []int{1, 1}, 0, true},
		{"past the end", []int{3}, []int{1}, 8, false},
		{"offset outside", []int{1}, []int{1}, 10, false},
		{"overflowing stride", []int{2, 1 << 62}, []int{1 << 62, 4}, 0, false},
		{"huge broadcast", []int{1 << 40}, []int{0}, 0, false},
		{"negative stride", []int{2}, []int{-1}, 1, false},
	}
	for _, c := range cases {
		tn := &Tensor{DType: Float32, Shape: c.shape, st: st, offset: c.offset, stride: c.stride}
		if err := tn.check(); (err == nil) != c.ok {
			t.Errorf("%s: check() = %v, want ok=%v", c.name, err, c.ok)
		}
	}
}
