package encoder

import (
	"encoding/json"
	"github.com/nagml/nag/internal/shareddata"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/nagml/nag/nag/images"
	"github.com/nagml/nag/tensor"
)

// dataRoot finds the shared data folder (NAG_DATA, else ../shared/data next
// to the repository root) or skips.
func dataRoot(t testing.TB) string { return shareddata.Root(t) }

type resnetSetRef struct {
	Acc      float64     `json:"acc"`
	Logits   [][]float64 `json:"first5_images_logits"`
	Features [][]float64 `json:"first5_images_features_first8"`
	L2       []float64   `json:"first5_images_feature_l2"`
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func l2(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

func convMaxDiff(a, b *tensor.Tensor) float64 {
	var m float64
	for i, v := range a.Data() {
		m = math.Max(m, math.Abs(float64(v-b.Data()[i])))
	}
	return m
}

func argmax(v []float32) int {
	best := 0
	for i := range v {
		if v[i] > v[best] {
			best = i
		}
	}
	return best
}

// TestResNetReference checks ResNet-20/56 logits and features against
// reference.json: the first 5 images of both CIFAR-10 sets to 1e-4 absolute
// (the reference is rounded to 4 decimals) and the accuracy on the 100
// lossless test images exactly (94 % / 96 %). To keep the suite fast the
// JPEG set runs only its first 5 images (its 80 % / 86 % accuracies are
// checked by the encode-dataset CLI run in the report, not here).
func TestResNetReference(t *testing.T) {
	root := dataRoot(t)
	var ref struct {
		Models map[string]map[string]json.RawMessage `json:"models"`
	}
	readJSON(t, filepath.Join(root, "weights/resnet-cifar10/reference.json"), &ref)
	sets := map[string]string{
		"cifar10-test-20pc":              "images/cifar10-test-20pc/cifar10_test_20pc.u8img.gz",
		"cifar10-test-first100-lossless": "images/cifar10-test-first100-lossless/cifar10_test_first100.u8img.gz",
	}
	models := []string{"resnet20", "resnet56"}
	if testing.Short() {
		models = models[:1]
	}
	for _, model := range models {
		m, err := Load(model, filepath.Join(root, "weights/resnet-cifar10"))
		if err != nil {
			t.Fatal(err)
		}
		for set, file := range sets {
			var want resnetSetRef
			if err := json.Unmarshal(ref.Models[model][set], &want); err != nil {
				t.Fatalf("%s %s: %v", model, set, err)
			}
			s, err := images.ReadU8IMG(filepath.Join(root, file))
			if err != nil {
				t.Fatal(err)
			}
			full := set == "cifar10-test-first100-lossless"
			ims := s.Images
			if !full {
				ims = ims[:5]
			}
			feats, err := Features(m, ims)
			if err != nil {
				t.Fatal(err)
			}
			logits := tensor.Linear(feats, m.(*ResNet).fcW, m.(*ResNet).fcB)
			if !full { // the Logits helper agrees with the head applied to Features
				l2, err := Logits(m, ims)
				if err != nil || convMaxDiff(l2, logits) > 1e-5 {
					t.Fatalf("Logits differs from the head on Features: %v", err)
				}
			}
			if !tensor.EqualInts(feats.Shape(), []int{len(ims), 64}) || !tensor.EqualInts(logits.Shape(), []int{len(ims), 10}) {
				t.Fatalf("shapes %v %v", feats.Shape(), logits.Shape())
			}
			var maxL, maxF, maxN float64
			for i := 0; i < 5; i++ {
				lg := logits.Data()[i*10 : (i+1)*10]
				ft := feats.Data()[i*64 : (i+1)*64]
				for j := range want.Logits[i] {
					maxL = math.Max(maxL, math.Abs(float64(lg[j])-want.Logits[i][j]))
				}
				for j := range want.Features[i] {
					maxF = math.Max(maxF, math.Abs(float64(ft[j])-want.Features[i][j]))
				}
				maxN = math.Max(maxN, math.Abs(l2(ft)-want.L2[i]))
			}
			t.Logf("%s %s: max |Δlogit| %.2g, |Δfeature| %.2g, |Δl2| %.2g", model, set, maxL, maxF, maxN)
			if maxL > 1e-4 || maxF > 1e-4 || maxN > 1e-4 {
				t.Errorf("%s %s: logits/features differ from reference: %.3g %.3g %.3g", model, set, maxL, maxF, maxN)
			}
			if !full {
				continue
			}
			correct := 0
			for i, lab := range s.Labels {
				if argmax(logits.Data()[i*10:(i+1)*10]) == lab {
					correct++
				}
			}
			acc := float64(correct) / float64(len(s.Labels))
			t.Logf("%s %s: accuracy %.2f (reference %.2f)", model, set, acc, want.Acc)
			if math.Abs(acc-want.Acc) > 1e-9 {
				t.Errorf("%s %s: accuracy %.3f, reference %.3f", model, set, acc, want.Acc)
			}
		}
	}
}

func BenchmarkResNet20CIFAR200(b *testing.B) {
	root := dataRoot(b)
	m, err := Load("resnet20", filepath.Join(root, "weights/resnet-cifar10"))
	if err != nil {
		b.Fatal(err)
	}
	s, err := images.ReadU8IMG(filepath.Join(root, "images/cifar10-test-20pc/cifar10_test_20pc.u8img.gz"))
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		if _, _, err := Encode(m, s.Images, Preprocess{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/200img")
}

type mbv2Ref struct {
	Image    string    `json:"image"`
	Index    int       `json:"index_in_set"`
	Top5     []int     `json:"top5"`
	Top5Prob []float64 `json:"top5_prob"`
	Feature8 []float64 `json:"feature_first8"`
	L2       float64   `json:"feature_l2"`
}

func topK(v []float32, k int) []int {
	idx := make([]int, 0, k)
	used := make([]bool, len(v))
	for len(idx) < k {
		best := -1
		for i := range v {
			if !used[i] && (best < 0 || v[i] > v[best]) {
				best = i
			}
		}
		used[best] = true
		idx = append(idx, best)
	}
	return idx
}

// compareMBV2 checks one batch of MobileNetV2 outputs against reference
// entries; it returns the largest feature and l2 differences.
func compareMBV2(t *testing.T, what string, feats, logits *tensor.Tensor, refs []mbv2Ref, checkTop5 int) (maxF, maxRelL2 float64) {
	t.Helper()
	probs := tensor.Softmax(logits, -1)
	nc := logits.Dim(1)
	for i, r := range refs {
		ft := feats.Data()[i*1280 : (i+1)*1280]
		pr := probs.Data()[i*nc : (i+1)*nc]
		got := topK(pr, 5)
		for j := 0; j < checkTop5; j++ {
			if got[j] != r.Top5[j] {
				t.Errorf("%s image %d (%s): top5 %v, reference %v", what, i, r.Image, got, r.Top5)
				break
			}
		}
		for j, p := range r.Top5Prob {
			if d := math.Abs(float64(pr[r.Top5[j]]) - p); d > 1e-3 {
				t.Errorf("%s image %d: prob of class %d = %.5f, reference %.5f", what, i, r.Top5[j], pr[r.Top5[j]], p)
			}
		}
		for j, v := range r.Feature8 {
			maxF = math.Max(maxF, math.Abs(float64(ft[j])-v))
		}
		maxRelL2 = math.Max(maxRelL2, math.Abs(l2(ft)-r.L2)/r.L2)
	}
	return maxF, maxRelL2
}

func loadMBV2(t testing.TB) (*MobileNetV2, string) {
	root := dataRoot(t)
	m, err := Load("mobilenetv2", filepath.Join(root, "weights/mobilenetv2-imagenet/mobilenet_v2_1.0_224.safetensors.gz"))
	if err != nil {
		t.Fatal(err)
	}
	return m.(*MobileNetV2), root
}

// TestMobileNetV2Coral runs the 8 coral photos at 224x224 (the stored
// pixels are the exact model inputs) and compares top-5 classes (exact
// order), their probabilities (1e-3), the first 8 feature values (5e-5
// absolute; the reference has 5 decimals and comes from torch float32) and
// the feature L2 norm (1e-5 relative; 4 decimals in the reference).
func TestMobileNetV2Coral(t *testing.T) {
	m, root := loadMBV2(t)
	var ref struct {
		Coral []mbv2Ref `json:"coral_test_224"`
	}
	readJSON(t, filepath.Join(root, "weights/mobilenetv2-imagenet/reference.json"), &ref)
	s, err := images.ReadU8IMG(filepath.Join(root, "images/coral-test-224/coral_test_224.u8img.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Images) != len(ref.Coral) {
		t.Fatalf("%d images, %d references", len(s.Images), len(ref.Coral))
	}
	feats, logits, err := Encode(m, s.Images, Preprocess{Size: 224})
	if err != nil {
		t.Fatal(err)
	}
	if !tensor.EqualInts(feats.Shape(), []int{8, 1280}) || !tensor.EqualInts(logits.Shape(), []int{8, 1001}) {
		t.Fatalf("shapes %v %v", feats.Shape(), logits.Shape())
	}
	maxF, maxL2 := compareMBV2(t, "coral", feats, logits, ref.Coral, 5)
	t.Logf("coral: max |Δfeature| %.2g, max relative |Δl2| %.2g", maxF, maxL2)
	if maxF > 5e-5 || maxL2 > 1e-5 {
		t.Errorf("features differ: %.3g, relative l2 %.3g", maxF, maxL2)
	}
}

// TestMobileNetV2CIFARUpsampled runs the first image of CIFAR-10 classes
// 0-4 upsampled from 32 to 224. The references were made with Pillow's bilinear
// resize: ResizePillow must reproduce them (top-5 in order, features to
// 5e-5, L2 to 1e-5 relative), while the PyTorch-style conventions must not
// (they move features by > 0.05, which is why the choice matters).
func TestMobileNetV2CIFARUpsampled(t *testing.T) {
	m, root := loadMBV2(t)
	var ref struct {
		CIFAR []mbv2Ref `json:"cifar10_test_20pc_upsampled_224"`
	}
	readJSON(t, filepath.Join(root, "weights/mobilenetv2-imagenet/reference.json"), &ref)
	s, err := images.ReadU8IMG(filepath.Join(root, "images/cifar10-test-20pc/cifar10_test_20pc.u8img.gz"))
	if err != nil {
		t.Fatal(err)
	}
	refs := ref.CIFAR
	if len(refs) != 10 {
		t.Fatalf("%d CIFAR references, want 10", len(refs))
	}
	refs = refs[:5]
	if testing.Short() {
		refs = refs[:2]
	}
	var ims []images.Image
	for _, r := range refs {
		ims = append(ims, s.Images[r.Index])
	}
	feats, logits, err := Encode(m, ims, Preprocess{Size: 224, Resize: images.ResizePillow})
	if err != nil {
		t.Fatal(err)
	}
	maxF, maxL2 := compareMBV2(t, "cifar-pillow", feats, logits, refs, 5)
	t.Logf("pillow: max |Δfeature| %.3g, max relative |Δl2| %.3g", maxF, maxL2)
	if maxF > 5e-5 || maxL2 > 1e-5 {
		t.Errorf("pillow resize: features differ by %.3g, relative l2 %.3g", maxF, maxL2)
	}
	for _, mode := range []images.ResizeMode{images.ResizeHalfPixel, images.ResizeAlignCorners} {
		feats, _, err := Encode(m, ims[:1], Preprocess{Size: 224, Resize: mode})
		if err != nil {
			t.Fatal(err)
		}
		var d float64
		for j, v := range refs[0].Feature8 {
			d = math.Max(d, math.Abs(float64(feats.Data()[j])-v))
		}
		t.Logf("%s: max |Δfeature| %.3g", mode, d)
		if d < 0.05 {
			t.Errorf("%s resize reproduces the Pillow reference (%.3g): test data suspicious", mode, d)
		}
	}
}

// BenchmarkMobileNetV2CIFAR128 encodes 64 CIFAR-10 images upsampled to 128.
func BenchmarkMobileNetV2CIFAR128(b *testing.B) {
	m, root := loadMBV2(b)
	s, err := images.ReadU8IMG(filepath.Join(root, "images/cifar10-test-20pc/cifar10_test_20pc.u8img.gz"))
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		if _, _, err := Encode(m, s.Images[:64], Preprocess{Size: 128}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)/64, "s/img")
}
