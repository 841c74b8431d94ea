package tensor

import (
	"math"
	"testing"
)

func TestSoftmax(t *testing.T) {
	x := FromSlice([]float32{1, 2, 3, 1, 1, 1}, 2, 3)
	p := []float32{0.09003057, 0.24472847, 0.66524096, 1.0 / 3, 1.0 / 3, 1.0 / 3}
	opsExpect(t, "rows", Softmax(x, 1), []int{2, 3}, p, 1e-6)
	opsExpect(t, "axis -1", Softmax(x, -1), []int{2, 3}, p, 1e-6)
	e := float32(1 / (1 + math.Exp(-1)))
	opsExpect(t, "axis0", Softmax(FromSlice([]float32{0, 5, 1, 5}, 2, 2), 0), []int{2, 2}, []float32{1 - e, 0.5, e, 0.5}, 1e-6)
	// Strided input (the transpose) along axis 0 equals rows of the original.
	opsExpect(t, "strided", Softmax(x.T(), 0).T(), []int{2, 3}, p, 1e-6)
	lp := make([]float32, len(p))
	for i, v := range p {
		lp[i] = float32(math.Log(float64(v)))
	}
	opsExpect(t, "log", LogSoftmax(x, 1), []int{2, 3}, lp, 1e-5)
	// Huge logits: finite and exact.
	big := FromSlice([]float32{1000, 1001, -1e30, 3e38}, 2, 2)
	opsExpect(t, "large", Softmax(big, 1), []int{2, 2}, []float32{0.26894142, 0.73105858, 0, 1}, 1e-6)
	opsExpect(t, "large log", LogSoftmax(big.Slice(0, 0, 1), 1), []int{1, 2}, []float32{-1.31326169, -0.31326169}, 1e-5)
	dst := Full(7, 2, 3)
	SoftmaxInto(dst, x, 1)
	opsExpect(t, "Into", dst, []int{2, 3}, p, 1e-6)
}

func TestSoftmaxGradients(t *testing.T) {
	y := Softmax(FromSlice([]float32{1, 2, 3}, 1, 3), 1)
	g := FromSlice([]float32{1, 0, 0}, 1, 3)
	yd := y.Data()
	// d y0 / d x_j = y0(δ0j - yj).
	want := []float32{yd[0] * (1 - yd[0]), -yd[0] * yd[1], -yd[0] * yd[2]}
	opsExpect(t, "SoftmaxGrad", SoftmaxGrad(y, g, 1), []int{1, 3}, want, 1e-6)
	ly := LogSoftmax(FromSlice([]float32{1, 2, 3}, 1, 3), 1)
	// d logy0 / d x_j = δ0j - yj.
	opsExpect(t, "LogSoftmaxGrad", LogSoftmaxGrad(ly, g, 1), []int{1, 3}, []float32{1 - yd[0], -yd[1], -yd[2]}, 1e-6)
}
