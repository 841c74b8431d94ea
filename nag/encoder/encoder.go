// Package encoder turns images into dataset encodings: pretrained CNN
// feature extractors (CIFAR ResNet-20/56, ImageNet MobileNetV2) built from
// weight files at run time (weights are never embedded), the image
// preprocessing each expects, and the dataset-features file that the
// meta-predictor reads (see DatasetFeatures).
package encoder

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/nagml/nag/nag/images"
	"github.com/nagml/nag/tensor"
)

// Extractor is a pretrained CNN feature extractor.
type Extractor interface {
	// Name is the model name ("resnet20", "resnet56", "mobilenetv2").
	Name() string
	// FeatureDim is the length of a feature vector.
	FeatureDim() int
	// NumClasses is the width of the classifier's logits.
	NumClasses() int
	// InputSize is the default square input resolution.
	InputSize() int
	// Norm is the normalisation of 0..255 pixels the model was trained with.
	Norm() images.Norm
	// Forward maps normalised NCHW images [N, 3, H, W] to features
	// [N, FeatureDim] and logits [N, NumClasses].
	Forward(x *tensor.Tensor) (features, logits *tensor.Tensor)
}

// Models lists the names Load accepts.
var Models = []string{"resnet20", "resnet56", "mobilenetv2"}

// Load builds the named model from its weights. For the ResNets path is
// the .safetensors file (or the folder holding resnet20/56.safetensors);
// for MobileNetV2 it is the .safetensors(.gz) file, with the graph.json
// next to it (see GraphPathFor), or the folder holding both.
func Load(model, path string) (Extractor, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("load %s weights: %w", model, err)
	}
	isDir := st.IsDir()
	switch model {
	case "resnet20", "resnet56":
		n := 3
		if model == "resnet56" {
			n = 9
		}
		if isDir {
			path = filepath.Join(path, model+".safetensors")
		}
		return LoadResNet(path, n)
	case "mobilenetv2":
		if isDir {
			m, _ := filepath.Glob(filepath.Join(path, "*.safetensors*"))
			if len(m) != 1 {
				return nil, fmt.Errorf("load mobilenetv2: want one *.safetensors(.gz) file in %s, found %d", path, len(m))
			}
			path = m[0]
		}
		g, err := GraphPathFor(path)
		if err != nil {
			return nil, fmt.Errorf("load mobilenetv2: %w", err)
		}
		return LoadMobileNetV2(path, g)
	}
	return nil, fmt.Errorf("unknown model %q (want resnet20, resnet56 or mobilenetv2)", model)
}

// Preprocess controls how images become model inputs.
type Preprocess struct {
	// Size is the square input resolution (0: the model's InputSize).
	Size int
	// Resize is the interpolation used when an image is not Size x Size.
	Resize images.ResizeMode
	// CenterCrop, when in (0, 1), keeps that central fraction of each image
	// before resizing (0 or 1: no crop).
	CenterCrop float64
	// Batch is the number of images per forward pass (0: 32).
	Batch int
	// Progress, when set, is called after each batch with done and total.
	Progress func(done, total int)
}

// Prepare crops, resizes and normalises images into an NCHW tensor.
func Prepare(ims []images.Image, size int, mode images.ResizeMode, crop float64, norm images.Norm) (*tensor.Tensor, error) {
	fl := make([]images.FloatImage, len(ims))
	for i, im := range ims {
		if im.H <= 0 || im.W <= 0 || len(im.Pix) != im.H*im.W*3 {
			return nil, fmt.Errorf("image %d: bad %dx%d RGB image (%d bytes)", i, im.H, im.W, len(im.Pix))
		}
		if crop > 0 && crop < 1 {
			var err error
			if im, err = images.CenterCrop(im, crop); err != nil {
				return nil, err
			}
		}
		fl[i] = images.Resize(im, size, size, mode)
	}
	return images.ToTensor(fl, norm)
}

// Encode runs the extractor on images and returns features [N, d] and
// logits [N, classes], in batches.
func Encode(m Extractor, ims []images.Image, p Preprocess) (features, logits *tensor.Tensor, err error) {
	if len(ims) == 0 {
		return nil, nil, fmt.Errorf("encode: no images")
	}
	size := p.Size
	if size == 0 {
		size = m.InputSize()
	}
	if size < 1 || size > 4096 {
		return nil, nil, fmt.Errorf("encode: input size %d out of range [1, 4096]", size)
	}
	batch := p.Batch
	if batch <= 0 {
		batch = 32
	}
	var feats, logs []*tensor.Tensor
	for lo := 0; lo < len(ims); lo += batch {
		hi := min(lo+batch, len(ims))
		x, err := Prepare(ims[lo:hi], size, p.Resize, p.CenterCrop, m.Norm())
		if err != nil {
			return nil, nil, fmt.Errorf("encode images %d..%d: %w", lo, hi-1, err)
		}
		f, l := m.Forward(x)
		feats, logs = append(feats, f), append(logs, l)
		if p.Progress != nil {
			p.Progress(hi, len(ims))
		}
	}
	return tensor.Concat(0, feats...), tensor.Concat(0, logs...), nil
}

// Features returns the [len(ims), FeatureDim] features of images with the
// model's default preprocessing (its input size, Pillow-style resize).
func Features(m Extractor, ims []images.Image) (*tensor.Tensor, error) {
	f, _, err := Encode(m, ims, Preprocess{})
	return f, err
}

// Logits returns the [len(ims), NumClasses] classifier outputs of images
// with the model's default preprocessing.
func Logits(m Extractor, ims []images.Image) (*tensor.Tensor, error) {
	_, l, err := Encode(m, ims, Preprocess{})
	return l, err
}
