package images

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"github.com/nagml/nag/internal/shareddata"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func dataRoot(t *testing.T) string { return shareddata.Root(t) }

func TestReadPackagedSets(t *testing.T) {
	root := dataRoot(t)
	cases := []struct {
		file             string
		n, h, classes    int
		firstLabel       int
		perClass         []int
		firstClass, last string
	}{
		{"images/cifar10-test-20pc/cifar10_test_20pc.u8img.gz", 200, 32, 10, 0,
			[]int{20, 20, 20, 20, 20, 20, 20, 20, 20, 20}, "airplane", "truck"},
		{"images/cifar10-test-first100-lossless/cifar10_test_first100.u8img.gz", 100, 32, 10, 3,
			[]int{10, 6, 8, 10, 7, 8, 16, 11, 13, 11}, "airplane", "truck"},
		{"images/coral-test-224/coral_test_224.u8img.gz", 8, 224, 1, 0, []int{8}, "", ""},
		{"images/cifar100-eran-100/cifar100_eran_100.u8img.gz", 100, 32, 100, -1, nil, "apple", "worm"},
	}
	for _, c := range cases {
		s, err := Read(filepath.Join(root, c.file))
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Images) != c.n || len(s.ClassNames) != c.classes || s.Images[0].H != c.h || s.Images[0].W != c.h {
			t.Fatalf("%s: %d images %dx%d, %d classes", c.file, len(s.Images), s.Images[0].H, s.Images[0].W, len(s.ClassNames))
		}
		if c.firstLabel >= 0 && s.Labels[0] != c.firstLabel {
			t.Errorf("%s: first label %d want %d", c.file, s.Labels[0], c.firstLabel)
		}
		if c.perClass != nil {
			for k, idx := range s.ByClass() {
				if len(idx) != c.perClass[k] {
					t.Errorf("%s: class %d has %d images, want %d", c.file, k, len(idx), c.perClass[k])
				}
			}
		}
		if c.firstClass != "" && (s.ClassNames[0] != c.firstClass || s.ClassNames[len(s.ClassNames)-1] != c.last) {
			t.Errorf("%s: classes %s..%s", c.file, s.ClassNames[0], s.ClassNames[len(s.ClassNames)-1])
		}
		var sum int
		for _, p := range s.Images[c.n-1].Pix {
			sum += int(p)
		}
		if sum == 0 {
			t.Errorf("%s: last image is black", c.file)
		}
	}
}

func u8File(hdr string, body []byte, gz bool) []byte {
	var b bytes.Buffer
	b.WriteString("U8IMG1\x00\x00")
	binary.Write(&b, binary.LittleEndian, uint32(len(hdr)))
	b.WriteString(hdr)
	b.Write(body)
	if !gz {
		return b.Bytes()
	}
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	w.Write(b.Bytes())
	w.Close()
	return z.Bytes()
}

func TestDecodeU8IMG(t *testing.T) {
	hdr := `{"n":2,"h":1,"w":2,"c":3,"layout":"NHWC","pixel_dtype":"uint8","label_dtype":"uint16le","num_classes":2,"class_names":["a","b"]}`
	body := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 0, 0, 0}
	s, err := DecodeU8IMG(bytes.NewReader(u8File(hdr, body, true)))
	if err != nil {
		t.Fatal(err)
	}
	if s.Labels[0] != 1 || s.Labels[1] != 0 || s.Images[1].Pix[5] != 12 || s.Images[0].W != 2 {
		t.Fatalf("decoded %+v", s)
	}
	bad := []struct {
		name string
		b    []byte
		want string
	}{
		{"magic", []byte("PNG....xxxxxxxx"), "bad magic"},
		{"short body", u8File(hdr, body[:10], false), "body is 10 bytes"},
		{"header len", u8File(hdr, body, false)[:20], "truncated"},
		{"label range", u8File(hdr, append(body[:12:12], 5, 0, 0, 0), false), "label 5 out of range"},
		{"channels", u8File(strings.Replace(hdr, `"c":3`, `"c":1`, 1), body, false), "channels"},
		{"class count", u8File(strings.Replace(hdr, `"num_classes":2`, `"num_classes":3`, 1), body, false), "num_classes"},
		{"json", u8File(`{"n":`, nil, false), "header JSON"},
		// 1·2^32·2^32·3 pixels wrap to 0 in 64-bit ints: a 2-byte body (one
		// label) must not pass as one 2^32 x 2^32 image without pixels.
		{"overflowing size", u8File(strings.NewReplacer(`"n":2`, `"n":1`, `"h":1`, `"h":4294967296`, `"w":2`, `"w":4294967296`).Replace(hdr), []byte{0, 0}, false), "too short"},
	}
	for _, c := range bad {
		_, err := DecodeU8IMG(bytes.NewReader(c.b))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", c.name, err, c.want)
		}
	}
}

func writeImage(t *testing.T, path string, col color.NRGBA, asJPEG bool) {
	t.Helper()
	m := image.NewNRGBA(image.Rect(0, 0, 4, 3))
	for y := 0; y < 3; y++ {
		for x := 0; x < 4; x++ {
			m.Set(x, y, col)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if asJPEG {
		err = jpeg.Encode(f, m, &jpeg.Options{Quality: 100})
	} else {
		err = png.Encode(f, m)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestReadFolder(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "cats"), 0o755)
	os.MkdirAll(filepath.Join(dir, "dogs"), 0o755)
	writeImage(t, filepath.Join(dir, "cats", "b.png"), color.NRGBA{200, 10, 30, 255}, false)
	writeImage(t, filepath.Join(dir, "cats", "a.PNG"), color.NRGBA{1, 2, 3, 128}, false)
	writeImage(t, filepath.Join(dir, "dogs", "x.jpg"), color.NRGBA{128, 128, 128, 255}, true)
	os.WriteFile(filepath.Join(dir, "dogs", "notes.txt"), []byte("ignored"), 0o644)
	s, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(s.ClassNames, ",") != "cats,dogs" || len(s.Images) != 3 || s.Labels[2] != 1 {
		t.Fatalf("classes %v, %d images, labels %v", s.ClassNames, len(s.Images), s.Labels)
	}
	if !strings.HasSuffix(s.Sources[0], "a.PNG") {
		t.Errorf("files not sorted: %v", s.Sources)
	}
	// PNG with alpha: colour kept un-premultiplied, alpha dropped.
	if p := s.Images[0].Pix; p[0] != 1 || p[1] != 2 || p[2] != 3 || s.Images[0].H != 3 || s.Images[0].W != 4 {
		t.Errorf("a.PNG pixel %v", p[:3])
	}
	if p := s.Images[1].Pix; p[0] != 200 || p[1] != 10 || p[2] != 30 {
		t.Errorf("b.png pixel %v", p[:3])
	}
	for _, v := range s.Images[2].Pix[:3] { // JPEG: grey within a level or two
		if v < 126 || v > 130 {
			t.Errorf("x.jpg pixel %v", s.Images[2].Pix[:3])
		}
	}

	// Errors: empty class, unreadable image, no classes, missing path.
	empty := t.TempDir()
	os.MkdirAll(filepath.Join(empty, "none"), 0o755)
	broken := t.TempDir()
	os.MkdirAll(filepath.Join(broken, "c"), 0o755)
	os.WriteFile(filepath.Join(broken, "c", "bad.png"), []byte("not a png"), 0o644)
	flat := t.TempDir()
	os.WriteFile(filepath.Join(flat, "x.png"), nil, 0o644)
	for _, c := range []struct{ path, want string }{
		{empty, "has no .png"},
		{broken, "unreadable image"},
		{flat, "no class sub-folders"},
		{filepath.Join(flat, "missing"), "no such file"},
	} {
		_, err := Read(c.path)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", c.path, err, c.want)
		}
	}
}

func row(vals ...uint8) Image {
	m := Image{H: 1, W: len(vals), Pix: make([]uint8, 3*len(vals))}
	for i, v := range vals {
		m.Pix[3*i], m.Pix[3*i+1], m.Pix[3*i+2] = v, v, v
	}
	return m
}

func TestResize(t *testing.T) {
	cases := []struct {
		name string
		in   Image
		ow   int
		mode ResizeMode
		want []float32
	}{
		// Upsampling: Pillow's triangle filter equals half-pixel bilinear.
		{"pillow up", row(0, 100), 4, ResizePillow, []float32{0, 25, 75, 100}},
		{"half-pixel up", row(0, 100), 4, ResizeHalfPixel, []float32{0, 25, 75, 100}},
		{"align-corners up", row(0, 90), 4, ResizeAlignCorners, []float32{0, 30, 60, 90}},
		// Downsampling: Pillow widens the filter (antialias): taps
		// 0.75/0.75/0.25 normalised, rounded to uint8; torch-style does not.
		{"pillow down", row(0, 40, 80, 120), 2, ResizePillow, []float32{29, 91}},
		{"half-pixel down", row(0, 40, 80, 120), 2, ResizeHalfPixel, []float32{20, 100}},
		{"align-corners down", row(0, 40, 80, 120), 2, ResizeAlignCorners, []float32{0, 120}},
		{"pillow rounds", row(0, 1), 4, ResizePillow, []float32{0, 0, 1, 1}},
	}
	for _, c := range cases {
		got := Resize(c.in, 1, c.ow, c.mode)
		for i, w := range c.want {
			for ch := 0; ch < 3; ch++ {
				if math.Abs(float64(got.Pix[3*i+ch]-w)) > 1e-4 {
					t.Errorf("%s: got %v want %v", c.name, got.Pix, c.want)
				}
			}
		}
	}
	// A constant image stays constant for every mode and direction.
	c := Image{H: 5, W: 7, Pix: bytes.Repeat([]byte{77}, 5*7*3)}
	for _, mode := range []ResizeMode{ResizePillow, ResizeHalfPixel, ResizeAlignCorners} {
		for _, sz := range [][2]int{{3, 2}, {16, 9}, {5, 7}} {
			r := Resize(c, sz[0], sz[1], mode)
			for _, v := range r.Pix {
				if math.Abs(float64(v-77)) > 1e-4 {
					t.Fatalf("%v %v: constant image changed to %v", mode, sz, v)
				}
			}
		}
	}
	if _, err := ParseResizeMode("bicubic"); err == nil {
		t.Error("ParseResizeMode accepted bicubic")
	}
	if m, err := ParseResizeMode("half-pixel"); err != nil || m != ResizeHalfPixel {
		t.Errorf("ParseResizeMode(half-pixel) = %v, %v", m, err)
	}
}

func TestCenterCropAndTensor(t *testing.T) {
	m := Image{H: 8, W: 8, Pix: make([]uint8, 8*8*3)}
	for y := 0; y < 8; y++ {
		for x := 0; x < 8; x++ {
			m.Pix[(y*8+x)*3] = uint8(10*y + x)
		}
	}
	c, err := CenterCrop(m, 0.875) // 7x7 at offset (0, 0)
	if err != nil || c.H != 7 || c.W != 7 || c.Pix[0] != 0 || c.Pix[(6*7+6)*3] != 66 {
		t.Fatalf("crop %dx%d %v", c.H, c.W, err)
	}
	c, _ = CenterCrop(m, 0.5) // 4x4 at offset (2, 2)
	if c.Pix[0] != 22 || c.Pix[(3*4+3)*3] != 55 {
		t.Fatalf("crop 0.5: %d %d", c.Pix[0], c.Pix[(3*4+3)*3])
	}
	if _, err := CenterCrop(m, 0); err == nil {
		t.Error("crop 0 accepted")
	}
	n := MeanStdNorm([3]float32{0.5, 0.5, 0.5}, [3]float32{0.25, 0.5, 1})
	x, err := ToTensor([]FloatImage{{H: 1, W: 2, Pix: []float32{255, 0, 127.5, 0, 255, 255}}}, n)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{2, -2, -1, 1, 0, 0.5} // [1, 3, 1, 2] NCHW
	for i, w := range want {
		if math.Abs(float64(x.Data()[i]-w)) > 1e-6 {
			t.Fatalf("ToTensor = %v, want %v", x.Data(), want)
		}
	}
	if _, err := ToTensor([]FloatImage{{H: 1, W: 1, Pix: make([]float32, 3)}, {H: 2, W: 1, Pix: make([]float32, 6)}}, n); err == nil {
		t.Error("mixed sizes accepted")
	}
}
