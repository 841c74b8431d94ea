package torchpt

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"

	"github.com/nlpodyssey/gopickle/types"
)

// storageClass is a torch.*Storage class reference.
type storageClass struct{ dtype DType }

var storageClasses = map[string]DType{
	"FloatStorage": Float32, "DoubleStorage": Float64, "HalfStorage": Float16, "BFloat16Storage": BFloat16,
	"LongStorage": Int64, "IntStorage": Int32, "ShortStorage": Int16, "CharStorage": Int8,
	"ByteStorage": Uint8, "BoolStorage": Bool,
}

// callFunc adapts a Go function to a pickle callable.
type callFunc func(args ...any) (any, error)

func (f callFunc) Call(args ...any) (any, error) { return f(args...) }

// opaqueClass is a class the reader does not know; calling or
// instantiating it yields an opaqueObj.
type opaqueClass struct{ name string }

func (c *opaqueClass) Call(args ...any) (any, error)  { return &opaqueObj{class: c.name}, nil }
func (c *opaqueClass) PyNew(args ...any) (any, error) { return &opaqueObj{class: c.name}, nil }

// opaqueObj accepts whatever state the pickle sets on it.
type opaqueObj struct {
	class string
	state any
	attrs map[string]any
}

func (o *opaqueObj) PySetState(state any) error { o.state = state; return nil }
func (o *opaqueObj) PyDictSet(key, value any) error {
	if k, ok := key.(string); ok {
		if o.attrs == nil {
			o.attrs = map[string]any{}
		}
		o.attrs[k] = value
	}
	return nil
}
func (o *opaqueObj) PySetAttr(key string, value any) error { return o.PyDictSet(key, value) }

// npDType is a numpy dtype object, e.g. dtype('f8') with byte order '<'.
type npDType struct {
	code  string
	order string
}

func (d *npDType) PySetState(state any) error {
	if t, ok := state.(*types.Tuple); ok && t.Len() > 1 {
		if s, ok := t.Get(1).(string); ok {
			d.order = s
		}
	}
	return nil
}

var npCodes = map[string]DType{
	"f8": Float64, "f4": Float32, "f2": Float16, "i8": Int64, "i4": Int32, "i2": Int16, "i1": Int8, "u1": Uint8, "b1": Bool,
}

func (d *npDType) dtype() (DType, bool) {
	dt, ok := npCodes[strings.TrimLeft(d.code, "<>|=")]
	return dt, ok
}

func (d *npDType) bigEndian() bool { return d.order == ">" || strings.HasPrefix(d.code, ">") }

// npArray is a numpy ndarray under construction (_reconstruct + BUILD).
type npArray struct {
	shape   []int
	dtype   *npDType
	fortran bool
	raw     any
	set     bool
}

func (a *npArray) PySetState(state any) error {
	t, ok := state.(*types.Tuple)
	if !ok || t.Len() != 5 {
		return nil // unknown layout: left unset, reported as skipped
	}
	shape, err := intTuple(t.Get(1))
	if err != nil {
		return nil
	}
	dt, _ := t.Get(2).(*npDType)
	fortran, _ := t.Get(3).(bool)
	a.shape, a.dtype, a.fortran, a.raw, a.set = shape, dt, fortran, t.Get(4), dt != nil
	return nil
}

func intTuple(v any) ([]int, error) {
	var items []any
	switch t := v.(type) {
	case *types.Tuple:
		items = *t
	case *types.List:
		items = *t
	default:
		return nil, fmt.Errorf("want a tuple of ints, have %T", v)
	}
	out := make([]int, len(items))
	for i, x := range items {
		n, ok := x.(int)
		if !ok {
			return nil, fmt.Errorf("want a tuple of ints, element %d is %T", i, x)
		}
		out[i] = n
	}
	return out, nil
}

// rawBytes returns bytes from a pickled bytes object or a latin-1 string.
func rawBytes(v any) ([]byte, bool) {
	switch b := v.(type) {
	case []byte:
		return b, true
	case *types.ByteArray:
		return []byte(*b), true
	case string:
		out := make([]byte, 0, len(b))
		for _, r := range b {
			if r > 255 {
				return nil, false
			}
			out = append(out, byte(r))
		}
		return out, true
	}
	return nil, false
}

func contiguousStrides(shape []int) []int {
	st := make([]int, len(shape))
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = s
		s *= shape[i]
	}
	return st
}

func rebuildTensor(args ...any) (any, error) {
	if len(args) < 4 {
		return nil, fmt.Errorf("_rebuild_tensor: %d arguments, want at least 4", len(args))
	}
	st, ok := args[0].(*storage)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor: storage argument is %T", args[0])
	}
	off, ok := args[1].(int)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor: offset argument is %T", args[1])
	}
	shape, err := intTuple(args[2])
	if err != nil {
		return nil, fmt.Errorf("_rebuild_tensor: size: %w", err)
	}
	stride, err := intTuple(args[3])
	if err != nil {
		return nil, fmt.Errorf("_rebuild_tensor: stride: %w", err)
	}
	return &Tensor{DType: st.dtype, Shape: shape, Source: "torch", st: st, offset: off, stride: stride}, nil
}

// findClass resolves the classes and functions a .pt pickle refers to.
func (l *loader) findClass(module, name string) (any, error) {
	full := module + "." + name
	if module == "torch" {
		if dt, ok := storageClasses[name]; ok {
			return &storageClass{dtype: dt}, nil
		}
	}
	switch full {
	case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
		return callFunc(rebuildTensor), nil
	case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
		return callFunc(func(args ...any) (any, error) {
			if len(args) == 0 {
				return nil, errors.New("_rebuild_parameter: no arguments")
			}
			return args[0], nil
		}), nil
	case "torch.device":
		return callFunc(func(args ...any) (any, error) {
			parts := make([]string, len(args))
			for i, a := range args {
				parts[i] = fmt.Sprint(a)
			}
			return strings.Join(parts, ":"), nil
		}), nil
	case "_codecs.encode":
		return callFunc(func(args ...any) (any, error) {
			if len(args) == 0 {
				return nil, errors.New("_codecs.encode: no arguments")
			}
			b, ok := rawBytes(args[0])
			if !ok {
				return nil, fmt.Errorf("_codecs.encode: cannot encode %T as latin-1", args[0])
			}
			return b, nil
		}), nil
	case "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct":
		return callFunc(func(args ...any) (any, error) { return &npArray{}, nil }), nil
	case "numpy.dtype":
		return callFunc(func(args ...any) (any, error) {
			d := &npDType{order: "<"}
			if len(args) > 0 {
				d.code, _ = args[0].(string)
			}
			return d, nil
		}), nil
	case "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar":
		return callFunc(npScalar), nil
	}
	return &opaqueClass{name: full}, nil
}

// npScalar decodes numpy.core.multiarray.scalar(dtype, raw bytes).
func npScalar(args ...any) (any, error) {
	if len(args) != 2 {
		return &opaqueObj{class: "numpy scalar"}, nil
	}
	d, ok := args[0].(*npDType)
	raw, ok2 := rawBytes(args[1])
	if !ok || !ok2 {
		return &opaqueObj{class: "numpy scalar"}, nil
	}
	dt, ok := d.dtype()
	if !ok || len(raw) != dt.Size() {
		return &opaqueObj{class: "numpy scalar " + d.code}, nil
	}
	t := &Tensor{DType: dt, Shape: []int{}, st: &storage{dtype: dt, numel: 1, data: raw, big: d.bigEndian()}, stride: []int{}}
	switch {
	case dt.IsFloat():
		return t.Float64s()[0], nil
	case dt == Bool:
		return raw[0] != 0, nil
	default:
		v, _ := t.Int64s()
		return v[0], nil
	}
}

// maxDepth bounds the nesting of converted values.
const maxDepth = 2000

// convert maps gopickle values to the package's value model.
func (l *loader) convert(v any, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errors.New("objects nested too deeply")
	}
	conv := func(x any) (any, error) { return l.convert(x, depth+1) }
	switch x := v.(type) {
	case nil, bool, string, []byte, float64, int64:
		return x, nil
	case int:
		return int64(x), nil
	case *big.Int:
		if x.IsInt64() {
			return x.Int64(), nil
		}
		return x, nil
	case *types.ByteArray:
		return []byte(*x), nil
	case *types.List:
		out := make([]any, len(*x))
		for i, e := range *x {
			c, err := conv(e)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case *types.Tuple:
		out := make(Tuple, len(*x))
		for i, e := range *x {
			c, err := conv(e)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case *types.Dict:
		d := &Dict{}
		for _, e := range *x {
			k, err := conv(e.Key)
			if err != nil {
				return nil, err
			}
			val, err := conv(e.Value)
			if err != nil {
				return nil, err
			}
			d.Keys, d.Values = append(d.Keys, k), append(d.Values, val)
		}
		return d, nil
	case *types.OrderedDict:
		d := &Dict{}
		for e := x.List.Front(); e != nil; e = e.Next() {
			entry := e.Value.(*types.OrderedDictEntry)
			k, err := conv(entry.Key)
			if err != nil {
				return nil, err
			}
			val, err := conv(entry.Value)
			if err != nil {
				return nil, err
			}
			d.Keys, d.Values = append(d.Keys, k), append(d.Values, val)
		}
		return d, nil
	case *Tensor:
		if err := x.check(); err != nil {
			return nil, err
		}
		return x, nil
	case *storage:
		t := &Tensor{DType: x.dtype, Shape: []int{x.numel}, Source: "torch", st: x, stride: []int{1}}
		if err := t.check(); err != nil {
			return nil, err
		}
		return t, nil
	case *npArray:
		return l.convertArray(x)
	case *opaqueObj:
		if strings.HasSuffix(x.class, "ConfigDict") {
			if st, ok := x.state.(*types.Dict); ok {
				for _, e := range *st {
					if e.Key == "_fields" {
						return conv(e.Value)
					}
				}
			}
		}
		l.skipped[x.class]++
		return &Object{Class: x.class}, nil
	case *opaqueClass:
		return &Object{Class: "class " + x.name}, nil
	case *npDType:
		return "numpy dtype " + x.code, nil
	}
	name := fmt.Sprintf("%T", v)
	l.skipped[name]++
	return &Object{Class: name}, nil
}

func (l *loader) convertArray(a *npArray) (any, error) {
	skip := func(what string) (any, error) {
		l.skipped[what]++
		return &Object{Class: what}, nil
	}
	if !a.set {
		return skip("numpy.ndarray (unknown state)")
	}
	dt, ok := a.dtype.dtype()
	if !ok {
		return skip("numpy.ndarray dtype " + a.dtype.code)
	}
	raw, ok := rawBytes(a.raw)
	if !ok {
		return skip("numpy.ndarray (non-byte data)")
	}
	n := 1
	for _, d := range a.shape {
		if d < 0 || (d > 0 && n > math.MaxInt32/d) {
			return nil, fmt.Errorf("numpy array shape %v of %s is invalid or too large", a.shape, dt)
		}
		n *= d
	}
	if n*dt.Size() != len(raw) {
		return nil, fmt.Errorf("numpy array shape %v of %s needs %d bytes, have %d", a.shape, dt, n*dt.Size(), len(raw))
	}
	stride := contiguousStrides(a.shape)
	if a.fortran {
		s := 1
		for i := range a.shape {
			stride[i] = s
			s *= a.shape[i]
		}
	}
	return &Tensor{DType: dt, Shape: a.shape, Source: "numpy", st: &storage{dtype: dt, numel: n, data: raw, big: a.dtype.bigEndian()}, stride: stride}, nil
}
