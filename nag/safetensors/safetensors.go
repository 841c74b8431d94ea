// Package safetensors reads (and writes) tensors in the safetensors format:
// an 8-byte little-endian header length N, an N-byte JSON header mapping each
// tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets
// relative to the first byte after the header) plus an optional
// "__metadata__" string map, then the raw little-endian tensor data.
//
// Files may also be gzip-compressed as a whole; Open and Read detect the gzip
// magic and decompress transparently. Every offset, shape and length in the
// header is validated against the data before any tensor is returned, so a
// truncated or corrupt file gives an error naming the problem, never a panic.
package safetensors

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"

	"github.com/nagml/nag/tensor"
)

// MaxHeaderBytes bounds the JSON header (the format's own limit is 100 MB).
const MaxHeaderBytes = 100 << 20

// dtypeSize gives the element size in bytes of each dtype the format names.
var dtypeSize = map[string]int{
	"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1,
	"I16": 2, "U16": 2, "F16": 2, "BF16": 2,
	"I32": 4, "U32": 4, "F32": 4,
	"I64": 8, "U64": 8, "F64": 8,
}

// Info describes one tensor of a file.
type Info struct {
	Name  string
	DType string // "F32", "F16", "BF16", "F64", "I64", ...
	Shape []int
	// Begin and End are byte offsets into the data section (End exclusive).
	Begin, End int64
}

// File is a parsed safetensors file held in memory.
type File struct {
	// Metadata is the header's "__metadata__" map (nil when absent).
	Metadata map[string]string
	infos    map[string]Info
	names    []string
	data     []byte
}

// Open reads and parses the file at path (plain or gzip-compressed).
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	defer f.Close()
	st, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("safetensors %s: %w", path, err)
	}
	return st, nil
}

// Read parses a safetensors stream, decompressing it first if it starts with
// the gzip magic bytes.
func Read(r io.Reader) (*File, error) {
	br := bufio.NewReader(r)
	magic, _ := br.Peek(2)
	var src io.Reader = br
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		src = zr
	}
	b, err := io.ReadAll(src)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("truncated gzip stream: %w", err)
		}
		return nil, fmt.Errorf("read: %w", err)
	}
	return Parse(b)
}

type rawEntry struct {
	DType   string  `json:"dtype"`
	Shape   []int   `json:"shape"`
	Offsets []int64 `json:"data_offsets"`
}

// Parse parses an uncompressed safetensors file held in b. The returned File
// shares b.
func Parse(b []byte) (*File, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("file is %d bytes, shorter than the 8-byte header length", len(b))
	}
	n := binary.LittleEndian.Uint64(b[:8])
	if n > MaxHeaderBytes {
		return nil, fmt.Errorf("header length %d exceeds the %d-byte limit (not a safetensors file?)", n, MaxHeaderBytes)
	}
	if uint64(len(b)-8) < n {
		return nil, fmt.Errorf("truncated: header length %d but only %d bytes follow", n, len(b)-8)
	}
	hdr := b[8 : 8+n]
	data := b[8+n:]
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hdr, &raw); err != nil {
		return nil, fmt.Errorf("header JSON: %w", err)
	}
	f := &File{infos: make(map[string]Info, len(raw)), data: data}
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &f.Metadata); err != nil {
				return nil, fmt.Errorf("__metadata__ must map strings to strings: %w", err)
			}
			continue
		}
		var e rawEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, fmt.Errorf("tensor %q: header entry: %w", name, err)
		}
		info, err := checkEntry(name, e, int64(len(data)))
		if err != nil {
			return nil, err
		}
		f.infos[name] = info
		f.names = append(f.names, name)
	}
	sort.Strings(f.names)
	return f, nil
}

func checkEntry(name string, e rawEntry, dataLen int64) (Info, error) {
	size, ok := dtypeSize[e.DType]
	if !ok {
		return Info{}, fmt.Errorf("tensor %q: unknown dtype %q", name, e.DType)
	}
	if e.Shape == nil {
		return Info{}, fmt.Errorf("tensor %q: missing shape", name)
	}
	if len(e.Offsets) != 2 {
		return Info{}, fmt.Errorf("tensor %q: data_offsets must be [begin, end], got %v", name, e.Offsets)
	}
	numel := int64(1)
	for _, d := range e.Shape {
		if d < 0 {
			return Info{}, fmt.Errorf("tensor %q: negative dimension in shape %v", name, e.Shape)
		}
		if d > 0 && numel > math.MaxInt64/int64(d)/8 {
			return Info{}, fmt.Errorf("tensor %q: shape %v is too large", name, e.Shape)
		}
		numel *= int64(d)
	}
	begin, end := e.Offsets[0], e.Offsets[1]
	if begin < 0 || end < begin {
		return Info{}, fmt.Errorf("tensor %q: bad data_offsets [%d, %d]", name, begin, end)
	}
	if end > dataLen {
		return Info{}, fmt.Errorf("tensor %q: data_offsets [%d, %d] out of range: data section has %d bytes (truncated file?)", name, begin, end, dataLen)
	}
	if want := numel * int64(size); end-begin != want {
		return Info{}, fmt.Errorf("tensor %q: %d bytes at [%d, %d] but shape %v of %s needs %d", name, end-begin, begin, end, e.Shape, e.DType, want)
	}
	return Info{Name: name, DType: e.DType, Shape: append([]int(nil), e.Shape...), Begin: begin, End: end}, nil
}

// Names lists the tensor names in sorted order.
func (f *File) Names() []string { return append([]string(nil), f.names...) }

// Info returns the description of the named tensor.
func (f *File) Info(name string) (Info, bool) {
	i, ok := f.infos[name]
	return i, ok
}

// Bytes returns the raw little-endian bytes of the named tensor (shared with
// the file's buffer).
func (f *File) Bytes(name string) ([]byte, error) {
	i, ok := f.infos[name]
	if !ok {
		return nil, fmt.Errorf("safetensors: no tensor %q", name)
	}
	return f.data[i.Begin:i.End], nil
}

// Float32 returns the named tensor's values converted to float32 (from F32,
// F16, BF16, F64 or an integer dtype) and its shape.
func (f *File) Float32(name string) ([]float32, []int, error) {
	i, ok := f.infos[name]
	if !ok {
		return nil, nil, fmt.Errorf("safetensors: no tensor %q", name)
	}
	b := f.data[i.Begin:i.End]
	size := dtypeSize[i.DType]
	out := make([]float32, len(b)/size)
	le := binary.LittleEndian
	switch i.DType {
	case "F32":
		for k := range out {
			out[k] = math.Float32frombits(le.Uint32(b[4*k:]))
		}
	case "F64":
		for k := range out {
			out[k] = float32(math.Float64frombits(le.Uint64(b[8*k:])))
		}
	case "F16":
		for k := range out {
			out[k] = halfToFloat(le.Uint16(b[2*k:]))
		}
	case "BF16":
		for k := range out {
			out[k] = math.Float32frombits(uint32(le.Uint16(b[2*k:])) << 16)
		}
	case "I8":
		for k := range out {
			out[k] = float32(int8(b[k]))
		}
	case "U8", "BOOL":
		for k := range out {
			out[k] = float32(b[k])
		}
	case "I16":
		for k := range out {
			out[k] = float32(int16(le.Uint16(b[2*k:])))
		}
	case "U16":
		for k := range out {
			out[k] = float32(le.Uint16(b[2*k:]))
		}
	case "I32":
		for k := range out {
			out[k] = float32(int32(le.Uint32(b[4*k:])))
		}
	case "U32":
		for k := range out {
			out[k] = float32(le.Uint32(b[4*k:]))
		}
	case "I64":
		for k := range out {
			out[k] = float32(int64(le.Uint64(b[8*k:])))
		}
	case "U64":
		for k := range out {
			out[k] = float32(le.Uint64(b[8*k:]))
		}
	default:
		return nil, nil, fmt.Errorf("safetensors: tensor %q: cannot convert dtype %s to float32", name, i.DType)
	}
	return out, append([]int(nil), i.Shape...), nil
}

// Tensor returns the named tensor as a float32 tensor.Tensor.
func (f *File) Tensor(name string) (*tensor.Tensor, error) {
	v, shape, err := f.Float32(name)
	if err != nil {
		return nil, err
	}
	return tensor.FromSliceErr(v, shape...)
}

// halfToFloat converts an IEEE 754 binary16 value to float32.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: value = mant * 2^-24
		v := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}

// Named is one tensor to write: float32 values in row-major order.
type Named struct {
	Name  string
	Shape []int
	Data  []float32
}

// Write writes tensors as an F32 safetensors file (header space-padded to a
// multiple of 8 bytes, tensors in the given order).
func Write(w io.Writer, tensors []Named, metadata map[string]string) error {
	hdr := map[string]any{}
	if len(metadata) > 0 {
		hdr["__metadata__"] = metadata
	}
	var off int64
	for _, t := range tensors {
		if _, dup := hdr[t.Name]; dup || t.Name == "" {
			return fmt.Errorf("safetensors: empty or duplicate tensor name %q", t.Name)
		}
		n := 1
		for _, d := range t.Shape {
			n *= d
		}
		if n != len(t.Data) {
			return fmt.Errorf("safetensors: tensor %q: %d values for shape %v", t.Name, len(t.Data), t.Shape)
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		hdr[t.Name] = rawEntry{DType: "F32", Shape: shape, Offsets: []int64{off, off + 4*int64(n)}}
		off += 4 * int64(n)
	}
	js, err := json.Marshal(hdr)
	if err != nil {
		return fmt.Errorf("safetensors: header: %w", err)
	}
	for len(js)%8 != 0 {
		js = append(js, ' ')
	}
	var buf bytes.Buffer
	var n8 [8]byte
	binary.LittleEndian.PutUint64(n8[:], uint64(len(js)))
	buf.Write(n8[:])
	buf.Write(js)
	var v [4]byte
	for _, t := range tensors {
		for _, x := range t.Data {
			binary.LittleEndian.PutUint32(v[:], math.Float32bits(x))
			buf.Write(v[:])
		}
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("safetensors: write: %w", err)
	}
	return nil
}
