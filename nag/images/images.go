// Package images reads labelled image sets for the dataset encoder: U8IMG1
// files (the packaged sets under shared/data/images, format in that folder's
// README) and ordinary folders with one sub-folder of PNG/JPEG/BMP/GIF files
// per class. It also resizes (Pillow-compatible bilinear, or PyTorch-style
// interpolation), centre-crops and normalises images into NCHW float32
// tensors.
package images

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/gif"  // decoder registration
	_ "image/jpeg" // decoder registration
	_ "image/png"  // decoder registration
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	_ "golang.org/x/image/bmp" // decoder registration
)

// Image is one RGB image, 8 bits per channel, stored row-major HWC.
type Image struct {
	H, W int
	Pix  []uint8 // len H*W*3: ((y*W)+x)*3 + channel
}

// Set is a labelled collection of images.
type Set struct {
	Name       string   // a short name (file or folder base name)
	Images     []Image  //
	Labels     []int    // index into ClassNames, one per image
	ClassNames []string //
	// Sources identifies each image (file path, or "file#index").
	Sources []string
	// Note is the U8IMG1 header note, if any.
	Note string
}

// ByClass returns the image indices of each class, in set order.
func (s *Set) ByClass() [][]int {
	out := make([][]int, len(s.ClassNames))
	for i, l := range s.Labels {
		out[l] = append(out[l], i)
	}
	return out
}

// u8Magic starts every decompressed U8IMG1 stream.
var u8Magic = []byte("U8IMG1\x00\x00")

type u8Header struct {
	N          int      `json:"n"`
	H          int      `json:"h"`
	W          int      `json:"w"`
	C          int      `json:"c"`
	Layout     string   `json:"layout"`
	PixelDType string   `json:"pixel_dtype"`
	LabelDType string   `json:"label_dtype"`
	NumClasses int      `json:"num_classes"`
	ClassNames []string `json:"class_names"`
	Note       string   `json:"note"`
}

// ReadU8IMG reads a gzip-compressed U8IMG1 file.
func ReadU8IMG(path string) (*Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	defer f.Close()
	s, err := DecodeU8IMG(f)
	if err != nil {
		return nil, fmt.Errorf("images: %s: %w", path, err)
	}
	s.Name = strings.TrimSuffix(strings.TrimSuffix(filepath.Base(path), ".gz"), ".u8img")
	for i := range s.Sources {
		s.Sources[i] = fmt.Sprintf("%s#%d", filepath.Base(path), i)
	}
	return s, nil
}

// DecodeU8IMG decodes a U8IMG1 stream (gzip-compressed, or already
// decompressed).
func DecodeU8IMG(r io.Reader) (*Set, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		b, err = io.ReadAll(zr)
		if err != nil {
			return nil, fmt.Errorf("gzip stream: %w", err)
		}
	}
	if len(b) < 12 || !bytes.Equal(b[:8], u8Magic) {
		return nil, errors.New("not a U8IMG1 file (bad magic)")
	}
	l := binary.LittleEndian.Uint32(b[8:12])
	if uint64(l) > uint64(len(b)-12) {
		return nil, fmt.Errorf("truncated: header length %d, %d bytes follow", l, len(b)-12)
	}
	var h u8Header
	if err := json.Unmarshal(b[12:12+l], &h); err != nil {
		return nil, fmt.Errorf("header JSON: %w", err)
	}
	switch {
	case h.N < 0 || h.H <= 0 || h.W <= 0:
		return nil, fmt.Errorf("bad image count or size n=%d h=%d w=%d", h.N, h.H, h.W)
	case h.C != 3:
		return nil, fmt.Errorf("%d channels; only RGB (c=3) is supported", h.C)
	case h.Layout != "" && h.Layout != "NHWC":
		return nil, fmt.Errorf("layout %q; only NHWC is supported", h.Layout)
	case h.PixelDType != "" && h.PixelDType != "uint8":
		return nil, fmt.Errorf("pixel dtype %q; only uint8 is supported", h.PixelDType)
	case h.LabelDType != "" && h.LabelDType != "uint16le":
		return nil, fmt.Errorf("label dtype %q; only uint16le is supported", h.LabelDType)
	case h.NumClasses != len(h.ClassNames):
		return nil, fmt.Errorf("num_classes %d but %d class names", h.NumClasses, len(h.ClassNames))
	}
	body := b[12+l:]
	// Sizes the body cannot hold are refused before multiplying (a corrupt
	// header must not overflow the products below).
	if h.W > len(body)/h.H/h.C || h.N > len(body)/(h.H*h.W*h.C+2) {
		return nil, fmt.Errorf("body is %d bytes, too short for %d images of %dx%dx%d plus labels", len(body), h.N, h.H, h.W, h.C)
	}
	npix := h.N * h.H * h.W * h.C
	if want := npix + 2*h.N; len(body) != want {
		return nil, fmt.Errorf("body is %d bytes, want %d (%d images of %dx%dx%d plus labels)", len(body), want, h.N, h.H, h.W, h.C)
	}
	s := &Set{ClassNames: h.ClassNames, Note: h.Note, Images: make([]Image, h.N), Labels: make([]int, h.N), Sources: make([]string, h.N)}
	per := h.H * h.W * h.C
	for i := range s.Images {
		s.Images[i] = Image{H: h.H, W: h.W, Pix: body[i*per : (i+1)*per : (i+1)*per]}
		lab := int(binary.LittleEndian.Uint16(body[npix+2*i:]))
		if lab >= len(h.ClassNames) {
			return nil, fmt.Errorf("image %d: label %d out of range (%d classes)", i, lab, len(h.ClassNames))
		}
		s.Labels[i] = lab
		s.Sources[i] = fmt.Sprintf("#%d", i)
	}
	return s, nil
}

// imageExts are the file extensions ReadFolder decodes.
var imageExts = map[string]bool{".png": true, ".jpg": true, ".jpeg": true, ".bmp": true, ".gif": true}

// ReadFolder reads dir/class_name/*.{png,jpg,jpeg,bmp,gif}: one class per
// sub-folder, classes and files in sorted order. Other files are ignored.
// An unreadable image, an empty class folder or a folder without classes is
// an error naming the path.
func ReadFolder(dir string) (*Set, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	s := &Set{Name: filepath.Base(filepath.Clean(dir))}
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		cdir := filepath.Join(dir, e.Name())
		files, err := os.ReadDir(cdir)
		if err != nil {
			return nil, fmt.Errorf("images: %w", err)
		}
		var names []string
		for _, f := range files {
			if !f.IsDir() && imageExts[strings.ToLower(filepath.Ext(f.Name()))] {
				names = append(names, f.Name())
			}
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("images: class folder %s has no .png/.jpg/.jpeg/.bmp/.gif images", cdir)
		}
		sort.Strings(names)
		label := len(s.ClassNames)
		s.ClassNames = append(s.ClassNames, e.Name())
		for _, n := range names {
			p := filepath.Join(cdir, n)
			img, err := DecodeFile(p)
			if err != nil {
				return nil, err
			}
			s.Images = append(s.Images, img)
			s.Labels = append(s.Labels, label)
			s.Sources = append(s.Sources, p)
		}
	}
	if len(s.ClassNames) == 0 {
		return nil, fmt.Errorf("images: %s has no class sub-folders (want DIR/class_name/*.png|jpg)", dir)
	}
	return s, nil
}

// Read reads a U8IMG1 file or, when path is a directory, an image folder.
func Read(path string) (*Set, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	if st.IsDir() {
		return ReadFolder(path)
	}
	return ReadU8IMG(path)
}

// DecodeFile decodes one image file to RGB (alpha is dropped, like
// Pillow's convert("RGB")).
func DecodeFile(path string) (Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return Image{}, fmt.Errorf("images: %w", err)
	}
	defer f.Close()
	m, _, err := image.Decode(f)
	if err != nil {
		return Image{}, fmt.Errorf("images: unreadable image %s: %w", path, err)
	}
	return FromImage(m), nil
}

// FromImage converts a decoded image to RGB.
func FromImage(m image.Image) Image {
	b := m.Bounds()
	out := Image{H: b.Dy(), W: b.Dx(), Pix: make([]uint8, b.Dx()*b.Dy()*3)}
	i := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			var r, g, bl uint8
			switch c := m.At(x, y).(type) {
			case color.YCbCr:
				r, g, bl = color.YCbCrToRGB(c.Y, c.Cb, c.Cr)
			case color.Gray:
				r, g, bl = c.Y, c.Y, c.Y
			default:
				n := color.NRGBAModel.Convert(c).(color.NRGBA)
				r, g, bl = n.R, n.G, n.B
			}
			out.Pix[i], out.Pix[i+1], out.Pix[i+2] = r, g, bl
			i += 3
		}
	}
	return out
}
