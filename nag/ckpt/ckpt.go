// Package ckpt reads and writes nag checkpoints: one zstd-compressed file
// holding a versioned header (model kind, JSON config, seed, step, RNG
// state, free-form metadata) and named entries (float32 tensors such as
// parameters, the EMA copy and the optimiser moments; int64 arrays such as
// training indices; raw bytes), protected by a SHA-256 checksum.
//
// File layout (all integers little-endian):
//
//	offset  size  field
//	0       8     magic "NAGCKPT\x00"
//	8       4     format version (uint32, currently 1)
//	12      4     flags (uint32, must be 0)
//	16      8     payload length in bytes (uint64)
//	24      32    SHA-256 of the payload
//	56      ...   payload: one zstd stream
//
// The decompressed payload is a uint32 length, a JSON header of that length
// (kind, config, seed, step, rng, meta, and the entry list: name, dtype,
// shape), then the entry data in list order: float32 and int64 values as
// little-endian bits, bytes as they are. Nothing follows the last entry.
//
// Reading checks, in order: magic, version, flags, payload length
// (truncation), checksum (bit flips), then structure and the model kind.
// Every failure is an error wrapping one of the Err* values and naming the
// problem; corrupt input never panics and never yields partial weights.
// Writes go to a temporary file in the target directory that is synced and
// renamed over the target, then the directory is synced, so a crash leaves
// either the old or the new checkpoint.
package ckpt

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/autograd/optim"
	"github.com/nagml/nag/tensor"
)

// Magic opens every checkpoint file.
const Magic = "NAGCKPT\x00"

// Version is the format version this package writes and reads.
const Version = 1

// HeaderSize is the size of the fixed, uncompressed file header.
const HeaderSize = 56

// Entry-name prefixes used by the helpers. Tensors named PrefixParams+name
// are model parameters (counted by NumParams); optimiser state (moments, EMA
// copy, step counters) lives under PrefixOptim.
const (
	PrefixParams = "params."
	PrefixOptim  = "optim."
)

// Errors wrapped by Read*; test with errors.Is.
var (
	// ErrNotCheckpoint: the data does not start with Magic.
	ErrNotCheckpoint = errors.New("not a nag checkpoint (bad magic bytes)")
	// ErrVersion: the format version (or flags) is not one this build reads.
	ErrVersion = errors.New("unsupported checkpoint format version")
	// ErrTruncated: the file is shorter than its header declares.
	ErrTruncated = errors.New("truncated checkpoint")
	// ErrChecksum: the payload does not match its SHA-256 checksum.
	ErrChecksum = errors.New("checkpoint checksum mismatch (file is corrupt)")
	// ErrCorrupt: the payload is structurally invalid.
	ErrCorrupt = errors.New("corrupt checkpoint")
	// ErrKind: the checkpoint holds a different model kind than requested.
	ErrKind = errors.New("wrong checkpoint kind")
)

// DType is the element type of an entry.
type DType uint8

// Entry element types.
const (
	Float32 DType = iota + 1
	Int64
	Bytes
)

var dtypeNames = map[DType]string{Float32: "f32", Int64: "i64", Bytes: "u8"}

// String returns the short name stored in files ("f32", "i64", "u8").
func (d DType) String() string {
	if s, ok := dtypeNames[d]; ok {
		return s
	}
	return fmt.Sprintf("dtype(%d)", uint8(d))
}

// size is the byte size of one element.
func (d DType) size() int {
	switch d {
	case Float32:
		return 4
	case Int64:
		return 8
	case Bytes:
		return 1
	}
	return 0
}

func parseDType(s string) (DType, bool) {
	for d, n := range dtypeNames {
		if n == s {
			return d, true
		}
	}
	return 0, false
}

// Entry is one named array. Exactly the slice matching DType is used.
type Entry struct {
	Name  string
	DType DType
	Shape []int
	F32   []float32
	I64   []int64
	Raw   []byte
}

// Len is the number of elements the shape holds.
func (e *Entry) Len() int {
	n := 1
	for _, d := range e.Shape {
		n *= d
	}
	return n
}

// dataLen is the number of elements actually held.
func (e *Entry) dataLen() int {
	switch e.DType {
	case Float32:
		return len(e.F32)
	case Int64:
		return len(e.I64)
	case Bytes:
		return len(e.Raw)
	}
	return -1
}

// Checkpoint is the content of a checkpoint file.
type Checkpoint struct {
	// Kind names the model ("scorenet", "predictor", ...); readers ask for
	// the kind they expect.
	Kind string
	// Config is the model/training configuration as JSON (may be empty).
	Config json.RawMessage
	// Seed is the run's seed.
	Seed uint64
	// Step is the number of training steps taken.
	Step int64
	// RNG is the training RNG state (tensor.RNG.MarshalBinary).
	RNG []byte
	// Meta holds free-form string metadata.
	Meta map[string]string
	// Entries are the named arrays, in file order.
	Entries []Entry
}

// AddTensor appends a float32 entry. A contiguous tensor's storage is
// shared, not copied: it is written as it is when Write runs.
func (c *Checkpoint) AddTensor(name string, t *tensor.Tensor) {
	t = t.Contiguous()
	c.Entries = append(c.Entries, Entry{Name: name, DType: Float32, Shape: append([]int(nil), t.Shape()...), F32: t.Data()})
}

// AddInts appends an int64 entry of shape [len(v)] (e.g. training indices).
func (c *Checkpoint) AddInts(name string, v []int) {
	d := make([]int64, len(v))
	for i, x := range v {
		d[i] = int64(x)
	}
	c.Entries = append(c.Entries, Entry{Name: name, DType: Int64, Shape: []int{len(v)}, I64: d})
}

// AddBytes appends a raw byte entry of shape [len(b)].
func (c *Checkpoint) AddBytes(name string, b []byte) {
	c.Entries = append(c.Entries, Entry{Name: name, DType: Bytes, Shape: []int{len(b)}, Raw: b})
}

// Entry returns the entry with the given name.
func (c *Checkpoint) Entry(name string) (*Entry, bool) {
	for i := range c.Entries {
		if c.Entries[i].Name == name {
			return &c.Entries[i], true
		}
	}
	return nil, false
}

func (c *Checkpoint) typed(name string, d DType) (*Entry, error) {
	e, ok := c.Entry(name)
	if !ok {
		return nil, fmt.Errorf("ckpt: no entry %q in the %q checkpoint", name, c.Kind)
	}
	if e.DType != d {
		return nil, fmt.Errorf("ckpt: entry %q is %s, want %s", name, e.DType, d)
	}
	return e, nil
}

// Tensor returns a float32 entry as a tensor sharing the entry's storage.
func (c *Checkpoint) Tensor(name string) (*tensor.Tensor, error) {
	e, err := c.typed(name, Float32)
	if err != nil {
		return nil, err
	}
	return tensor.FromSliceErr(e.F32, e.Shape...)
}

// Ints returns an int64 entry as ints.
func (c *Checkpoint) Ints(name string) ([]int, error) {
	e, err := c.typed(name, Int64)
	if err != nil {
		return nil, err
	}
	out := make([]int, len(e.I64))
	for i, x := range e.I64 {
		out[i] = int(x)
	}
	return out, nil
}

// Bytes returns a raw byte entry.
func (c *Checkpoint) Bytes(name string) ([]byte, error) {
	e, err := c.typed(name, Bytes)
	if err != nil {
		return nil, err
	}
	return e.Raw, nil
}

// NumParams is the number of float32 elements in entries named with
// PrefixParams.
func (c *Checkpoint) NumParams() int {
	n := 0
	for i := range c.Entries {
		e := &c.Entries[i]
		if e.DType == Float32 && len(e.Name) > len(PrefixParams) && e.Name[:len(PrefixParams)] == PrefixParams {
			n += e.Len()
		}
	}
	return n
}

// AddParams appends every parameter as the tensor PrefixParams+p.Name.
// Call it while the training weights are in the parameters (not while an
// EMA is swapped in), or the EMA weights are saved as the parameters.
func (c *Checkpoint) AddParams(params []*autograd.Var) {
	for _, p := range params {
		c.AddTensor(PrefixParams+p.Name, p.Value)
	}
}

// LoadParams copies the PrefixParams entries into params, matched by name.
// The sets must agree exactly (same names and shapes, no extra parameter
// entries); on any mismatch nothing is copied.
func (c *Checkpoint) LoadParams(params []*autograd.Var) error {
	want := map[string]bool{}
	srcs := make([]*tensor.Tensor, len(params))
	for i, p := range params {
		if want[p.Name] {
			return fmt.Errorf("ckpt: duplicate parameter name %q", p.Name)
		}
		want[p.Name] = true
		t, err := c.Tensor(PrefixParams + p.Name)
		if err != nil {
			return fmt.Errorf("ckpt: load parameters: %w", err)
		}
		if !tensor.EqualInts(t.Shape(), p.Value.Shape()) {
			return fmt.Errorf("ckpt: parameter %q has shape %v in the checkpoint, %v in the model", p.Name, t.Shape(), p.Value.Shape())
		}
		srcs[i] = t
	}
	for i := range c.Entries {
		n := c.Entries[i].Name
		if len(n) > len(PrefixParams) && n[:len(PrefixParams)] == PrefixParams && !want[n[len(PrefixParams):]] {
			return fmt.Errorf("ckpt: checkpoint parameter %q is not in the model", n[len(PrefixParams):])
		}
	}
	for i, p := range params {
		p.Value.CopyFrom(srcs[i])
	}
	return nil
}

// AddOptim appends the optimiser state: its tensors as PrefixOptim+name and
// the step counters as the int64 entry PrefixOptim+"counters" (Adam steps,
// EMA updates).
func (c *Checkpoint) AddOptim(o *optim.Optimizer) {
	s := o.State()
	for _, nt := range s.Tensors {
		c.AddTensor(PrefixOptim+nt.Name, nt.Tensor)
	}
	c.Entries = append(c.Entries, Entry{Name: PrefixOptim + "counters", DType: Int64, Shape: []int{2}, I64: []int64{s.Steps, s.EMAUpdates}})
}

// LoadOptim restores the state written by AddOptim into o (built with the
// same parameters and configuration). On any mismatch nothing is changed.
func (c *Checkpoint) LoadOptim(o *optim.Optimizer) error {
	e, err := c.typed(PrefixOptim+"counters", Int64)
	if err != nil {
		return fmt.Errorf("ckpt: load optimiser: %w", err)
	}
	if len(e.I64) != 2 {
		return fmt.Errorf("ckpt: load optimiser: counters entry has %d values, want 2", len(e.I64))
	}
	s := optim.State{Steps: e.I64[0], EMAUpdates: e.I64[1]}
	for i := range c.Entries {
		en := &c.Entries[i]
		if en.DType != Float32 || len(en.Name) <= len(PrefixOptim) || en.Name[:len(PrefixOptim)] != PrefixOptim {
			continue
		}
		t, err := tensor.FromSliceErr(en.F32, en.Shape...)
		if err != nil {
			return fmt.Errorf("ckpt: load optimiser: entry %q: %w", en.Name, err)
		}
		s.Tensors = append(s.Tensors, optim.NamedTensor{Name: en.Name[len(PrefixOptim):], Tensor: t})
	}
	if err := o.LoadState(s); err != nil {
		return fmt.Errorf("ckpt: load optimiser: %w", err)
	}
	return nil
}

// validate checks a checkpoint before writing.
func (c *Checkpoint) validate() error {
	if c.Kind == "" {
		return fmt.Errorf("ckpt: checkpoint has no kind")
	}
	if len(c.Config) > 0 && !json.Valid(c.Config) {
		return fmt.Errorf("ckpt: config is not valid JSON")
	}
	seen := make(map[string]bool, len(c.Entries))
	for i := range c.Entries {
		e := &c.Entries[i]
		if e.Name == "" {
			return fmt.Errorf("ckpt: entry %d has no name", i)
		}
		if seen[e.Name] {
			return fmt.Errorf("ckpt: duplicate entry name %q", e.Name)
		}
		seen[e.Name] = true
		if e.DType.size() == 0 {
			return fmt.Errorf("ckpt: entry %q has unknown dtype %d", e.Name, e.DType)
		}
		for _, d := range e.Shape {
			if d < 0 {
				return fmt.Errorf("ckpt: entry %q has negative dimension in shape %v", e.Name, e.Shape)
			}
		}
		if e.dataLen() != e.Len() {
			return fmt.Errorf("ckpt: entry %q: %d values for shape %v", e.Name, e.dataLen(), e.Shape)
		}
	}
	return nil
}
