package hwaware

import (
	"fmt"
	"math"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/nag/nb201"
	"github.com/nagml/nag/nag/ofa"
	"github.com/nagml/nag/tensor"
)

// LinearCost is a cost that is an exact linear function of the one-hot
// node matrix: cost = Const + Σ_ij Coef[i][j]·x01[i][j]. FLOPs and
// parameter counts of both search spaces have this form (each NB201 edge
// and each OFA layer slot adds a cost that depends only on its own type),
// so the same formula on a continuous x is a differentiable proxy that is
// exact on every valid architecture. It satisfies nag/guide's Regressor
// interface (σ is ignored; x is in model space, x01 = (x+1)/2).
type LinearCost struct {
	Name, Unit   string
	Nodes, Vocab int
	Const        float64
	Coef         []float32 // Nodes·Vocab, row-major
	w            *autograd.Var
}

// NewLinearCost builds a LinearCost from its coefficients.
func NewLinearCost(name, unit string, nodes, vocab int, c float64, coef []float32) (*LinearCost, error) {
	if len(coef) != nodes*vocab {
		return nil, fmt.Errorf("linear cost %s: %d coefficients for %dx%d", name, len(coef), nodes, vocab)
	}
	l := &LinearCost{Name: name, Unit: unit, Nodes: nodes, Vocab: vocab, Const: c, Coef: append([]float32(nil), coef...)}
	half := make([]float32, len(coef))
	for i, v := range coef {
		half[i] = v / 2
	}
	l.w = autograd.NewVar(tensor.FromSlice(half, len(coef), 1), false)
	return l, nil
}

// Value returns the cost of a clean 0/1 matrix (N·V values).
func (l *LinearCost) Value(x01 []float32) float64 {
	v := l.Const
	for i, c := range l.Coef {
		v += float64(c) * float64(x01[i])
	}
	return v
}

// Predict returns the cost [B] of x [B, N, V] in model space.
func (l *LinearCost) Predict(c gnn.Ctx, x *autograd.Var, _ []float32) *autograd.Var {
	tp := c.Tape
	b := x.Shape()[0]
	var half float64
	for _, v := range l.Coef {
		half += float64(v) / 2
	}
	// Σ coef·(x+1)/2 = Σ (coef/2)·x + Σ coef/2.
	y := tp.MatMul(tp.Reshape(x, b, l.Nodes*l.Vocab), l.w)
	return tp.AddScalar(tp.Reshape(y, b), float32(l.Const+half))
}

// Params is empty (nothing to freeze).
func (l *LinearCost) Params() []*autograd.Var { return nil }

// NB201FLOPs returns NB201's FLOPs in millions (the table's flops_<ds>
// column) as a linear cost: 7600·S + 65·K + 34560·S·n3 + 3840·S·n1 (nb201
// package), one coefficient per edge row and conv type.
func NB201FLOPs(d nb201.Dataset) *LinearCost {
	s := float64(d.Side * d.Side)
	coef := make([]float32, nb201.NumNodes*nb201.NumTypes)
	for row := 1; row <= nb201.NumEdges; row++ {
		coef[row*nb201.NumTypes+nb201.TypeConv3x3] = float32(34560 * s / 1e6)
		coef[row*nb201.NumTypes+nb201.TypeConv1x1] = float32(3840 * s / 1e6)
	}
	l, _ := NewLinearCost("flops_"+d.Name, "MFLOPs", nb201.NumNodes, nb201.NumTypes, (7600*s+65*float64(d.Classes))/1e6, coef)
	return l
}

// NB201Params returns NB201's parameter count in millions (params_<ds>).
func NB201Params(d nb201.Dataset) *LinearCost {
	coef := make([]float32, nb201.NumNodes*nb201.NumTypes)
	for row := 1; row <= nb201.NumEdges; row++ {
		coef[row*nb201.NumTypes+nb201.TypeConv3x3] = 243040 / 1e6
		coef[row*nb201.NumTypes+nb201.TypeConv1x1] = 28000 / 1e6
	}
	l, _ := NewLinearCost("params_"+d.Name, "M", nb201.NumNodes, nb201.NumTypes, (72656+65*float64(d.Classes))/1e6, coef)
	return l
}

// OFACost returns the FLOPs (MMACs, which == "flops") or parameter count
// (millions, which == "params") of an OFA MobileNetV3 sub-network at
// resolution r and width multiplier w as a linear cost. The coefficients
// are derived from ofa.Arch.Cost by differences: the cost of the network
// with all stages at depth 2 and type 3-3 is the constant; slot i of type
// t adds Cost(with slot i of type t) − Cost(with slot i of type 3-3) for
// the two always-present slots of a stage, and the full cost of the slot
// for slots 3 and 4 (depth 3 with slot 3 present; depth 4 with slots 3 and
// 4). This is exact because channel widths and feature-map sizes are fixed
// per stage position, which TestOFACostExact checks on random networks.
func OFACost(which string, r int, w float64) (*LinearCost, error) {
	pick := func(c ofa.Cost) float64 {
		if which == "flops" {
			return float64(c.MACs) / 1e6
		}
		return float64(c.Params) / 1e6
	}
	if which != "flops" && which != "params" {
		return nil, fmt.Errorf("OFA cost %q: want flops or params", which)
	}
	if r <= 0 || w <= 0 {
		return nil, fmt.Errorf("OFA cost: resolution %d and width %g must be positive", r, w)
	}
	var base ofa.Arch
	for s := 0; s < ofa.NumStages; s++ {
		base.D[s] = 2
		for j := 0; j < 2; j++ {
			base.KS[s*4+j], base.E[s*4+j] = 3, 3
		}
	}
	c0 := pick(base.Cost(r, w))
	coef := make([]float32, ofa.NumLayers*ofa.NumTypes)
	for s := 0; s < ofa.NumStages; s++ {
		for j := 0; j < 4; j++ {
			i := s*4 + j
			for t := 0; t < ofa.NumTypes; t++ {
				k, e := ofa.Kernels[t/3], ofa.Expands[t%3]
				a := base
				var ref float64
				switch j {
				case 0, 1:
					ref = c0
				case 2:
					a.D[s] = 3
					ref = c0
				case 3:
					a.D[s] = 4
					a.KS[s*4+2], a.E[s*4+2] = 3, 3
					b := base
					b.D[s] = 3
					b.KS[s*4+2], b.E[s*4+2] = 3, 3
					ref = pick(b.Cost(r, w))
				}
				a.KS[i], a.E[i] = k, e
				coef[i*ofa.NumTypes+t] = float32(pick(a.Cost(r, w)) - ref)
			}
		}
	}
	// Slots 0 and 1 are active in every valid network, so their
	// coefficients can be relative to type 3-3 (whose cost sits in c0).
	unit := "MMACs"
	if which == "params" {
		unit = "M"
	}
	return NewLinearCost(fmt.Sprintf("ofa_%s_r%d_w%g", which, r, w), unit, ofa.NumLayers, ofa.NumTypes, c0, coef)
}

func zeros(n int) *tensor.Tensor { return tensor.Zeros(n) }

func nanValue() float64 { return math.NaN() }
