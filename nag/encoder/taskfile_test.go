package encoder

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nagml/nag/nag/images"
	"github.com/nagml/nag/tensor"
)

// meanExtractor is a stand-in model: its 3 features are the per-channel
// means of the normalised input, its logits the same values negated.
type meanExtractor struct{}

func (meanExtractor) Name() string      { return "mean" }
func (meanExtractor) FeatureDim() int   { return 3 }
func (meanExtractor) NumClasses() int   { return 3 }
func (meanExtractor) InputSize() int    { return 4 }
func (meanExtractor) Norm() images.Norm { return images.Norm{Scale: [3]float32{1, 1, 1}} }
func (meanExtractor) Forward(x *tensor.Tensor) (*tensor.Tensor, *tensor.Tensor) {
	f := tensor.GlobalAvgPool2D(x)
	return f, tensor.Scale(f, -1)
}

// toySet has classes a (3 images), b (2 images); image k of the set is a
// constant image of grey level 10*k.
func toySet() *images.Set {
	s := &images.Set{Name: "toy", ClassNames: []string{"a", "b"}}
	for k, lab := range []int{0, 1, 0, 1, 0} {
		m := images.Image{H: 2, W: 2, Pix: make([]uint8, 12)}
		for i := range m.Pix {
			m.Pix[i] = uint8(10 * k)
		}
		s.Images = append(s.Images, m)
		s.Labels = append(s.Labels, lab)
		s.Sources = append(s.Sources, "img"+string(rune('0'+k)))
	}
	return s
}

func TestEncodeDatasetSampling(t *testing.T) {
	s := toySet()
	d, err := EncodeDataset(meanExtractor{}, s, SampleOptions{PerClass: 2, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	if d.Format != DatasetFeaturesFormat || d.Model != "mean" || d.InputSize != 4 || d.FeatureDim != 3 || len(d.Classes) != 2 {
		t.Fatalf("header %+v", d)
	}
	for ci, c := range d.Classes {
		if c.Name != s.ClassNames[ci] || len(c.Features) != 2 || len(c.Images) != 2 || c.Images[0] == c.Images[1] {
			t.Fatalf("class %d: %+v", ci, c)
		}
		for j, row := range c.Features {
			k := int(c.Images[j][3] - '0') // source "imgK"
			if s.Labels[k] != ci {
				t.Errorf("class %s got image %d of class %d", c.Name, k, s.Labels[k])
			}
			for _, v := range row { // constant image: every feature = its grey level
				if v != float32(10*k) {
					t.Errorf("class %s image %d: feature %v, want %d", c.Name, k, row, 10*k)
				}
			}
		}
	}
	again, _ := EncodeDataset(meanExtractor{}, s, SampleOptions{PerClass: 2, Seed: 5})
	if strings.Join(again.Classes[0].Images, ",") != strings.Join(d.Classes[0].Images, ",") {
		t.Error("same seed drew different images")
	}
	same := true
	for seed := uint64(0); seed < 20 && same; seed++ {
		o, _ := EncodeDataset(meanExtractor{}, s, SampleOptions{PerClass: 2, Seed: seed})
		same = strings.Join(o.Classes[0].Images, ",") == strings.Join(d.Classes[0].Images, ",")
	}
	if same {
		t.Error("20 seeds all drew the same images of class a")
	}
	tt := d.Tensor()
	if !tensor.EqualInts(tt.Shape(), []int{2, 2, 3}) || tt.At(1, 1, 2) != d.Classes[1].Features[1][2] {
		t.Errorf("Tensor %v", tt)
	}

	_, err = EncodeDataset(meanExtractor{}, s, SampleOptions{PerClass: 3})
	if err == nil || !strings.Contains(err.Error(), "b has 2") || !strings.Contains(err.Error(), "fewer than 3") {
		t.Errorf("too few images: %v", err)
	}
	s.ClassNames = append(s.ClassNames, "c")
	_, err = EncodeDataset(meanExtractor{}, s, SampleOptions{PerClass: 1})
	if err == nil || !strings.Contains(err.Error(), "c has 0") {
		t.Errorf("empty class: %v", err)
	}
}

func TestDatasetFeaturesFile(t *testing.T) {
	d, err := EncodeDataset(meanExtractor{}, toySet(), SampleOptions{PerClass: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, name := range []string{"f.json", "f.json.gz"} {
		p := filepath.Join(dir, name)
		if err := WriteDatasetFeatures(p, d); err != nil {
			t.Fatal(err)
		}
		raw, _ := os.ReadFile(p)
		if gz := raw[0] == 0x1f && raw[1] == 0x8b; gz != strings.HasSuffix(name, ".gz") {
			t.Errorf("%s: gzip = %v", name, gz)
		}
		r, err := ReadDatasetFeatures(p)
		if err != nil {
			t.Fatal(err)
		}
		if r.Dataset != "toy" || r.PerClass != 2 || r.Classes[1].Features[1][0] != d.Classes[1].Features[1][0] || r.Resize != "pillow" {
			t.Errorf("%s: round trip %+v", name, r)
		}
	}
	bad := []struct {
		edit func(*DatasetFeatures)
		want string
	}{
		{func(d *DatasetFeatures) { d.Format = "x" }, "format"},
		{func(d *DatasetFeatures) { d.Classes = nil }, "no classes"},
		{func(d *DatasetFeatures) { d.Classes[0].Features = d.Classes[0].Features[:1] }, "want per_class 2"},
		{func(d *DatasetFeatures) { d.Classes[1].Features[0] = []float32{1} }, "want feature_dim 3"},
		{func(d *DatasetFeatures) { d.Classes[0].Images = []string{"x"} }, "image names"},
	}
	for _, c := range bad {
		cp, _ := EncodeDataset(meanExtractor{}, toySet(), SampleOptions{PerClass: 2, Seed: 1})
		c.edit(cp)
		err := WriteDatasetFeatures(filepath.Join(dir, "bad.json"), cp)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want %q, got %v", c.want, err)
		}
	}
	os.WriteFile(filepath.Join(dir, "trunc.json"), []byte(`{"format":"nag-dataset-features/1","classes":[`), 0o644)
	if _, err := ReadDatasetFeatures(filepath.Join(dir, "trunc.json")); err == nil || !strings.Contains(err.Error(), "JSON") {
		t.Errorf("truncated file: %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.safetensors")
	os.WriteFile(junk, []byte("12345678garbage"), 0o644)
	for _, c := range []struct{ model, path, want string }{
		{"resnet18", dir, "unknown model"},
		{"resnet20", filepath.Join(dir, "missing"), "no such file"},
		{"resnet20", junk, "header length"},
		{"mobilenetv2", junk, "no graph.json"},
	} {
		_, err := Load(c.model, c.path)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Load(%s, %s): %v, want %q", c.model, c.path, err, c.want)
		}
	}
}
