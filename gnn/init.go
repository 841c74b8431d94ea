package gnn

import (
	"fmt"
	"math"

	"github.com/nagml/nag/tensor"
)

// Init selects how a layer's weights are initialised.
type Init int

const (
	// InitTorchDefault is PyTorch's nn.Linear default: weight from
	// Kaiming-uniform with a = √5, which is U(±1/√fan_in), and bias from
	// U(±1/√fan_in).
	InitTorchDefault Init = iota
	// InitXavierUniform draws the weight from U(±√(6/(fan_in+fan_out)))
	// (Glorot uniform, gain 1) and sets the bias to zero.
	InitXavierUniform
)

// String names the scheme.
func (i Init) String() string {
	switch i {
	case InitTorchDefault:
		return "torch-default"
	case InitXavierUniform:
		return "xavier-uniform"
	}
	return fmt.Sprintf("Init(%d)", int(i))
}

// KaimingUniform fills t with U(±gain·√(3/fan_in)) where
// gain = √(2/(1+a²)) (torch.nn.init.kaiming_uniform_ with leaky_relu
// nonlinearity). With a = √5 the bound is 1/√fan_in.
func KaimingUniform(rng *tensor.RNG, t *tensor.Tensor, fanIn int, a float64) {
	gain := math.Sqrt(2 / (1 + a*a))
	bound := gain * math.Sqrt(3/float64(fanIn))
	rng.FillUniform(t.Data(), float32(-bound), float32(bound))
}

// XavierUniform fills t with U(±√(6/(fan_in+fan_out))).
func XavierUniform(rng *tensor.RNG, t *tensor.Tensor, fanIn, fanOut int) {
	bound := math.Sqrt(6 / float64(fanIn+fanOut))
	rng.FillUniform(t.Data(), float32(-bound), float32(bound))
}

// UniformFanIn fills t with U(±1/√fan_in) (PyTorch's default bias init).
func UniformFanIn(rng *tensor.RNG, t *tensor.Tensor, fanIn int) {
	bound := 1 / math.Sqrt(float64(fanIn))
	rng.FillUniform(t.Data(), float32(-bound), float32(bound))
}
