package ckpt

import (
	"bytes"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// FuzzDecodePayload feeds arbitrary decompressed payloads (JSON header
// length, header, entry data) to the checkpoint parser behind the checksum:
// it must return a checkpoint or an error, never panic or allocate without
// bound. Each input is zstd-compressed first, as in a file.
func FuzzDecodePayload(f *testing.F) {
	valid := encodeSample(f)
	zr, err := zstd.NewReader(bytes.NewReader(valid[HeaderSize:]))
	if err != nil {
		f.Fatal(err)
	}
	raw, err := zr.DecodeAll(valid[HeaderSize:], nil)
	zr.Close()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add(raw[:len(raw)/2])
	f.Add([]byte{})
	f.Add([]byte{2, 0, 0, 0, '{', '}'})
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := decodePayload(enc.EncodeAll(raw, nil), "")
		if err == nil && c == nil {
			t.Fatal("nil checkpoint without an error")
		}
	})
}

// FuzzReadBytes: whole files, header and checksum included.
func FuzzReadBytes(f *testing.F) {
	valid := encodeSample(f)
	f.Add(valid)
	f.Add(valid[:HeaderSize+3])
	f.Add([]byte(Magic))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ReadBytes(b, "")
		if err == nil && c == nil {
			t.Fatal("nil checkpoint without an error")
		}
	})
}

// encodeSample is sample() written to bytes, for fuzz seeds.
func encodeSample(f *testing.F) []byte {
	var buf bytes.Buffer
	if err := Write(&buf, sample(f)); err != nil {
		f.Fatal(err)
	}
	return buf.Bytes()
}
