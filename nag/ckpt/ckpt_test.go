package ckpt

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/autograd/optim"
	"github.com/nagml/nag/tensor"
)

// sample builds a checkpoint with every kind of entry.
func sample(t testing.TB) *Checkpoint {
	t.Helper()
	rng := tensor.NewRNG(5)
	st, err := rng.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	c := &Checkpoint{
		Kind:   "scorenet",
		Config: json.RawMessage(`{"layers": 4, "sigma_max": 5.0, "name": "cate"}`),
		Seed:   math.MaxUint64 - 3, // survives JSON exactly
		Step:   12345,
		RNG:    st,
		Meta:   map[string]string{"git": "abc123", "note": "unit test"},
	}
	w := tensor.RandN(rng, 3, 4)
	w.Data()[5] = float32(math.NaN())
	w.Data()[6] = float32(math.Inf(-1))
	c.AddTensor("params.w", w)
	c.AddTensor("params.b", tensor.RandN(rng, 4))
	c.AddTensor("params.scalar", tensor.Scalar(-2.5))
	c.AddTensor("empty", tensor.Zeros(0, 3))
	c.AddTensor("view", tensor.RandN(rng, 2, 3).T()) // non-contiguous input
	c.AddInts("train_idx", []int{5, -1, 1 << 40, 0})
	c.AddBytes("blob", []byte("hello\x00world"))
	return c
}

func encode(t *testing.T, c *Checkpoint) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, c); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sameCheckpoint(t *testing.T, got, want *Checkpoint) {
	t.Helper()
	if got.Kind != want.Kind || got.Seed != want.Seed || got.Step != want.Step || !bytes.Equal(got.RNG, want.RNG) {
		t.Errorf("header: got %q %d %d %x, want %q %d %d %x", got.Kind, got.Seed, got.Step, got.RNG, want.Kind, want.Seed, want.Step, want.RNG)
	}
	var a, b any
	if err := json.Unmarshal(got.Config, &a); err != nil {
		t.Fatalf("config: %v", err)
	}
	json.Unmarshal(want.Config, &b)
	if ja, jb := mustJSON(a), mustJSON(b); ja != jb {
		t.Errorf("config %s, want %s", ja, jb)
	}
	if mustJSON(got.Meta) != mustJSON(want.Meta) {
		t.Errorf("meta %v, want %v", got.Meta, want.Meta)
	}
	if len(got.Entries) != len(want.Entries) {
		t.Fatalf("%d entries, want %d", len(got.Entries), len(want.Entries))
	}
	for i := range want.Entries {
		g, w := got.Entries[i], want.Entries[i]
		if g.Name != w.Name || g.DType != w.DType || !tensor.EqualInts(g.Shape, w.Shape) {
			t.Errorf("entry %d: %s %s %v, want %s %s %v", i, g.Name, g.DType, g.Shape, w.Name, w.DType, w.Shape)
		}
		if len(g.F32) != len(w.F32) || len(g.I64) != len(w.I64) || !bytes.Equal(g.Raw, w.Raw) {
			t.Errorf("entry %s: data lengths differ", w.Name)
			continue
		}
		for j := range w.F32 {
			if math.Float32bits(g.F32[j]) != math.Float32bits(w.F32[j]) {
				t.Errorf("entry %s[%d] = %v, want %v (bitwise)", w.Name, j, g.F32[j], w.F32[j])
			}
		}
		for j := range w.I64 {
			if g.I64[j] != w.I64[j] {
				t.Errorf("entry %s[%d] = %d, want %d", w.Name, j, g.I64[j], w.I64[j])
			}
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestRoundTrip(t *testing.T) {
	c := sample(t)
	b := encode(t, c)
	if string(b[:8]) != Magic || binary.LittleEndian.Uint32(b[8:]) != Version {
		t.Fatalf("file starts %q", b[:12])
	}
	got, err := ReadBytes(b, "scorenet")
	if err != nil {
		t.Fatal(err)
	}
	sameCheckpoint(t, got, c)
	// Read from a stream, kind unchecked.
	got2, err := Read(bytes.NewReader(b), "")
	if err != nil {
		t.Fatal(err)
	}
	sameCheckpoint(t, got2, c)
	// To disk and back.
	path := filepath.Join(t.TempDir(), "a.ckpt")
	if err := WriteFile(path, c); err != nil {
		t.Fatal(err)
	}
	got3, err := ReadFile(path, "scorenet")
	if err != nil {
		t.Fatal(err)
	}
	sameCheckpoint(t, got3, c)
	// Typed accessors.
	w, err := got.Tensor("params.w")
	if err != nil || !tensor.EqualInts(w.Shape(), []int{3, 4}) {
		t.Errorf("Tensor: %v %v", err, w)
	}
	idx, err := got.Ints("train_idx")
	if err != nil || len(idx) != 4 || idx[2] != 1<<40 || idx[1] != -1 {
		t.Errorf("Ints: %v %v", idx, err)
	}
	if blob, err := got.Bytes("blob"); err != nil || string(blob) != "hello\x00world" {
		t.Errorf("Bytes: %q %v", blob, err)
	}
	if _, err := got.Tensor("blob"); err == nil {
		t.Error("Tensor on a byte entry should fail")
	}
	if _, err := got.Ints("nope"); err == nil {
		t.Error("missing entry should fail")
	}
	if n := got.NumParams(); n != 12+4+1 {
		t.Errorf("NumParams = %d, want 17", n)
	}
}

// TestCorruption: every kind of damage gives an error naming it.
func TestCorruption(t *testing.T) {
	good := encode(t, sample(t))
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	setVersion := func(v uint32) []byte {
		return mut(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[8:], v); return b })
	}
	cases := []struct {
		name string
		data []byte
		kind string
		want error
		msg  string
	}{
		{"empty", nil, "", ErrTruncated, "truncated"},
		{"half magic", good[:4], "", ErrTruncated, "truncated"},
		{"header only", good[:30], "", ErrTruncated, "truncated"},
		{"no payload", good[:HeaderSize], "", ErrTruncated, "truncated"},
		{"half payload", good[:HeaderSize+(len(good)-HeaderSize)/2], "", ErrTruncated, "truncated"},
		{"last byte missing", good[:len(good)-1], "", ErrTruncated, "truncated"},
		{"trailing junk", append(append([]byte(nil), good...), 0), "", ErrCorrupt, "unexpected bytes"},
		{"text file", []byte("layers = 4\nsigma = 5\n"), "", ErrNotCheckpoint, "not a nag checkpoint"},
		{"zstd file", mut(func(b []byte) []byte { return b[HeaderSize:] }), "", ErrNotCheckpoint, "magic"},
		{"bit flip payload start", mut(func(b []byte) []byte { b[HeaderSize] ^= 1; return b }), "", ErrChecksum, "checksum"},
		{"bit flip payload end", mut(func(b []byte) []byte { b[len(b)-1] ^= 0x80; return b }), "", ErrChecksum, "checksum"},
		{"bit flip checksum", mut(func(b []byte) []byte { b[40] ^= 4; return b }), "", ErrChecksum, "checksum"},
		{"version 2", setVersion(2), "", ErrVersion, "version 2"},
		{"version 0", setVersion(0), "", ErrVersion, "version 0"},
		{"flags", mut(func(b []byte) []byte { b[12] = 1; return b }), "", ErrVersion, "flags"},
		{"wrong kind", good, "predictor", ErrKind, `"scorenet" checkpoint, want "predictor"`},
	}
	for _, c := range cases {
		got, err := ReadBytes(c.data, c.kind)
		if err == nil || got != nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: error %q, want %v containing %q", c.name, err, c.want, c.msg)
		}
	}
	// A flipped bit anywhere in the file is an error, never a panic or a
	// silently different checkpoint.
	sentinels := []error{ErrNotCheckpoint, ErrVersion, ErrTruncated, ErrChecksum, ErrCorrupt}
	for i := range good {
		b := mut(func(b []byte) []byte { b[i] ^= 1 << (i % 8); return b })
		_, err := ReadBytes(b, "scorenet")
		if err == nil {
			t.Fatalf("flipping bit %d of byte %d went unnoticed", i%8, i)
		}
		ok := false
		for _, s := range sentinels {
			ok = ok || errors.Is(err, s)
		}
		if !ok {
			t.Fatalf("byte %d: unclassified error %v", i, err)
		}
		if i >= 24 && !errors.Is(err, ErrChecksum) {
			t.Fatalf("byte %d (checksum or payload): error %v, want checksum mismatch", i, err)
		}
	}
}

// craft builds a file around a hand-made payload with a valid checksum, to
// exercise the structural checks behind the checksum.
func craft(t *testing.T, header string, data []byte) []byte {
	t.Helper()
	var body bytes.Buffer
	binary.Write(&body, binary.LittleEndian, uint32(len(header)))
	body.WriteString(header)
	body.Write(data)
	var z bytes.Buffer
	zw, _ := zstd.NewWriter(&z)
	zw.Write(body.Bytes())
	zw.Close()
	sum := sha256.Sum256(z.Bytes())
	hdr := make([]byte, HeaderSize)
	putHeader(hdr, uint64(z.Len()), sum[:])
	return append(hdr, z.Bytes()...)
}

func TestStructuralCorruption(t *testing.T) {
	f32 := make([]byte, 8) // two float32 zeros
	for _, c := range []struct {
		name, header string
		data         []byte
		msg          string
	}{
		{"ok", `{"kind":"k","entries":[{"name":"a","dtype":"f32","shape":[2]}]}`, f32, ""},
		{"bad json", `{"kind":"k",`, nil, "header JSON"},
		{"short data", `{"kind":"k","entries":[{"name":"a","dtype":"f32","shape":[3]}]}`, f32, "ends early"},
		{"huge shape", `{"kind":"k","entries":[{"name":"a","dtype":"f32","shape":[1000000000000]}]}`, f32, "ends early"},
		{"overflow shape", `{"kind":"k","entries":[{"name":"a","dtype":"f32","shape":[4294967296,4294967296]}]}`, f32, "too large"},
		{"negative dim", `{"kind":"k","entries":[{"name":"a","dtype":"f32","shape":[-2]}]}`, f32, "negative"},
		{"dtype", `{"kind":"k","entries":[{"name":"a","dtype":"f16","shape":[2]}]}`, f32, "unknown dtype"},
		{"dup name", `{"kind":"k","entries":[{"name":"a","dtype":"f32","shape":[1]},{"name":"a","dtype":"f32","shape":[1]}]}`, f32, "repeated"},
		{"extra data", `{"kind":"k","entries":[{"name":"a","dtype":"f32","shape":[1]}]}`, f32, "after the last entry"},
	} {
		_, err := ReadBytes(craft(t, c.header, c.data), "")
		if c.msg == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: error %v, want ErrCorrupt containing %q", c.name, err, c.msg)
		}
	}
}

func TestWriteValidates(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(c *Checkpoint)
	}{
		{"no kind", func(c *Checkpoint) { c.Kind = "" }},
		{"bad config", func(c *Checkpoint) { c.Config = json.RawMessage(`{"a":`) }},
		{"dup name", func(c *Checkpoint) { c.AddBytes("blob", nil) }},
		{"short data", func(c *Checkpoint) { c.Entries[0].F32 = c.Entries[0].F32[:3] }},
		{"no name", func(c *Checkpoint) { c.AddInts("", []int{1}) }},
	} {
		ck := sample(t)
		c.edit(ck)
		if err := Write(&bytes.Buffer{}, ck); err == nil {
			t.Errorf("%s: Write accepted it", c.name)
		}
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.ckpt")
	c := sample(t)
	if err := WriteFile(path, c); err != nil {
		t.Fatal(err)
	}
	// A failed write leaves the old file intact.
	bad := sample(t)
	bad.Kind = ""
	if err := WriteFile(path, bad); err == nil {
		t.Fatal("invalid checkpoint written")
	}
	c2 := sample(t)
	c2.Step = 99
	if err := WriteFile(path, c2); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(path, "scorenet")
	if err != nil || got.Step != 99 {
		t.Fatalf("after overwrite: step %v, err %v", got, err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != "m.ckpt" {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only m.ckpt (no temp files)", names)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
	if err := WriteFile(filepath.Join(dir, "no", "such", "dir.ckpt"), c); err == nil {
		t.Error("write into a missing directory succeeded")
	}
	if _, err := ReadFile(filepath.Join(dir, "missing.ckpt"), ""); err == nil || !strings.Contains(err.Error(), "missing.ckpt") {
		t.Errorf("missing file: %v", err)
	}
	// Errors from ReadFile name the file.
	os.WriteFile(filepath.Join(dir, "t.ckpt"), []byte("NAGCKPT"), 0o644)
	if _, err := ReadFile(filepath.Join(dir, "t.ckpt"), ""); !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), "t.ckpt") {
		t.Errorf("truncated file: %v", err)
	}
}

func TestParamsAndOptim(t *testing.T) {
	mk := func(seed uint64) []*autograd.Var {
		r := tensor.NewRNG(seed)
		return []*autograd.Var{autograd.Param("l1.weight", tensor.RandN(r, 3, 2)), autograd.Param("l1.bias", tensor.RandN(r, 3))}
	}
	src := mk(1)
	cfg := optim.DefaultConfig()
	o, _ := optim.New(src, cfg)
	for i := 0; i < 3; i++ {
		for _, p := range src {
			p.Grad = tensor.Full(0.5, p.Shape()...)
		}
		if _, err := o.Step(); err != nil {
			t.Fatal(err)
		}
	}
	c := &Checkpoint{Kind: "k"}
	c.AddParams(src)
	c.AddOptim(o)
	got, err := ReadBytes(encode(t, c), "k")
	if err != nil {
		t.Fatal(err)
	}
	dst := mk(2)
	if err := got.LoadParams(dst); err != nil {
		t.Fatal(err)
	}
	for i := range src {
		for j, v := range src[i].Value.Data() {
			if dst[i].Value.Data()[j] != v {
				t.Fatalf("param %d[%d] = %v, want %v", i, j, dst[i].Value.Data()[j], v)
			}
		}
	}
	o2, _ := optim.New(dst, cfg)
	if err := got.LoadOptim(o2); err != nil {
		t.Fatal(err)
	}
	if o2.Steps() != 3 || o2.EMA().Updates() != 3 {
		t.Errorf("counters %d %d", o2.Steps(), o2.EMA().Updates())
	}
	// Mismatched models are refused and left untouched.
	other := []*autograd.Var{autograd.Param("l1.weight", tensor.Zeros(2, 3)), autograd.Param("l1.bias", tensor.Zeros(3))}
	if err := got.LoadParams(other); err == nil || !strings.Contains(err.Error(), "shape") {
		t.Errorf("shape mismatch: %v", err)
	}
	if other[1].Value.Data()[0] != 0 {
		t.Error("partial load on error")
	}
	if err := got.LoadParams(other[1:]); err == nil || !strings.Contains(err.Error(), "not in the model") {
		t.Errorf("extra checkpoint parameter: %v", err)
	}
	missing := append(mk(3), autograd.Param("l2.weight", tensor.Zeros(1)))
	if err := got.LoadParams(missing); err == nil || !strings.Contains(err.Error(), "l2.weight") {
		t.Errorf("missing parameter: %v", err)
	}
	noEMA := cfg
	noEMA.EMADecay = 0
	o3, _ := optim.New(mk(4), noEMA)
	if err := got.LoadOptim(o3); err == nil {
		t.Error("loading EMA state into an optimiser without EMA succeeded")
	}
}

// BenchmarkWriteRead writes and reads a checkpoint of 4M random float32
// values (16 MB, about the parameters + EMA + moments of a 1M-parameter
// model) through memory.
func BenchmarkWriteRead(b *testing.B) {
	c := &Checkpoint{Kind: "bench"}
	c.AddTensor("params.w", tensor.RandN(tensor.NewRNG(1), 2048, 2048))
	b.SetBytes(4 * 2048 * 2048)
	var buf bytes.Buffer
	for i := 0; i < b.N; i++ {
		buf.Reset()
		if err := Write(&buf, c); err != nil {
			b.Fatal(err)
		}
		if _, err := ReadBytes(buf.Bytes(), "bench"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len())/(4*2048*2048), "compressed/raw")
}
