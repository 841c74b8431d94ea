package safetensors

import (
	"bytes"
	"compress/gzip"
	"testing"
)

// FuzzParse: arbitrary bytes (plain or gzip) either parse or return an
// error; a parsed file's tensors read without panicking.
func FuzzParse(f *testing.F) {
	good := encode(f, []Named{
		{Name: "w", Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}},
		{Name: "b", Shape: []int{3}, Data: []float32{-1, 0, 1}},
	}, map[string]string{"format": "pt"})
	f.Add(good)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(good)
	zw.Close()
	f.Add(gz.Bytes())
	f.Add(good[:12])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Parse(b)
		if err != nil {
			return
		}
		for _, name := range file.Names() {
			_, _, _ = file.Float32(name)
			_, _ = file.Tensor(name)
		}
	})
}
