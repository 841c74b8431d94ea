package encoder

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/nagml/nag/nag/safetensors"
	"github.com/nagml/nag/tensor"
)

// tinyGraph is a 4-op graph in the graph.json schema: a 1x1 conv (3 -> 2
// channels) with relu6, the spatial mean (the feature), a 1x1 classifier
// conv and a reshape (the logits).
const tinyGraph = `{
 "input": "a0", "feature_output": "a2", "feature_dim": 2, "logits_output": "a4", "num_classes": 2,
 "input_from_uint8_rgb": {"scale": 0.5, "offset": -1},
 "ops": [
  {"op": "CONV_2D", "inputs": ["a0", "w1", "w2"], "output": "a1", "padding": "SAME", "stride_w": 1, "stride_h": 1, "activation": "relu6", "dilation_w": 1, "dilation_h": 1},
  {"op": "MEAN", "inputs": ["a1", {"const_value": [1, 2]}], "output": "a2", "keep_dims": true},
  {"op": "CONV_2D", "inputs": ["a2", "w3", "w4"], "output": "a3", "padding": "SAME", "stride_w": 1, "stride_h": 1, "activation": null},
  {"op": "RESHAPE", "inputs": ["a3", {"const_value": [1, 2]}], "output": "a4"}
 ]}`

func tinyWeights(t *testing.T, drop string) *safetensors.File {
	t.Helper()
	ts := []safetensors.Named{
		// [out, kh, kw, in]: channel 0 = 2*r, channel 1 = g - b
		{Name: "w1", Shape: []int{2, 1, 1, 3}, Data: []float32{2, 0, 0, 0, 1, -1}},
		{Name: "w2", Shape: []int{2}, Data: []float32{0, 0.5}},
		{Name: "w3", Shape: []int{2, 1, 1, 2}, Data: []float32{1, 0, 1, -1}},
		{Name: "w4", Shape: []int{2}, Data: []float32{0, 10}},
	}
	var keep []safetensors.Named
	for _, x := range ts {
		if x.Name != drop {
			keep = append(keep, x)
		}
	}
	var buf bytes.Buffer
	if err := safetensors.Write(&buf, keep, nil); err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestGraphInterpreter(t *testing.T) {
	var g graphFile
	if err := json.Unmarshal([]byte(tinyGraph), &g); err != nil {
		t.Fatal(err)
	}
	m, err := newMobileNetV2(&g, tinyWeights(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	if m.Norm().Scale[1] != 0.5 || m.Norm().Offset[2] != -1 || m.FeatureDim() != 2 || m.NumClasses() != 2 {
		t.Fatalf("model header %+v", m)
	}
	// One 1x2 image: pixels (r,g,b) = (1,2,0.5) and (4,0,1) (already normalised).
	x := tensor.FromSlice([]float32{1, 4, 2, 0, 0.5, 1}, 1, 3, 1, 2)
	f, l := m.Forward(x)
	// ch0 = relu6(2r) = 2, 6 (clamped from 8) -> mean 4
	// ch1 = relu6(g-b+0.5) = 2, 0 -> mean 1
	want := []float32{4, 1, 4, 4 - 1 + 10}
	got := append(append([]float32{}, f.Data()...), l.Data()...)
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-6 {
			t.Fatalf("features+logits %v, want %v", got, want)
		}
	}
	if x.At(0, 0, 0, 1) != 4 {
		t.Error("Forward modified its input")
	}

	bad := []struct {
		edit func(string) string
		drop string
		want string
	}{
		{func(s string) string { return strings.Replace(s, `"MEAN"`, `"MAX_POOL_2D"`, 1) }, "", "unsupported op MAX_POOL_2D"},
		{func(s string) string { return s }, "w3", `no tensor "w3"`},
		{func(s string) string { return strings.Replace(s, `"relu6"`, `"tanh"`, 1) }, "", "unsupported fused activation"},
		{func(s string) string {
			return strings.Replace(s, `"dilation_w": 1, "dilation_h": 1}`, `"dilation_w": 2, "dilation_h": 2}`, 1)
		}, "", "dilation"},
		{func(s string) string { return strings.Replace(s, `["a2", "w3", "w4"]`, `["a9", "w3", "w4"]`, 1) }, "", "not computed before use"},
		{func(s string) string { return strings.Replace(s, `"feature_dim": 2`, `"feature_dim": 5`, 1) }, "", "feature_dim 5"},
		{func(s string) string { return strings.Replace(s, `"w1", "w2"`, `"w3", "w2"`, 1) }, "", "input channels"},
	}
	for _, c := range bad {
		var g graphFile
		if err := json.Unmarshal([]byte(c.edit(tinyGraph)), &g); err != nil {
			t.Fatal(err)
		}
		_, err := newMobileNetV2(&g, tinyWeights(t, c.drop))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want error %q, got %v", c.want, err)
		}
	}
}

func TestResNetLoadErrors(t *testing.T) {
	mk := func(ts ...safetensors.Named) *safetensors.File {
		var buf bytes.Buffer
		if err := safetensors.Write(&buf, ts, nil); err != nil {
			t.Fatal(err)
		}
		f, err := safetensors.Read(&buf)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	cases := []struct {
		f    *safetensors.File
		n    int
		want string
	}{
		{mk(), 3, `no tensor "conv1.weight"`},
		{mk(safetensors.Named{Name: "conv1.weight", Shape: []int{16, 3, 5, 5}, Data: make([]float32, 16*3*25)}), 3, "want [16 3 3 3]"},
		{mk(), 0, "must be positive"},
	}
	for _, c := range cases {
		_, err := newResNet(c.f, c.n)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want %q, got %v", c.want, err)
		}
	}
}
