package tensor

import (
	"fmt"
	"math"
)

// binOp selects the arithmetic of a broadcasting binary kernel.
type binOp uint8

const (
	opAdd binOp = iota
	opSub
	opMul
	opDiv
)

var binNames = [...]string{opAdd: "Add", opSub: "Sub", opMul: "Mul", opDiv: "Div"}

// binVV computes dst[i] = a[i] op b[i]. The slices have equal length; dst
// may alias a or b.
func binVV(op binOp, dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	switch op {
	case opAdd:
		for i := range dst {
			dst[i] = a[i] + b[i]
		}
	case opSub:
		for i := range dst {
			dst[i] = a[i] - b[i]
		}
	case opMul:
		for i := range dst {
			dst[i] = a[i] * b[i]
		}
	case opDiv:
		for i := range dst {
			dst[i] = a[i] / b[i]
		}
	}
}

// binVS computes dst[i] = a[i] op s.
func binVS(op binOp, dst, a []float32, s float32) {
	a = a[:len(dst)]
	switch op {
	case opAdd:
		for i := range dst {
			dst[i] = a[i] + s
		}
	case opSub:
		for i := range dst {
			dst[i] = a[i] - s
		}
	case opMul:
		for i := range dst {
			dst[i] = a[i] * s
		}
	case opDiv:
		for i := range dst {
			dst[i] = a[i] / s
		}
	}
}

// binSV computes dst[i] = s op b[i].
func binSV(op binOp, dst []float32, s float32, b []float32) {
	b = b[:len(dst)]
	switch op {
	case opAdd:
		for i := range dst {
			dst[i] = s + b[i]
		}
	case opSub:
		for i := range dst {
			dst[i] = s - b[i]
		}
	case opMul:
		for i := range dst {
			dst[i] = s * b[i]
		}
	case opDiv:
		for i := range dst {
			dst[i] = s / b[i]
		}
	}
}

func binScalar(op binOp, x, y float32) float32 {
	switch op {
	case opAdd:
		return x + y
	case opSub:
		return x - y
	case opMul:
		return x * y
	default:
		return x / y
	}
}

// binaryInto computes a op b with broadcasting into dst (allocated when
// nil) and returns dst. dst may alias a or b when it has their full shape.
func binaryInto(op binOp, dst, a, b *Tensor) *Tensor {
	shape := a.shape
	if !EqualInts(a.shape, b.shape) {
		s, err := BroadcastShapes(a.shape, b.shape)
		if err != nil {
			panic(fmt.Sprintf("tensor: %s: shapes %v and %v do not broadcast", binNames[op], a.shape, b.shape))
		}
		shape = s
	}
	if dst == nil {
		dst = Zeros(shape...)
	} else {
		checkDst(binNames[op], dst, shape)
	}
	n := dst.Len()
	if n == 0 {
		return dst
	}
	od := dst.data[dst.offset : dst.offset+n]
	ac, bc := a.IsContiguous(), b.IsContiguous()
	switch {
	case ac && bc && a.Len() == n && b.Len() == n:
		binVV(op, od, a.data[a.offset:], b.data[b.offset:])
		return dst
	case ac && a.Len() == n && b.Len() == 1:
		binVS(op, od, a.data[a.offset:], b.data[b.offset])
		return dst
	case bc && b.Len() == n && a.Len() == 1:
		binSV(op, od, a.data[a.offset], b.data[b.offset:])
		return dst
	}
	sh, st := coalesce(shape, [][]int{dst.strides, broadcastStrides(a, shape), broadcastStrides(b, shape)})
	last := len(sh) - 1
	m := sh[last]
	sa, sb := st[1][last], st[2][last]
	ad, bd, dd := a.data, b.data, dst.data
	walkRows(sh, st, []int{dst.offset, a.offset, b.offset}, func(offs []int) {
		do, ao, bo := offs[0], offs[1], offs[2]
		row := dd[do : do+m]
		switch {
		case sa == 1 && sb == 1:
			binVV(op, row, ad[ao:], bd[bo:])
		case sa == 1 && sb == 0:
			binVS(op, row, ad[ao:], bd[bo])
		case sa == 0 && sb == 1:
			binSV(op, row, ad[ao], bd[bo:])
		default:
			for i := range row {
				row[i] = binScalar(op, ad[ao+i*sa], bd[bo+i*sb])
			}
		}
	})
	return dst
}

// AddInto stores a + b (broadcasting) in dst, which must be contiguous with
// the broadcast shape (it may alias a or b), and returns dst.
func AddInto(dst, a, b *Tensor) *Tensor { return binaryInto(opAdd, dst, a, b) }

// Sub returns a - b with broadcasting.
func Sub(a, b *Tensor) *Tensor { return binaryInto(opSub, nil, a, b) }

// SubInto stores a - b in dst (see AddInto) and returns dst.
func SubInto(dst, a, b *Tensor) *Tensor { return binaryInto(opSub, dst, a, b) }

// Mul returns the element-wise product a * b with broadcasting.
func Mul(a, b *Tensor) *Tensor { return binaryInto(opMul, nil, a, b) }

// MulInto stores a * b in dst (see AddInto) and returns dst.
func MulInto(dst, a, b *Tensor) *Tensor { return binaryInto(opMul, dst, a, b) }

// Div returns the element-wise quotient a / b with broadcasting.
func Div(a, b *Tensor) *Tensor { return binaryInto(opDiv, nil, a, b) }

// DivInto stores a / b in dst (see AddInto) and returns dst.
func DivInto(dst, a, b *Tensor) *Tensor { return binaryInto(opDiv, dst, a, b) }

// unOp selects a unary element-wise kernel.
type unOp uint8

const (
	uScale unOp = iota
	uAddScalar
	uNeg
	uExp
	uLog
	uSqrt
	uSquare
	uAbs
	uClamp
	uReLU
	uReLU6
	uSiLU
	uTanh
	uSigmoid
	uGELU
	uELU
)

var unNames = [...]string{uScale: "Scale", uAddScalar: "AddScalar", uNeg: "Neg", uExp: "Exp", uLog: "Log",
	uSqrt: "Sqrt", uSquare: "Square", uAbs: "Abs", uClamp: "Clamp", uReLU: "ReLU", uReLU6: "ReLU6",
	uSiLU: "SiLU", uTanh: "Tanh", uSigmoid: "Sigmoid", uGELU: "GELU", uELU: "ELU"}

// unCost is a rough per-element cost of each unary op (1 = one add), used
// to decide when splitting a kernel across goroutines pays off; memory-bound
// ops (cost 1) always run on one goroutine.
var unCost = [...]int{uScale: 1, uAddScalar: 1, uNeg: 1, uExp: 8, uLog: 8, uSqrt: 2, uSquare: 1, uAbs: 1,
	uClamp: 1, uReLU: 1, uReLU6: 1, uSiLU: 10, uTanh: 10, uSigmoid: 10, uGELU: 16, uELU: 8}

// unKernel applies op to src into dst (equal lengths; dst may alias src).
func unKernel(op unOp, dst, src []float32, p, q float32) {
	src = src[:len(dst)]
	switch op {
	case uScale:
		for i, x := range src {
			dst[i] = x * p
		}
	case uAddScalar:
		for i, x := range src {
			dst[i] = x + p
		}
	case uNeg:
		for i, x := range src {
			dst[i] = -x
		}
	case uExp:
		expSlice(dst, src)
	case uLog:
		for i, x := range src {
			dst[i] = float32(math.Log(float64(x)))
		}
	case uSqrt:
		for i, x := range src {
			dst[i] = float32(math.Sqrt(float64(x)))
		}
	case uSquare:
		for i, x := range src {
			dst[i] = x * x
		}
	case uAbs:
		for i, x := range src {
			dst[i] = float32(math.Abs(float64(x)))
		}
	case uClamp:
		for i, x := range src {
			if x < p {
				x = p
			}
			if x > q {
				x = q
			}
			dst[i] = x
		}
	case uReLU:
		for i, x := range src {
			dst[i] = max(x, 0)
		}
	case uReLU6:
		for i, x := range src {
			if x < 0 {
				x = 0
			}
			if x > 6 {
				x = 6
			}
			dst[i] = x
		}
	case uSiLU:
		sigmoidSlice(dst, src, true)
	case uTanh:
		for i, x := range src {
			dst[i] = float32(math.Tanh(float64(x)))
		}
	case uSigmoid:
		sigmoidSlice(dst, src, false)
	case uGELU:
		geluSlice(dst, src)
	case uELU:
		for i, x := range src {
			if x <= 0 {
				x = p * float32(math.Expm1(float64(x)))
			}
			dst[i] = x
		}
	}
}

// unaryInto applies op to a into dst (allocated when nil; may be a itself
// when a is contiguous) and returns dst.
func unaryInto(op unOp, dst, a *Tensor, p, q float32) *Tensor {
	if dst == nil {
		dst = Zeros(a.shape...)
	} else {
		checkDst(unNames[op], dst, a.shape)
	}
	n := dst.Len()
	if n == 0 {
		return dst
	}
	src := a
	if !a.IsContiguous() {
		src = a.Clone()
	}
	dd, sd := dst.data[dst.offset:dst.offset+n], src.data[src.offset:src.offset+n]
	if c := unCost[op]; c > 1 {
		parallelFor(n, c, func(lo, hi int) { unKernel(op, dd[lo:hi], sd[lo:hi], p, q) })
	} else {
		unKernel(op, dd, sd, p, q)
	}
	return dst
}

// Scale returns a * s.
func Scale(a *Tensor, s float32) *Tensor { return unaryInto(uScale, nil, a, s, 0) }

// ScaleInto stores a * s in dst (contiguous, a's shape; may be a) and returns dst.
func ScaleInto(dst, a *Tensor, s float32) *Tensor { return unaryInto(uScale, dst, a, s, 0) }

// AddScalar returns a + s.
func AddScalar(a *Tensor, s float32) *Tensor { return unaryInto(uAddScalar, nil, a, s, 0) }

// AddScalarInto stores a + s in dst and returns dst.
func AddScalarInto(dst, a *Tensor, s float32) *Tensor { return unaryInto(uAddScalar, dst, a, s, 0) }

// Neg returns -a.
func Neg(a *Tensor) *Tensor { return unaryInto(uNeg, nil, a, 0, 0) }

// Exp returns e^a element-wise.
func Exp(a *Tensor) *Tensor { return unaryInto(uExp, nil, a, 0, 0) }

// ExpInto stores e^a in dst and returns dst.
func ExpInto(dst, a *Tensor) *Tensor { return unaryInto(uExp, dst, a, 0, 0) }

// Log returns the natural logarithm of a element-wise.
func Log(a *Tensor) *Tensor { return unaryInto(uLog, nil, a, 0, 0) }

// Sqrt returns the square root of a element-wise.
func Sqrt(a *Tensor) *Tensor { return unaryInto(uSqrt, nil, a, 0, 0) }

// Square returns a² element-wise.
func Square(a *Tensor) *Tensor { return unaryInto(uSquare, nil, a, 0, 0) }

// Abs returns |a| element-wise.
func Abs(a *Tensor) *Tensor { return unaryInto(uAbs, nil, a, 0, 0) }

// Clamp limits every element of a to [lo, hi].
func Clamp(a *Tensor, lo, hi float32) *Tensor {
	if lo > hi {
		panic(fmt.Sprintf("tensor: Clamp with lo %g > hi %g", lo, hi))
	}
	return unaryInto(uClamp, nil, a, lo, hi)
}
