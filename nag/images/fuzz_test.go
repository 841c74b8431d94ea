package images

import (
	"bytes"
	"testing"
)

// FuzzDecodeU8IMG: arbitrary bytes (plain or gzip) are either a valid image
// set or an error, never a panic or an allocation the data cannot back.
func FuzzDecodeU8IMG(f *testing.F) {
	hdr := `{"n":2,"h":1,"w":2,"c":3,"layout":"NHWC","pixel_dtype":"uint8","label_dtype":"uint16le","num_classes":2,"class_names":["a","b"]}`
	body := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 0, 0, 0}
	f.Add(u8File(hdr, body, false))
	f.Add(u8File(hdr, body, true))
	f.Add(u8File(hdr, body[:5], false))
	f.Add([]byte("U8IMG1\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeU8IMG(bytes.NewReader(b))
		if err != nil {
			return
		}
		if len(s.Images) != len(s.Labels) {
			t.Fatalf("%d images, %d labels", len(s.Images), len(s.Labels))
		}
	})
}
