package safetensors

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"github.com/nagml/nag/internal/shareddata"
	"path/filepath"
	"strings"
	"testing"
)

// dataRoot finds the shared data folder (NAG_DATA, else ../shared/data next
// to the repository root) or skips.
func dataRoot(t *testing.T) string { return shareddata.Root(t) }

func encode(t testing.TB, ts []Named, meta map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, ts, meta); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTripPlainAndGzip(t *testing.T) {
	ts := []Named{
		{Name: "a", Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, -6.5}},
		{Name: "b.bias", Shape: []int{1}, Data: []float32{0.25}},
		{Name: "empty", Shape: []int{0, 4}, Data: nil},
	}
	raw := encode(t, ts, map[string]string{"arch": "x"})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	for name, b := range map[string][]byte{"plain": raw, "gzip": gz.Bytes()} {
		t.Run(name, func(t *testing.T) {
			f, err := Read(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(f.Names(), ","); got != "a,b.bias,empty" {
				t.Fatalf("names %s", got)
			}
			if f.Metadata["arch"] != "x" {
				t.Fatalf("metadata %v", f.Metadata)
			}
			v, shape, err := f.Float32("a")
			if err != nil {
				t.Fatal(err)
			}
			if len(shape) != 2 || shape[0] != 2 || shape[1] != 3 || v[5] != -6.5 || v[0] != 1 {
				t.Fatalf("a = %v %v", v, shape)
			}
			tt, err := f.Tensor("b.bias")
			if err != nil || tt.At(0) != 0.25 {
				t.Fatalf("b.bias = %v, %v", tt, err)
			}
			if _, _, err := f.Float32("missing"); err == nil {
				t.Fatal("missing tensor gave no error")
			}
		})
	}
}

func TestHeaderPaddedToEight(t *testing.T) {
	raw := encode(t, []Named{{Name: "x", Shape: []int{1}, Data: []float32{1}}}, nil)
	if n := binary.LittleEndian.Uint64(raw); n%8 != 0 {
		t.Fatalf("header length %d not a multiple of 8", n)
	}
}

func TestHalfAndBFloat(t *testing.T) {
	// F16: 1.0 = 0x3c00, -2.0 = 0xc000, 65504 = 0x7bff, smallest subnormal 0x0001 = 2^-24.
	// BF16: 1.0 = 0x3f80, -0.5 = 0xbf00.
	hdr := `{"h":{"dtype":"F16","shape":[4],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]}}`
	var buf bytes.Buffer
	binary.Write(&buf, binary.LittleEndian, uint64(len(hdr)))
	buf.WriteString(hdr)
	binary.Write(&buf, binary.LittleEndian, []uint16{0x3c00, 0xc000, 0x7bff, 0x0001, 0x3f80, 0xbf00})
	f, err := Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	h, _, _ := f.Float32("h")
	want := []float32{1, -2, 65504, 1.0 / (1 << 24)}
	for i := range want {
		if h[i] != want[i] {
			t.Fatalf("F16 %d: got %g want %g", i, h[i], want[i])
		}
	}
	b, _, _ := f.Float32("b")
	if b[0] != 1 || b[1] != -0.5 {
		t.Fatalf("BF16 %v", b)
	}
}

func TestCorruptFiles(t *testing.T) {
	good := encode(t, []Named{{Name: "w", Shape: []int{4}, Data: []float32{1, 2, 3, 4}}}, nil)
	mk := func(hdr string, dataBytes int) []byte {
		var buf bytes.Buffer
		binary.Write(&buf, binary.LittleEndian, uint64(len(hdr)))
		buf.WriteString(hdr)
		buf.Write(make([]byte, dataBytes))
		return buf.Bytes()
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(good)
	zw.Close()
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"short", good[:5], "shorter than the 8-byte"},
		{"truncated header", good[:20], "truncated"},
		{"truncated data", good[:len(good)-3], "out of range"},
		{"huge header length", append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0}, good[8:]...), "exceeds"},
		{"bad json", mk(`{"w":`, 0), "header JSON"},
		{"unknown dtype", mk(`{"w":{"dtype":"Q7","shape":[1],"data_offsets":[0,4]}}`, 4), "unknown dtype"},
		{"offsets out of range", mk(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, 8), "out of range"},
		{"size mismatch", mk(`{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, 8), "needs 12"},
		{"reversed offsets", mk(`{"w":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}}`, 8), "bad data_offsets"},
		{"negative dim", mk(`{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, 4), "negative dimension"},
		{"one offset", mk(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}}`, 4), "data_offsets must be"},
		{"bad metadata", mk(`{"__metadata__":{"a":1}}`, 0), "__metadata__"},
		{"truncated gzip", gz.Bytes()[:gz.Len()/2], "gzip"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Read(bytes.NewReader(c.b))
			if err == nil {
				t.Fatalf("no error, want %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not mention %q", err, c.want)
			}
		})
	}
}

func TestOpenMissingFile(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "nope.safetensors"))
	if err == nil || !strings.Contains(err.Error(), "nope.safetensors") {
		t.Fatalf("err = %v", err)
	}
}

func TestSharedWeights(t *testing.T) {
	root := dataRoot(t)
	cases := []struct {
		path, name string
		shape      []int
		count      int
	}{
		{"weights/resnet-cifar10/resnet20.safetensors", "conv1.weight", []int{16, 3, 3, 3}, 0},
		{"weights/resnet-cifar10/resnet20.safetensors", "layer3.2.bn2.running_var", []int{64}, 0},
		{"weights/mobilenetv2-imagenet/mobilenet_v2_1.0_224.safetensors.gz", "w003", []int{32, 3, 3, 32 / 32 * 3}, 106},
	}
	for _, c := range cases {
		f, err := Open(filepath.Join(root, c.path))
		if err != nil {
			t.Fatal(err)
		}
		info, ok := f.Info(c.name)
		if !ok {
			t.Fatalf("%s: no %s", c.path, c.name)
		}
		if info.DType != "F32" || len(info.Shape) != len(c.shape) {
			t.Fatalf("%s %s: %+v", c.path, c.name, info)
		}
		for i := range c.shape {
			if info.Shape[i] != c.shape[i] {
				t.Fatalf("%s %s: shape %v want %v", c.path, c.name, info.Shape, c.shape)
			}
		}
		if c.count > 0 && len(f.Names()) != c.count {
			t.Fatalf("%s: %d tensors, want %d", c.path, len(f.Names()), c.count)
		}
		v, _, err := f.Float32(c.name)
		if err != nil {
			t.Fatal(err)
		}
		var nz int
		for _, x := range v {
			if x != 0 {
				nz++
			}
		}
		if nz == 0 {
			t.Fatalf("%s %s: all zero", c.path, c.name)
		}
	}
}
