package encoder

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/nagml/nag/nag/images"
	"github.com/nagml/nag/tensor"
)

// DatasetFeaturesFormat is the format tag of a dataset-features file.
const DatasetFeaturesFormat = "nag-dataset-features/1"

// DatasetFeatures is a dataset encoding: per class, a fixed number of
// feature vectors of sampled images. It is the input of the meta-predictor's
// dataset (set) encoder, which sees it as a [classes, per_class,
// feature_dim] tensor (Tensor).
//
// On disk it is one JSON object (gzip-compressed when the file name ends in
// ".gz"; ReadDatasetFeatures detects gzip by content):
//
//	{
//	  "format": "nag-dataset-features/1",
//	  "dataset": "cifar10_test_20pc",      // name of the image set
//	  "model": "resnet20",                 // extractor (see Models)
//	  "input_size": 32,                    // square input resolution
//	  "resize": "pillow",                  // resize convention used
//	  "center_crop": 0,                    // crop fraction (0: none)
//	  "feature_dim": 64,
//	  "per_class": 20,
//	  "seed": 1,                           // sampling seed
//	  "classes": [
//	    {"name": "airplane",
//	     "images": ["cifar10_test_20pc.u8img.gz#3", ...],   // sources (optional)
//	     "features": [[...64 numbers...], ...]}             // per_class rows
//	  ]
//	}
//
// Every class has exactly per_class feature rows of feature_dim finite
// numbers; classes are in the image set's class order.
type DatasetFeatures struct {
	Format     string          `json:"format"`
	Dataset    string          `json:"dataset"`
	Model      string          `json:"model"`
	InputSize  int             `json:"input_size"`
	Resize     string          `json:"resize"`
	CenterCrop float64         `json:"center_crop"`
	FeatureDim int             `json:"feature_dim"`
	PerClass   int             `json:"per_class"`
	Seed       uint64          `json:"seed"`
	Classes    []ClassFeatures `json:"classes"`
}

// ClassFeatures holds the sampled feature vectors of one class.
type ClassFeatures struct {
	Name     string      `json:"name"`
	Images   []string    `json:"images,omitempty"`
	Features [][]float32 `json:"features"`
}

// Validate checks the structure: format tag, at least one class, and
// per_class rows of feature_dim finite values in every class.
func (d *DatasetFeatures) Validate() error {
	if d.Format != DatasetFeaturesFormat {
		return fmt.Errorf("format %q, want %q", d.Format, DatasetFeaturesFormat)
	}
	if d.FeatureDim <= 0 || d.PerClass <= 0 {
		return fmt.Errorf("feature_dim %d and per_class %d must be positive", d.FeatureDim, d.PerClass)
	}
	if len(d.Classes) == 0 {
		return fmt.Errorf("no classes")
	}
	for ci, c := range d.Classes {
		if len(c.Features) != d.PerClass {
			return fmt.Errorf("class %d (%s): %d feature rows, want per_class %d", ci, c.Name, len(c.Features), d.PerClass)
		}
		if c.Images != nil && len(c.Images) != len(c.Features) {
			return fmt.Errorf("class %d (%s): %d image names for %d feature rows", ci, c.Name, len(c.Images), len(c.Features))
		}
		for r, row := range c.Features {
			if len(row) != d.FeatureDim {
				return fmt.Errorf("class %d (%s) row %d: %d values, want feature_dim %d", ci, c.Name, r, len(row), d.FeatureDim)
			}
			for _, v := range row {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					return fmt.Errorf("class %d (%s) row %d: non-finite value", ci, c.Name, r)
				}
			}
		}
	}
	return nil
}

// Tensor returns the features as [classes, per_class, feature_dim].
func (d *DatasetFeatures) Tensor() *tensor.Tensor {
	out := tensor.Zeros(len(d.Classes), d.PerClass, d.FeatureDim)
	od := out.Data()
	i := 0
	for _, c := range d.Classes {
		for _, row := range c.Features {
			i += copy(od[i:], row)
		}
	}
	return out
}

// WriteDatasetFeatures validates d and writes it to path (gzip when the
// name ends in ".gz").
func WriteDatasetFeatures(path string, d *DatasetFeatures) error {
	if err := d.Validate(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	b, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if strings.HasSuffix(path, ".gz") {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		if err := zw.Close(); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		b = buf.Bytes()
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write dataset features: %w", err)
	}
	return nil
}

// ReadDatasetFeatures reads and validates a dataset-features file (plain
// or gzip JSON).
func ReadDatasetFeatures(path string) (*DatasetFeatures, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read dataset features: %w", err)
	}
	defer f.Close()
	d, err := DecodeDatasetFeatures(f)
	if err != nil {
		return nil, fmt.Errorf("read dataset features %s: %w", path, err)
	}
	return d, nil
}

// DecodeDatasetFeatures decodes and validates a dataset-features stream.
func DecodeDatasetFeatures(r io.Reader) (*DatasetFeatures, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
	}
	var d DatasetFeatures
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("JSON: %w", err)
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return &d, nil
}

// SampleOptions configures EncodeDataset.
type SampleOptions struct {
	// PerClass images are drawn per class without replacement.
	PerClass int
	// Seed drives the draw (tensor.RNG): the same set and seed give the same
	// images.
	Seed uint64
	Preprocess
}

// EncodeDataset draws PerClass images of every class of s (seeded), runs
// the extractor on them and returns the dataset encoding. A class with no
// images or fewer than PerClass is an error naming the class and its count.
func EncodeDataset(m Extractor, s *images.Set, o SampleOptions) (*DatasetFeatures, error) {
	if o.PerClass <= 0 {
		return nil, fmt.Errorf("encode dataset: per-class count %d must be positive", o.PerClass)
	}
	if len(s.ClassNames) == 0 {
		return nil, fmt.Errorf("encode dataset %s: no classes", s.Name)
	}
	byClass := s.ByClass()
	var short []string
	for c, idx := range byClass {
		if len(idx) < o.PerClass {
			short = append(short, fmt.Sprintf("%s has %d", s.ClassNames[c], len(idx)))
		}
	}
	if len(short) > 0 {
		n := len(short)
		if n > 12 {
			short = append(short[:12], fmt.Sprintf("and %d more", n-12))
		}
		return nil, fmt.Errorf("encode dataset %s: %d of %d classes have fewer than %d images (%s)", s.Name, n, len(byClass), o.PerClass, strings.Join(short, ", "))
	}
	rng := tensor.NewRNG(o.Seed)
	var picked []int
	for _, idx := range byClass {
		perm := rng.Perm(len(idx))
		for _, p := range perm[:o.PerClass] {
			picked = append(picked, idx[p])
		}
	}
	ims := make([]images.Image, len(picked))
	for i, p := range picked {
		ims[i] = s.Images[p]
	}
	size := o.Size
	if size == 0 {
		size = m.InputSize()
	}
	pp := o.Preprocess
	pp.Size = size
	feats, _, err := Encode(m, ims, pp)
	if err != nil {
		return nil, fmt.Errorf("encode dataset %s: %w", s.Name, err)
	}
	d := &DatasetFeatures{Format: DatasetFeaturesFormat, Dataset: s.Name, Model: m.Name(), InputSize: size,
		Resize: o.Resize.String(), CenterCrop: o.CenterCrop, FeatureDim: m.FeatureDim(), PerClass: o.PerClass, Seed: o.Seed}
	fd := feats.Data()
	k := 0
	for c := range byClass {
		cf := ClassFeatures{Name: s.ClassNames[c]}
		for j := 0; j < o.PerClass; j++ {
			cf.Features = append(cf.Features, append([]float32(nil), fd[k*d.FeatureDim:(k+1)*d.FeatureDim]...))
			if s.Sources != nil {
				cf.Images = append(cf.Images, s.Sources[picked[k]])
			}
			k++
		}
		d.Classes = append(d.Classes, cf)
	}
	return d, nil
}
