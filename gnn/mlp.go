package gnn

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/tensor"
)

// Activation is an element-wise nonlinearity.
type Activation int

// The supported activations.
const (
	ActNone Activation = iota
	ActReLU
	ActELU // alpha = 1, as torch.nn.ELU()
	ActSiLU
	ActTanh
	ActGELU
	ActSigmoid
)

var activationNames = map[Activation]string{
	ActNone: "none", ActReLU: "relu", ActELU: "elu", ActSiLU: "silu",
	ActTanh: "tanh", ActGELU: "gelu", ActSigmoid: "sigmoid",
}

// String returns the activation's name as ParseActivation accepts it.
func (a Activation) String() string {
	if s, ok := activationNames[a]; ok {
		return s
	}
	return fmt.Sprintf("Activation(%d)", int(a))
}

// ParseActivation maps a name (case-insensitive; "swish" is SiLU,
// "identity"/"linear" are none) to an Activation.
func ParseActivation(s string) (Activation, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "none", "identity", "linear", "":
		return ActNone, nil
	case "relu":
		return ActReLU, nil
	case "elu":
		return ActELU, nil
	case "silu", "swish":
		return ActSiLU, nil
	case "tanh":
		return ActTanh, nil
	case "gelu":
		return ActGELU, nil
	case "sigmoid":
		return ActSigmoid, nil
	}
	return ActNone, fmt.Errorf("gnn: unknown activation %q (want relu, elu, silu/swish, tanh, gelu, sigmoid or none)", s)
}

// Apply records the activation of x on the tape.
func (a Activation) Apply(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	switch a {
	case ActNone:
		return x
	case ActReLU:
		return tp.ReLU(x)
	case ActELU:
		return tp.ELU(x, 1)
	case ActSiLU:
		return tp.SiLU(x)
	case ActTanh:
		return tp.Tanh(x)
	case ActGELU:
		return tp.GELU(x)
	case ActSigmoid:
		return tp.Sigmoid(x)
	}
	panic(fmt.Sprintf("gnn: unknown activation %v", a))
}

// MLP is a stack of Linear layers with an activation (and optional dropout)
// between consecutive layers and none after the last:
// Linear → act → [dropout] → Linear → ... → Linear.
type MLP struct {
	Layers  []*Linear
	Act     Activation
	Dropout *Dropout // nil when no dropout
}

// NewMLP builds an MLP named name with widths[0] inputs and widths[len-1]
// outputs (len(widths) >= 2); layer i is name.layers.i. Weights use
// PyTorch's default initialisation drawn from rng in layer order. dropout is
// applied after each hidden activation when positive.
func NewMLP(name string, widths []int, act Activation, dropout float32, rng *tensor.RNG) *MLP {
	if len(widths) < 2 {
		panic(fmt.Sprintf("gnn: MLP %q needs at least 2 widths, got %v", name, widths))
	}
	m := &MLP{Act: act}
	for i := 0; i+1 < len(widths); i++ {
		m.Layers = append(m.Layers, NewLinear(JoinName(name, "layers."+strconv.Itoa(i)), widths[i], widths[i+1], true, rng))
	}
	if dropout > 0 {
		m.Dropout = NewDropout(dropout)
	}
	return m
}

// Params implements Module.
func (m *MLP) Params() []*autograd.Var {
	var out []*autograd.Var
	for _, l := range m.Layers {
		out = append(out, l.Params()...)
	}
	return out
}

// Forward maps x [..., widths[0]] to [..., widths[last]].
func (m *MLP) Forward(c Ctx, x *autograd.Var) *autograd.Var {
	for i, l := range m.Layers {
		x = l.Forward(c, x)
		if i+1 < len(m.Layers) {
			x = m.Act.Apply(c.Tape, x)
			if m.Dropout != nil {
				x = m.Dropout.Forward(c, x)
			}
		}
	}
	return x
}
