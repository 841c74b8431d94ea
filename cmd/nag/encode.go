package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/nagml/nag/nag/encoder"
	"github.com/nagml/nag/nag/images"
)

// runEncodeDataset implements `nag encode-dataset`: sample images per class,
// run a pretrained CNN on them and write the dataset-features file that the
// meta-predictor reads (format: encoder.DatasetFeatures).
func runEncodeDataset(e *env, args []string) error {
	fs := newFlags(e, "encode-dataset", "--images DIR|FILE --model resnet20|resnet56|mobilenetv2 --weights PATH --out FEATURES[.gz]")
	imgPath := fs.String("images", "", "image set: a U8IMG1 file (*.u8img.gz) or a folder DIR/class_name/*.png|jpg")
	model := fs.String("model", "resnet20", "feature extractor: "+strings.Join(encoder.Models, ", "))
	weights := fs.String("weights", "", "weights file (.safetensors[.gz]) or the folder holding it (default: $NAG_DATA/weights/<model folder>)")
	perClass := fs.Int("per-class", 20, "images sampled per class")
	size := fs.Int("size", 0, "square input resolution (0: the model's default, 32 for the ResNets, 128 for MobileNetV2)")
	seed := fs.Uint64("seed", 1, "sampling seed")
	resize := fs.String("resize", "pillow", "resize convention: pillow, half-pixel or align-corners")
	crop := fs.Float64("center-crop", 0, "keep this central fraction of each image before resizing (0: no crop; 0.875 for ImageNet-style photos)")
	batch := fs.Int("batch", 32, "images per forward pass")
	out := fs.String("out", "", "output dataset-features file (gzip when it ends in .gz)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *imgPath == "" || *out == "" {
		return usageError("--images and --out are required")
	}
	if *perClass <= 0 {
		return usageError("--per-class %d must be positive", *perClass)
	}
	if *crop < 0 || *crop > 1 {
		return usageError("--center-crop %g must be in [0, 1]", *crop)
	}
	if *batch <= 0 {
		return usageError("--batch %d must be positive", *batch)
	}
	mode, err := images.ParseResizeMode(*resize)
	if err != nil {
		return usageError("%v", err)
	}
	known := false
	for _, m := range encoder.Models {
		known = known || m == *model
	}
	if !known {
		return usageError("unknown --model %q (want %s)", *model, strings.Join(encoder.Models, ", "))
	}
	switch {
	case strings.HasPrefix(*model, "resnet") && *size != 0 && *size != 32:
		return usageError("--size %d: the CIFAR ResNets were trained on 32x32 images; use --size 32 (or 0)", *size)
	case *model == "mobilenetv2" && *size != 0 && (*size < 64 || *size > 1024):
		return usageError("--size %d: MobileNetV2 needs inputs of 64..1024 pixels (at 32 most features are zero; 128 encodes CIFAR best)", *size)
	}
	wpath := *weights
	if wpath == "" {
		folder := "resnet-cifar10"
		if *model == "mobilenetv2" {
			folder = "mobilenetv2-imagenet"
		}
		wpath = filepath.Join(dataRoot(), "weights", folder)
	}

	start := time.Now()
	set, err := images.Read(*imgPath)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "read %d images in %d classes from %s\n", len(set.Images), len(set.ClassNames), *imgPath)
	m, err := encoder.Load(*model, wpath)
	if err != nil {
		return err
	}
	opts := encoder.SampleOptions{PerClass: *perClass, Seed: *seed, Preprocess: encoder.Preprocess{
		Size: *size, Resize: mode, CenterCrop: *crop, Batch: *batch,
		Progress: encodeProgress(e.stderr, "encode "+m.Name()),
	}}
	d, err := encoder.EncodeDataset(m, set, opts)
	if err != nil {
		return err
	}
	if err := encoder.WriteDatasetFeatures(*out, d); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "wrote %s: %d classes x %d images x %d features (%s at %dx%d) in %.2fs\n",
		*out, len(d.Classes), d.PerClass, d.FeatureDim, d.Model, d.InputSize, d.InputSize, time.Since(start).Seconds())
	return nil
}

// encodeProgress returns a progress callback: a one-line bar redrawn in
// place when w is a terminal, otherwise one line per update.
func encodeProgress(w io.Writer, label string) func(done, total int) {
	start := time.Now()
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	return func(done, total int) {
		if !tty {
			fmt.Fprintf(w, "%s: %d/%d images, %.1fs\n", label, done, total, time.Since(start).Seconds())
			return
		}
		const width = 30
		filled := width * done / total
		fmt.Fprintf(w, "\r%s [%s%s] %d/%d %.1fs", label, strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total, time.Since(start).Seconds())
		if done == total {
			fmt.Fprintln(w)
		}
	}
}
