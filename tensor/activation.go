package tensor

import (
	"fmt"
	"math"
)

// ReLU returns max(a, 0) element-wise.
func ReLU(a *Tensor) *Tensor { return unaryInto(uReLU, nil, a, 0, 0) }

// ReLUInto stores ReLU(a) in dst (contiguous, a's shape; may be a) and returns dst.
func ReLUInto(dst, a *Tensor) *Tensor { return unaryInto(uReLU, dst, a, 0, 0) }

// ReLU6 returns min(max(a, 0), 6) element-wise.
func ReLU6(a *Tensor) *Tensor { return unaryInto(uReLU6, nil, a, 0, 0) }

// ReLU6Into stores ReLU6(a) in dst and returns dst.
func ReLU6Into(dst, a *Tensor) *Tensor { return unaryInto(uReLU6, dst, a, 0, 0) }

// SiLU returns a·sigmoid(a) (swish) element-wise.
func SiLU(a *Tensor) *Tensor { return unaryInto(uSiLU, nil, a, 0, 0) }

// SiLUInto stores SiLU(a) in dst and returns dst.
func SiLUInto(dst, a *Tensor) *Tensor { return unaryInto(uSiLU, dst, a, 0, 0) }

// Tanh returns tanh(a) element-wise.
func Tanh(a *Tensor) *Tensor { return unaryInto(uTanh, nil, a, 0, 0) }

// TanhInto stores tanh(a) in dst and returns dst.
func TanhInto(dst, a *Tensor) *Tensor { return unaryInto(uTanh, dst, a, 0, 0) }

// Sigmoid returns 1/(1+e^-a) element-wise.
func Sigmoid(a *Tensor) *Tensor { return unaryInto(uSigmoid, nil, a, 0, 0) }

// SigmoidInto stores Sigmoid(a) in dst and returns dst.
func SigmoidInto(dst, a *Tensor) *Tensor { return unaryInto(uSigmoid, dst, a, 0, 0) }

// GELU returns the exact (erf) GELU, x·Φ(x), PyTorch's default.
func GELU(a *Tensor) *Tensor { return unaryInto(uGELU, nil, a, 0, 0) }

// GELUInto stores GELU(a) in dst and returns dst.
func GELUInto(dst, a *Tensor) *Tensor { return unaryInto(uGELU, dst, a, 0, 0) }

// ELU returns x for x > 0 and alpha·(e^x - 1) otherwise, with a float32
// e^x - 1 (relative error below 4e-7; see elu_fused.go).
func ELU(a *Tensor, alpha float32) *Tensor { return eluInto(nil, a, alpha) }

// ELUInto stores ELU(a, alpha) in dst and returns dst.
func ELUInto(dst, a *Tensor, alpha float32) *Tensor { return eluInto(dst, a, alpha) }

// gradOp selects a fused backward kernel dst = g · f'(v).
type gradOp uint8

const (
	gReLU gradOp = iota
	gReLU6
	gSiLU
	gTanh
	gSigmoid
	gGELU
	gELU
)

var gradNames = [...]string{gReLU: "ReLUGrad", gReLU6: "ReLU6Grad", gSiLU: "SiLUGrad", gTanh: "TanhGrad",
	gSigmoid: "SigmoidGrad", gGELU: "GELUGrad", gELU: "ELUGrad"}

const invSqrt2Pi = 0.3989422804014327 // 1/√(2π)

func gradInto(op gradOp, v, g *Tensor, p float32) *Tensor {
	if !EqualInts(v.shape, g.shape) {
		panic(fmt.Sprintf("tensor: %s: value shape %v, gradient shape %v", gradNames[op], v.shape, g.shape))
	}
	v, g = v.Contiguous(), g.Contiguous()
	out := Zeros(v.shape...)
	n := out.Len()
	vd, gd := v.data[v.offset:v.offset+n], g.data[g.offset:g.offset+n]
	cost := 10
	if op == gReLU || op == gReLU6 || op == gTanh || op == gSigmoid {
		cost = 1
	}
	parallelFor(n, cost, func(lo, hi int) { gradKernel(op, out.data[lo:hi], vd[lo:hi], gd[lo:hi], p) })
	return out
}

// gradKernel computes od = gd·f'(vd) for the op (equal lengths).
func gradKernel(op gradOp, od, vd, gd []float32, p float32) {
	vd, gd = vd[:len(od)], gd[:len(od)]
	switch op {
	// ReLU and ReLU6 select g with a bit mask (a conditional move) instead
	// of a branch: the sign of x is random, and a mispredicted branch per
	// element made this loop 3.6x slower (5.4 vs 1.5 ns per element).
	case gReLU:
		for i, x := range vd {
			var m uint32
			if x > 0 {
				m = ^uint32(0)
			}
			od[i] = math.Float32frombits(math.Float32bits(gd[i]) & m)
		}
	case gReLU6:
		for i, x := range vd {
			var m uint32
			if x > 0 {
				m = ^uint32(0)
			}
			if x >= 6 {
				m = 0
			}
			od[i] = math.Float32frombits(math.Float32bits(gd[i]) & m)
		}
	case gSiLU:
		for i, x := range vd {
			s := sigmoid32(x)
			od[i] = gd[i] * s * (1 + x*(1-s))
		}
	case gTanh:
		for i, y := range vd {
			od[i] = gd[i] * (1 - y*y)
		}
	case gSigmoid:
		for i, y := range vd {
			od[i] = gd[i] * y * (1 - y)
		}
	case gGELU:
		geluGradSlice(od, vd, gd)
	case gELU:
		eluGradSlice(od, vd, gd, p)
	}
}

// ReLUGradSlice sets dst[i] = g[i] where x[i] > 0 and 0 elsewhere (x may
// be the ReLU's input or its output); x and g are at least len(dst) long.
func ReLUGradSlice(dst, x, g []float32) { gradKernel(gReLU, dst, x, g, 0) }

// ReLUGrad returns g·ReLU'(x) (x is the ReLU input).
func ReLUGrad(x, g *Tensor) *Tensor { return gradInto(gReLU, x, g, 0) }

// ReLU6Grad returns g·ReLU6'(x) (x is the input).
func ReLU6Grad(x, g *Tensor) *Tensor { return gradInto(gReLU6, x, g, 0) }

// SiLUGrad returns g·SiLU'(x) (x is the input).
func SiLUGrad(x, g *Tensor) *Tensor { return gradInto(gSiLU, x, g, 0) }

// TanhGrad returns g·(1-y²) where y = tanh(x) is the op's output.
func TanhGrad(y, g *Tensor) *Tensor { return gradInto(gTanh, y, g, 0) }

// SigmoidGrad returns g·y·(1-y) where y = sigmoid(x) is the op's output.
func SigmoidGrad(y, g *Tensor) *Tensor { return gradInto(gSigmoid, y, g, 0) }

// GELUGrad returns g·GELU'(x) for the exact GELU (x is the input).
func GELUGrad(x, g *Tensor) *Tensor { return gradInto(gGELU, x, g, 0) }

// ELUGrad returns g·ELU'(x) for ELU with the given alpha (x is the input).
func ELUGrad(x, g *Tensor, alpha float32) *Tensor { return gradInto(gELU, x, g, alpha) }
