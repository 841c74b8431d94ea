package main

import (
	"github.com/nagml/nag/internal/shareddata"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nagml/nag/nag/encoder"
)

// encodeDataRoot finds the shared data (NAG_DATA or ../shared/data from the
// repository root) or skips.
func encodeDataRoot(t *testing.T) string { return shareddata.Root(t) }

func runEncodeArgs(args ...string) (int, string) {
	code, _, stderr := runArgs(append([]string{"encode-dataset"}, args...)...)
	return code, stderr
}

func TestEncodeDatasetCommand(t *testing.T) {
	root := encodeDataRoot(t)
	lossless := filepath.Join(root, "images/cifar10-test-first100-lossless/cifar10_test_first100.u8img.gz")
	weights := filepath.Join(root, "weights/resnet-cifar10/resnet20.safetensors")
	out := filepath.Join(t.TempDir(), "feat.json.gz")
	code, stderr := runEncodeArgs("--images", lossless, "--model", "resnet20", "--weights", weights, "--per-class", "6", "--seed", "3", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "60/60") || !strings.Contains(stderr, "10 classes x 6 images x 64 features") {
		t.Errorf("progress output: %q", stderr)
	}
	d, err := encoder.ReadDatasetFeatures(out)
	if err != nil {
		t.Fatal(err)
	}
	if d.Model != "resnet20" || d.PerClass != 6 || d.Seed != 3 || len(d.Classes) != 10 || d.Classes[3].Name != "cat" || d.InputSize != 32 {
		t.Errorf("file header %+v", d)
	}
	var nonzero int
	for _, v := range d.Classes[0].Features[0] {
		if v != 0 {
			nonzero++
		}
	}
	if nonzero < 10 {
		t.Errorf("first feature row has only %d non-zero values", nonzero)
	}

	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--out", out}, 2, "--images and --out are required"},
		{[]string{"--images", lossless, "--out", out, "--model", "vgg"}, 2, "unknown --model"},
		{[]string{"--images", lossless, "--out", out, "--size", "64"}, 2, "trained on 32x32"},
		{[]string{"--images", lossless, "--out", out, "--model", "mobilenetv2", "--size", "32"}, 2, "64..1024"},
		{[]string{"--images", lossless, "--out", out, "--resize", "cubic"}, 2, "unknown resize mode"},
		{[]string{"--images", lossless, "--out", out, "--weights", weights, "--per-class", "20"}, 1, "fewer than 20 images (airplane has 10, automobile has 6"},
		{[]string{"--images", filepath.Join(root, "missing.u8img.gz"), "--out", out, "--weights", weights}, 1, "no such file"},
		{[]string{"--images", weights, "--out", out, "--weights", weights}, 1, "not a U8IMG1 file"},
	}
	for _, c := range cases {
		code, stderr := runEncodeArgs(c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
}
