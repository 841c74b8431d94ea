package gnn

import (
	"fmt"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/tensor"
)

// linearAct is act(x·Wᵀ + b) for the linear layer l as one taped op, for
// the CATE layers whose backward is dominated by element-wise work (the
// ELU readout, the ReLU feed-forward layer): the forward is one GEMM with a
// fused bias-and-activation epilogue (tensor.LinearActInto); the backward
// computes the pre-activation gradient from the output and the bias
// gradient (column sums) in one parallel pass over the rows, then the two
// GEMMs dx = gz·W and dW = gzᵀ·x. act is ActNone, ActReLU or ActELU (alpha
// 1); the gradients of ReLU and ELU are recovered from the output y
// (ReLU: 1 where y > 0; ELU: 1 where y > 0, else y + 1 = e^z).
func linearAct(tp *autograd.Tape, x *autograd.Var, l *Linear, act tensor.Act) *autograd.Var {
	if act != tensor.ActNone && act != tensor.ActReLU && act != tensor.ActELU {
		panic(fmt.Sprintf("gnn: linearAct with unsupported activation %d", act))
	}
	var bias *tensor.Tensor
	inputs := []*autograd.Var{x, l.Weight}
	if l.Bias != nil {
		bias = l.Bias.Value
		inputs = append(inputs, l.Bias)
	}
	y := tensor.LinearAct(x.Value, l.Weight.Value, bias, act)
	return tp.Record(y, func(g *tensor.Tensor, needs []bool) []*tensor.Tensor {
		out := make([]*tensor.Tensor, len(inputs))
		rows := y.Len() / l.Out
		gz, db := actGradBiasSum(y.Contiguous().Data(), g.Contiguous().Data(), rows, l.Out, act, l.Bias != nil && needs[2])
		gz2 := tensor.FromSlice(gz, rows, l.Out)
		if needs[0] {
			out[0] = tensor.MatMul(gz2, l.Weight.Value).Reshape(x.Shape()...)
		}
		if needs[1] {
			out[1] = tensor.MatMulT(gz2, x.Value.Contiguous().Reshape(rows, l.In), true, false)
		}
		if db != nil {
			out[2] = tensor.FromSlice(db, l.Out)
		}
		return out
	}, inputs...)
}

// actGradBiasSum returns gz = g·act'(z) (from the activation's output y,
// both [rows, n] row-major) and, when wantBias is set, the column sums of
// gz (the bias gradient), in one pass split over the CPUs by rows. Each
// worker sums its rows in float32; the partial sums are added in worker
// order, so the result does not depend on scheduling.
func actGradBiasSum(y, g []float32, rows, n int, act tensor.Act, wantBias bool) (gz, db []float32) {
	gz = make([]float32, rows*n)
	workers := 1
	if rows*n >= 1<<15 {
		workers = max(1, min(maxWorkers(), rows/64))
	}
	var parts [][]float32
	if wantBias {
		parts = make([][]float32, workers)
		for i := range parts {
			parts[i] = make([]float32, n)
		}
	}
	chunk := func(w, lo, hi int) {
		var acc []float32
		if wantBias {
			acc = parts[w][:n]
		}
		for r := lo; r < hi; r++ {
			yr, gr, zr := y[r*n:(r+1)*n], g[r*n:(r+1)*n], gz[r*n:(r+1)*n]
			gr, zr = gr[:len(yr)], zr[:len(yr)]
			switch act {
			case tensor.ActNone:
				copy(zr, gr)
			case tensor.ActReLU:
				tensor.ReLUGradSlice(zr, yr, gr)
			case tensor.ActELU:
				tensor.ELUGradFromOutput(zr, yr, gr)
			}
			if acc != nil {
				acc := acc[:len(zr)]
				for j, v := range zr {
					acc[j] += v
				}
			}
		}
	}
	runWorkers(workers, rows, chunk)
	if wantBias {
		db = parts[0]
		for _, p := range parts[1:] {
			for j, v := range p {
				db[j] += v
			}
		}
	}
	return gz, db
}
