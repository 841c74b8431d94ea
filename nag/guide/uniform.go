package guide

import (
	"math"

	"github.com/nagml/nag/nag/nb201"
	"github.com/nagml/nag/tensor"
)

// UniformScore is the exact score of the VE-perturbed uniform distribution
// over all 15,625 NB201 cells in model space: rows are independent, row 0
// and 7 fixed (input/output), rows 1..6 uniform over the 5 op types, so
// each row's density is a mixture of Gaussians N(2e_k − 1, σ²I) and
// ∇log p = Σ_k w_k (μ_k − x)/σ² with w = softmax(−‖x − μ_k‖²/2σ²).
// It is an sde.ScoreFn (cond = σ(t)) and serves as a known-correct base
// score for tests and for measuring guidance alone.
func UniformScore(x *tensor.Tensor, _ float64, cond []float32) (*tensor.Tensor, error) {
	b := x.Dim(0)
	const n, v = nb201.NumNodes, nb201.NumTypes
	xd := x.Contiguous().Data()
	out := tensor.Zeros(x.Shape()...)
	od := out.Data()
	for i := 0; i < b; i++ {
		s2 := float64(cond[i]) * float64(cond[i])
		for r := 0; r < n; r++ {
			row := xd[(i*n+r)*v : (i*n+r+1)*v]
			var types []int
			switch r {
			case 0:
				types = []int{nb201.TypeInput}
			case n - 1:
				types = []int{nb201.TypeOutput}
			default:
				types = []int{2, 3, 4, 5, 6}
			}
			logw := make([]float64, len(types))
			mx := math.Inf(-1)
			for k, ty := range types {
				var d2 float64
				for j := 0; j < v; j++ {
					mu := -1.0
					if j == ty {
						mu = 1
					}
					d := float64(row[j]) - mu
					d2 += d * d
				}
				logw[k] = -d2 / (2 * s2)
				mx = math.Max(mx, logw[k])
			}
			var z float64
			for k := range logw {
				logw[k] = math.Exp(logw[k] - mx)
				z += logw[k]
			}
			for j := 0; j < v; j++ {
				var s float64
				for k, ty := range types {
					mu := -1.0
					if j == ty {
						mu = 1
					}
					s += logw[k] / z * (mu - float64(row[j]))
				}
				od[(i*n+r)*v+j] = float32(s / s2)
			}
		}
	}
	return out, nil
}
