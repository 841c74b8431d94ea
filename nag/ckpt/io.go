package ckpt

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/klauspost/compress/zstd"
)

// fileHeader is the JSON header inside the payload.
type fileHeader struct {
	Kind    string            `json:"kind"`
	Config  json.RawMessage   `json:"config,omitempty"`
	Seed    uint64            `json:"seed"`
	Step    int64             `json:"step"`
	RNG     []byte            `json:"rng,omitempty"`
	Meta    map[string]string `json:"meta,omitempty"`
	Entries []entryHeader     `json:"entries"`
}

type entryHeader struct {
	Name  string `json:"name"`
	DType string `json:"dtype"`
	Shape []int  `json:"shape"`
}

// maxJSONHeader bounds the JSON header (entries list and metadata).
const maxJSONHeader = 1 << 28

// maxZstdWindow bounds the zstd window a checkpoint's payload may declare
// (the writer uses at most 8 MiB).
const maxZstdWindow = 64 << 20

// chunk is the byte size of the conversion buffer for entry data.
const chunk = 1 << 18

// encodePayload writes the zstd-compressed payload of c to w.
func encodePayload(w io.Writer, c *Checkpoint) error {
	h := fileHeader{Kind: c.Kind, Config: c.Config, Seed: c.Seed, Step: c.Step, RNG: c.RNG, Meta: c.Meta}
	h.Entries = make([]entryHeader, len(c.Entries))
	for i := range c.Entries {
		e := &c.Entries[i]
		shape := e.Shape
		if shape == nil {
			shape = []int{}
		}
		h.Entries[i] = entryHeader{Name: e.Name, DType: e.DType.String(), Shape: shape}
	}
	js, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("ckpt: encode header: %w", err)
	}
	if len(js) > maxJSONHeader {
		return fmt.Errorf("ckpt: header is %d bytes, limit %d", len(js), maxJSONHeader)
	}
	zw, err := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedDefault))
	if err != nil {
		return fmt.Errorf("ckpt: zstd: %w", err)
	}
	buf := make([]byte, chunk)
	binary.LittleEndian.PutUint32(buf, uint32(len(js)))
	if _, err := zw.Write(buf[:4]); err != nil {
		zw.Close()
		return fmt.Errorf("ckpt: write: %w", err)
	}
	if _, err := zw.Write(js); err != nil {
		zw.Close()
		return fmt.Errorf("ckpt: write: %w", err)
	}
	for i := range c.Entries {
		if err := writeEntry(zw, &c.Entries[i], buf); err != nil {
			zw.Close()
			return fmt.Errorf("ckpt: write entry %q: %w", c.Entries[i].Name, err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("ckpt: write: %w", err)
	}
	return nil
}

func writeEntry(w io.Writer, e *Entry, buf []byte) error {
	switch e.DType {
	case Float32:
		for d := e.F32; len(d) > 0; {
			n := min(len(d), len(buf)/4)
			for i, v := range d[:n] {
				binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
			}
			if _, err := w.Write(buf[:4*n]); err != nil {
				return err
			}
			d = d[n:]
		}
	case Int64:
		for d := e.I64; len(d) > 0; {
			n := min(len(d), len(buf)/8)
			for i, v := range d[:n] {
				binary.LittleEndian.PutUint64(buf[8*i:], uint64(v))
			}
			if _, err := w.Write(buf[:8*n]); err != nil {
				return err
			}
			d = d[n:]
		}
	case Bytes:
		_, err := w.Write(e.Raw)
		return err
	}
	return nil
}

// putHeader fills the fixed file header.
func putHeader(b []byte, payloadLen uint64, sum []byte) {
	copy(b, Magic)
	binary.LittleEndian.PutUint32(b[8:], Version)
	binary.LittleEndian.PutUint32(b[12:], 0)
	binary.LittleEndian.PutUint64(b[16:], payloadLen)
	copy(b[24:56], sum)
}

// countingHash hashes and counts what passes through.
type countingHash struct {
	h hash.Hash
	n uint64
}

func (c *countingHash) Write(p []byte) (int, error) {
	c.h.Write(p)
	c.n += uint64(len(p))
	return len(p), nil
}

// Write writes c to w in the checkpoint format. It buffers the compressed
// payload in memory; WriteFile streams to disk instead.
func Write(w io.Writer, c *Checkpoint) error {
	if err := c.validate(); err != nil {
		return err
	}
	var payload bytes.Buffer
	if err := encodePayload(&payload, c); err != nil {
		return err
	}
	sum := sha256.Sum256(payload.Bytes())
	hdr := make([]byte, HeaderSize)
	putHeader(hdr, uint64(payload.Len()), sum[:])
	if _, err := w.Write(hdr); err != nil {
		return fmt.Errorf("ckpt: write: %w", err)
	}
	if _, err := w.Write(payload.Bytes()); err != nil {
		return fmt.Errorf("ckpt: write: %w", err)
	}
	return nil
}

// WriteFile writes c to path atomically: it streams into a temporary file in
// the same directory, syncs it, renames it over path and syncs the
// directory. On error path is left as it was.
func WriteFile(path string, c *Checkpoint) (err error) {
	if err := c.validate(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			err = fmt.Errorf("write %s: %w", path, err)
		}
	}()
	hdr := make([]byte, HeaderSize)
	if _, err = f.Write(hdr); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	ch := &countingHash{h: sha256.New()}
	if err = encodePayload(io.MultiWriter(bw, ch), c); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	putHeader(hdr, ch.n, ch.h.Sum(nil))
	if _, err = f.WriteAt(hdr, 0); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		serr := d.Sync()
		d.Close()
		if serr != nil {
			return fmt.Errorf("sync directory: %w", serr)
		}
	}
	return nil
}

// ReadFile reads and verifies the checkpoint at path. A non-empty wantKind
// must equal the stored kind.
func ReadFile(path, wantKind string) (*Checkpoint, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	c, err := ReadBytes(b, wantKind)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Read reads and verifies a checkpoint from r (read to the end).
func Read(r io.Reader, wantKind string) (*Checkpoint, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	return ReadBytes(b, wantKind)
}

// ReadBytes decodes and verifies a checkpoint held in memory (for example
// one embedded with go:embed). The returned entries do not alias b.
func ReadBytes(b []byte, wantKind string) (*Checkpoint, error) {
	if len(b) < len(Magic) {
		if bytes.HasPrefix([]byte(Magic), b) {
			return nil, fmt.Errorf("%w: %d bytes, shorter than the %d-byte header", ErrTruncated, len(b), HeaderSize)
		}
		return nil, ErrNotCheckpoint
	}
	if string(b[:len(Magic)]) != Magic {
		return nil, ErrNotCheckpoint
	}
	if len(b) < HeaderSize {
		return nil, fmt.Errorf("%w: %d bytes, shorter than the %d-byte header", ErrTruncated, len(b), HeaderSize)
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != Version {
		return nil, fmt.Errorf("%w %d (this build reads version %d; the file is from another nag release or corrupt)", ErrVersion, v, Version)
	}
	if fl := binary.LittleEndian.Uint32(b[12:]); fl != 0 {
		return nil, fmt.Errorf("%w: unknown flags %#x", ErrVersion, fl)
	}
	n := binary.LittleEndian.Uint64(b[16:])
	have := uint64(len(b) - HeaderSize)
	switch {
	case n > have:
		return nil, fmt.Errorf("%w: header declares %d payload bytes, only %d present", ErrTruncated, n, have)
	case n < have:
		return nil, fmt.Errorf("%w: %d unexpected bytes after the %d-byte payload", ErrCorrupt, have-n, n)
	}
	payload := b[HeaderSize:]
	sum := sha256.Sum256(payload)
	if !bytes.Equal(sum[:], b[24:56]) {
		return nil, fmt.Errorf("%w: stored sha256 %s..., computed %s...", ErrChecksum, hex.EncodeToString(b[24:32]), hex.EncodeToString(sum[:8]))
	}
	c, err := decodePayload(payload, wantKind)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func corrupt(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, a...))
}

func decodePayload(payload []byte, wantKind string) (*Checkpoint, error) {
	// Our writer's window is at most 8 MiB; refusing larger windows keeps a
	// crafted frame from making the decoder allocate up to its 512 MiB limit.
	zr, err := zstd.NewReader(bytes.NewReader(payload), zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(maxZstdWindow))
	if err != nil {
		return nil, fmt.Errorf("ckpt: zstd: %w", err)
	}
	defer zr.Close()
	var lb [4]byte
	if _, err := io.ReadFull(zr, lb[:]); err != nil {
		return nil, corrupt("reading header length: %v", err)
	}
	hl := binary.LittleEndian.Uint32(lb[:])
	if hl > maxJSONHeader {
		return nil, corrupt("header length %d exceeds %d", hl, maxJSONHeader)
	}
	// Read the header as it arrives rather than allocating the declared
	// length up front: a few corrupt bytes must not cost 256 MiB.
	js, err := io.ReadAll(io.LimitReader(zr, int64(hl)))
	if err != nil {
		return nil, corrupt("reading header: %v", err)
	}
	if len(js) != int(hl) {
		return nil, corrupt("reading header: %d of %d bytes: %v", len(js), hl, io.ErrUnexpectedEOF)
	}
	var h fileHeader
	if err := json.Unmarshal(js, &h); err != nil {
		return nil, corrupt("header JSON: %v", err)
	}
	if wantKind != "" && h.Kind != wantKind {
		return nil, fmt.Errorf("%w: file holds a %q checkpoint, want %q", ErrKind, h.Kind, wantKind)
	}
	c := &Checkpoint{Kind: h.Kind, Config: h.Config, Seed: h.Seed, Step: h.Step, RNG: h.RNG, Meta: h.Meta}
	seen := make(map[string]bool, len(h.Entries))
	buf := make([]byte, chunk)
	for _, eh := range h.Entries {
		if eh.Name == "" || seen[eh.Name] {
			return nil, corrupt("entry name %q empty or repeated", eh.Name)
		}
		seen[eh.Name] = true
		dt, ok := parseDType(eh.DType)
		if !ok {
			return nil, corrupt("entry %q has unknown dtype %q", eh.Name, eh.DType)
		}
		count := uint64(1)
		for _, d := range eh.Shape {
			if d < 0 {
				return nil, corrupt("entry %q has negative dimension in shape %v", eh.Name, eh.Shape)
			}
			if d != 0 && count > (1<<40)/uint64(d) {
				return nil, corrupt("entry %q shape %v is too large", eh.Name, eh.Shape)
			}
			count *= uint64(d)
		}
		e := Entry{Name: eh.Name, DType: dt, Shape: eh.Shape}
		if e.Shape == nil {
			e.Shape = []int{}
		}
		if err := readEntry(zr, &e, int(count), buf, 8*len(payload)+1<<20); err != nil {
			return nil, corrupt("entry %q: %v", eh.Name, err)
		}
		c.Entries = append(c.Entries, e)
	}
	if k, err := zr.Read(buf[:1]); k != 0 || err != io.EOF {
		if err != nil && err != io.EOF {
			return nil, corrupt("after the last entry: %v", err)
		}
		return nil, corrupt("unexpected data after the last entry")
	}
	return c, nil
}

// readEntry reads count elements into e. It allocates the whole slice up
// front when its byte size is plausible for the payload (at most trust
// bytes); otherwise it grows the slice as data arrives, so that a bogus
// shape cannot force a huge allocation.
func readEntry(r io.Reader, e *Entry, count int, buf []byte, trust int) error {
	size := e.DType.size()
	initCap := 1 << 20
	if count <= trust/size {
		initCap = count
	}
	switch e.DType {
	case Float32:
		e.F32 = make([]float32, 0, min(count, initCap))
	case Int64:
		e.I64 = make([]int64, 0, min(count, initCap))
	case Bytes:
		e.Raw = make([]byte, 0, min(count, initCap))
	}
	for left := count; left > 0; {
		n := min(left, len(buf)/size)
		b := buf[:n*size]
		if _, err := io.ReadFull(r, b); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return fmt.Errorf("data ends early (%d of %d values)", count-left, count)
			}
			return err
		}
		switch e.DType {
		case Float32:
			for i := 0; i < n; i++ {
				e.F32 = append(e.F32, math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
			}
		case Int64:
			for i := 0; i < n; i++ {
				e.I64 = append(e.I64, int64(binary.LittleEndian.Uint64(b[8*i:])))
			}
		case Bytes:
			e.Raw = append(e.Raw, b...)
		}
		left -= n
	}
	return nil
}
