package autograd

import (
	"fmt"

	"github.com/nagml/nag/tensor"
)

// keepShape is shape with axis set to 1.
func keepShape(shape []int, axis int) []int {
	s := append([]int(nil), shape...)
	s[axis] = 1
	return s
}

func opAxis(axis, rank int) int {
	if axis < 0 {
		axis += rank
	}
	if axis < 0 || axis >= rank {
		panic(fmt.Sprintf("autograd: axis %d out of range for rank %d", axis, rank))
	}
	return axis
}

// Sum returns the sum of a along axis (keepDim keeps it with size 1).
func (tp *Tape) Sum(a *Var, axis int, keepDim bool) *Var {
	axis = opAxis(axis, len(a.Shape()))
	return tp.Record(tensor.Sum(a.Value, axis, keepDim), func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Expand(g.Reshape(keepShape(a.Shape(), axis)...), a.Shape()...)}
	}, a)
}

// Mean returns the mean of a along axis (keepDim keeps it with size 1).
func (tp *Tape) Mean(a *Var, axis int, keepDim bool) *Var {
	axis = opAxis(axis, len(a.Shape()))
	n := a.Shape()[axis]
	return tp.Record(tensor.Mean(a.Value, axis, keepDim), func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		r := tensor.Expand(g.Reshape(keepShape(a.Shape(), axis)...), a.Shape()...)
		return []*tensor.Tensor{tensor.ScaleInto(r, r, 1/float32(n))}
	}, a)
}

// Max returns the maximum of a along axis. The gradient flows to the first
// maximal element of each reduced slice.
func (tp *Tape) Max(a *Var, axis int, keepDim bool) *Var {
	axis = opAxis(axis, len(a.Shape()))
	return tp.Record(tensor.Max(a.Value, axis, keepDim), func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		arg := tensor.ArgMax(a.Value, axis)
		shape := a.Shape()
		outer, inner := 1, 1
		for i := 0; i < axis; i++ {
			outer *= shape[i]
		}
		for i := axis + 1; i < len(shape); i++ {
			inner *= shape[i]
		}
		n := shape[axis]
		gd := g.Contiguous().Data()
		r := tensor.Zeros(shape...)
		rd := r.Data()
		for o := 0; o < outer; o++ {
			for i := 0; i < inner; i++ {
				k := o*inner + i
				rd[(o*n+arg[k])*inner+i] = gd[k]
			}
		}
		return []*tensor.Tensor{r}
	}, a)
}

// SumAll returns the sum of all elements of a as a 0-d tensor.
func (tp *Tape) SumAll(a *Var) *Var {
	return tp.Record(tensor.Scalar(float32(tensor.SumAll(a.Value))), func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Full(g.Item(), a.Shape()...)}
	}, a)
}

// MeanAll returns the mean of all elements of a as a 0-d tensor.
func (tp *Tape) MeanAll(a *Var) *Var {
	n := a.Value.Len()
	if n == 0 {
		panic(fmt.Sprintf("autograd: MeanAll of empty tensor %v", a.Shape()))
	}
	return tp.Record(tensor.Scalar(float32(tensor.SumAll(a.Value)/float64(n))), func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Full(g.Item()/float32(n), a.Shape()...)}
	}, a)
}

// WeightedSum returns the scalar Σ a·w (w broadcasts to a's shape). With
// fixed random w it turns any op's output into a scalar for gradient checks.
func (tp *Tape) WeightedSum(a *Var, w *tensor.Tensor) *Var {
	p := tensor.Mul(a.Value, w)
	if !tensor.EqualInts(p.Shape(), a.Shape()) {
		panic(fmt.Sprintf("autograd: WeightedSum weights %v do not broadcast to %v", w.Shape(), a.Shape()))
	}
	return tp.Record(tensor.Scalar(float32(tensor.SumAll(p))), func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		r := tensor.Expand(w, a.Shape()...)
		return []*tensor.Tensor{tensor.ScaleInto(r, r, g.Item())}
	}, a)
}
