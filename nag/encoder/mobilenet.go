package encoder

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nagml/nag/nag/images"
	"github.com/nagml/nag/nag/safetensors"
	"github.com/nagml/nag/tensor"
)

// graphFile is the op list of a converted TFLite model (graph.json).
type graphFile struct {
	Input          string      `json:"input"`
	FeatureOutput  string      `json:"feature_output"`
	FeatureDim     int         `json:"feature_dim"`
	LogitsOutput   string      `json:"logits_output"`
	NumClasses     int         `json:"num_classes"`
	InputFromUint8 *inputScale `json:"input_from_uint8_rgb"`
	Ops            []graphOp   `json:"ops"`
}

type inputScale struct {
	Scale  float64 `json:"scale"`
	Offset float64 `json:"offset"`
}

type graphOp struct {
	Op              string            `json:"op"`
	Inputs          []json.RawMessage `json:"inputs"`
	Output          string            `json:"output"`
	Padding         string            `json:"padding"`
	StrideW         int               `json:"stride_w"`
	StrideH         int               `json:"stride_h"`
	DilationW       int               `json:"dilation_w"`
	DilationH       int               `json:"dilation_h"`
	DepthMultiplier int               `json:"depth_multiplier"`
	Activation      *string           `json:"activation"`
}

// graphStep is one op ready to run on NCHW activations.
type graphStep struct {
	kind     string // "conv", "add", "mean", "reshape", "softmax"
	in       []string
	out      string
	w, b     *tensor.Tensor // conv: [O, I/groups, kh, kw], [O]
	stride   int
	groups   int
	same     bool
	act      tensor.ConvAct
	lastUses []string // values no longer needed after this step
}

// MobileNetV2 runs the MobileNetV2 graph of a converted TFLite model
// (graph.json + safetensors weights, batch norm already folded) on NCHW
// activations. The feature is the global average pool before the
// classifier (1280-d); logits come from the final 1x1 convolution.
type MobileNetV2 struct {
	steps      []graphStep
	input      string
	featOut    string
	logitsOut  string
	featDim    int
	numClasses int
	norm       images.Norm
}

// LoadMobileNetV2 loads the graph (graphPath) and weights (weightsPath,
// safetensors, optionally gzip-compressed). Weights use TFLite layouts
// (CONV_2D [out, kh, kw, in], DEPTHWISE_CONV_2D [1, kh, kw, channels]) and
// are transposed to NCHW convolution weights here.
func LoadMobileNetV2(weightsPath, graphPath string) (*MobileNetV2, error) {
	gb, err := os.ReadFile(graphPath)
	if err != nil {
		return nil, fmt.Errorf("load MobileNetV2 graph: %w", err)
	}
	var g graphFile
	if err := json.Unmarshal(gb, &g); err != nil {
		return nil, fmt.Errorf("load MobileNetV2 graph %s: %w", graphPath, err)
	}
	f, err := safetensors.Open(weightsPath)
	if err != nil {
		return nil, fmt.Errorf("load MobileNetV2: %w", err)
	}
	m, err := newMobileNetV2(&g, f)
	if err != nil {
		return nil, fmt.Errorf("load MobileNetV2 (%s, %s): %w", weightsPath, graphPath, err)
	}
	return m, nil
}

// GraphPathFor returns the graph.json that belongs to a weights file: the
// same base name with ".graph.json" (after dropping ".gz" and
// ".safetensors"), else the only *.graph.json in the same folder.
func GraphPathFor(weightsPath string) (string, error) {
	base := strings.TrimSuffix(strings.TrimSuffix(weightsPath, ".gz"), ".safetensors")
	if p := base + ".graph.json"; fileExists(p) {
		return p, nil
	}
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(weightsPath), "*.graph.json"))
	if len(matches) == 1 {
		return matches[0], nil
	}
	return "", fmt.Errorf("no graph.json found for %s (want %s.graph.json next to it)", weightsPath, filepath.Base(base))
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

func newMobileNetV2(g *graphFile, f *safetensors.File) (*MobileNetV2, error) {
	if g.Input == "" || g.FeatureOutput == "" || g.LogitsOutput == "" || len(g.Ops) == 0 {
		return nil, fmt.Errorf("graph lacks input, feature_output, logits_output or ops")
	}
	m := &MobileNetV2{input: g.Input, featOut: g.FeatureOutput, logitsOut: g.LogitsOutput, featDim: g.FeatureDim, numClasses: g.NumClasses}
	m.norm = images.Norm{Scale: [3]float32{1, 1, 1}}
	if s := g.InputFromUint8; s != nil {
		for c := 0; c < 3; c++ {
			m.norm.Scale[c], m.norm.Offset[c] = float32(s.Scale), float32(s.Offset)
		}
	}
	channels := map[string]int{g.Input: 3} // known channel counts, for checks
	for i, op := range g.Ops {
		st, err := m.buildStep(op, f, channels)
		if err != nil {
			return nil, fmt.Errorf("op %d (%s -> %s): %w", i, op.Op, op.Output, err)
		}
		m.steps = append(m.steps, st)
	}
	if channels[g.FeatureOutput] == 0 || channels[g.LogitsOutput] == 0 {
		return nil, fmt.Errorf("graph does not produce %s and %s", g.FeatureOutput, g.LogitsOutput)
	}
	if m.featDim != channels[g.FeatureOutput] {
		return nil, fmt.Errorf("feature_dim %d but %s has %d channels", m.featDim, g.FeatureOutput, channels[g.FeatureOutput])
	}
	m.numClasses = channels[g.LogitsOutput]
	// Free each value after its last use (the two outputs are kept).
	last := map[string]int{}
	for i, st := range m.steps {
		for _, in := range st.in {
			last[in] = i
		}
	}
	for v, i := range last {
		if v != m.featOut && v != m.logitsOut {
			m.steps[i].lastUses = append(m.steps[i].lastUses, v)
		}
	}
	return m, nil
}

func parseAct(a *string) (tensor.ConvAct, error) {
	switch {
	case a == nil || *a == "" || *a == "none":
		return tensor.ConvActNone, nil
	case *a == "relu6":
		return tensor.ConvActReLU6, nil
	case *a == "relu":
		return tensor.ConvActReLU, nil
	}
	return 0, fmt.Errorf("unsupported fused activation %q", *a)
}

// inputNames decodes the string inputs of an op (constant inputs, given as
// objects, are skipped).
func inputNames(op graphOp) []string {
	var names []string
	for _, raw := range op.Inputs {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			names = append(names, s)
		}
	}
	return names
}

func (m *MobileNetV2) buildStep(op graphOp, f *safetensors.File, channels map[string]int) (graphStep, error) {
	in := inputNames(op)
	st := graphStep{out: op.Output}
	need := func(k int) error {
		if len(in) != k {
			return fmt.Errorf("want %d named inputs, got %v", k, in)
		}
		for _, v := range in {
			if strings.HasPrefix(v, "w") {
				continue
			}
			if channels[v] == 0 {
				return fmt.Errorf("input %s is not computed before use", v)
			}
		}
		return nil
	}
	switch op.Op {
	case "CONV_2D", "DEPTHWISE_CONV_2D":
		if err := need(3); err != nil {
			return st, err
		}
		if op.DilationH > 1 || op.DilationW > 1 {
			return st, fmt.Errorf("dilation %dx%d is not supported", op.DilationH, op.DilationW)
		}
		if op.StrideH != op.StrideW || op.StrideH <= 0 {
			return st, fmt.Errorf("strides %dx%d unsupported (want equal, positive)", op.StrideH, op.StrideW)
		}
		if op.Padding != "SAME" && op.Padding != "VALID" {
			return st, fmt.Errorf("padding %q unsupported", op.Padding)
		}
		act, err := parseAct(op.Activation)
		if err != nil {
			return st, err
		}
		w, err := f.Tensor(in[1])
		if err != nil {
			return st, err
		}
		b, err := f.Tensor(in[2])
		if err != nil {
			return st, err
		}
		ws := w.Shape()
		if w.Rank() != 4 {
			return st, fmt.Errorf("weight %s has shape %v, want rank 4", in[1], ws)
		}
		cin := channels[in[0]]
		if op.Op == "CONV_2D" { // [out, kh, kw, in] -> [out, in, kh, kw]
			if ws[3] != cin {
				return st, fmt.Errorf("weight %s %v expects %d input channels, %s has %d", in[1], ws, ws[3], in[0], cin)
			}
			st.w, st.groups = w.Permute(0, 3, 1, 2).Contiguous(), 1
		} else { // [1, kh, kw, C] -> [C, 1, kh, kw]
			if ws[0] != 1 || ws[3] != cin || (op.DepthMultiplier != 0 && op.DepthMultiplier != 1) {
				return st, fmt.Errorf("depthwise weight %s %v (multiplier %d) for %d channels", in[1], ws, op.DepthMultiplier, cin)
			}
			st.w, st.groups = w.Permute(3, 0, 1, 2).Contiguous(), cin
		}
		o := st.w.Dim(0)
		if b.Rank() != 1 || b.Dim(0) != o {
			return st, fmt.Errorf("bias %s has shape %v, want [%d]", in[2], b.Shape(), o)
		}
		st.kind, st.in, st.b, st.stride, st.same, st.act = "conv", in[:1], b, op.StrideH, op.Padding == "SAME", act
		channels[op.Output] = o
	case "ADD":
		if err := need(2); err != nil {
			return st, err
		}
		if channels[in[0]] != channels[in[1]] {
			return st, fmt.Errorf("adds %d and %d channels", channels[in[0]], channels[in[1]])
		}
		act, err := parseAct(op.Activation)
		if err != nil {
			return st, err
		}
		st.kind, st.in, st.act = "add", in, act
		channels[op.Output] = channels[in[0]]
	case "MEAN":
		if err := need(1); err != nil {
			return st, err
		}
		st.kind, st.in = "mean", in
		channels[op.Output] = channels[in[0]]
	case "RESHAPE", "SOFTMAX":
		if err := need(1); err != nil {
			return st, err
		}
		st.kind, st.in = strings.ToLower(op.Op), in
		channels[op.Output] = channels[in[0]]
	default:
		return st, fmt.Errorf("unsupported op %s", op.Op)
	}
	return st, nil
}

// Name implements Extractor.
func (m *MobileNetV2) Name() string { return "mobilenetv2" }

// FeatureDim implements Extractor (1280).
func (m *MobileNetV2) FeatureDim() int { return m.featDim }

// NumClasses implements Extractor (1001: background + ImageNet-1k).
func (m *MobileNetV2) NumClasses() int { return m.numClasses }

// InputSize implements Extractor: 128, the input size that encodes upsampled
// 32x32 images best (weights README); the network accepts any size and was
// trained at 224.
func (m *MobileNetV2) InputSize() int { return 128 }

// Norm implements Extractor: pixel*scale + offset from the graph,
// (pixel-127)/127.5.
func (m *MobileNetV2) Norm() images.Norm { return m.norm }

// Forward implements Extractor: x [N, 3, H, W] normalised → features
// [N, 1280] and logits [N, 1001] (pre-softmax).
func (m *MobileNetV2) Forward(x *tensor.Tensor) (features, logits *tensor.Tensor) {
	vals := map[string]*tensor.Tensor{m.input: x}
	for _, st := range m.steps {
		a := vals[st.in[0]]
		var out *tensor.Tensor
		switch st.kind {
		case "conv":
			p := tensor.Conv2DParams{StrideH: st.stride, StrideW: st.stride, Groups: st.groups, Act: st.act}
			if st.same {
				kh, kw := st.w.Dim(2), st.w.Dim(3)
				p.PadTop, p.PadBottom = tensor.SamePadding(a.Dim(2), kh, st.stride)
				p.PadLeft, p.PadRight = tensor.SamePadding(a.Dim(3), kw, st.stride)
			}
			out = tensor.Conv2DWith(a, st.w, st.b, p)
		case "add":
			// Accumulate into an operand that dies here (never the caller's
			// input), else into a copy.
			dies := func(v string) bool {
				return v != m.input && st.in[0] != st.in[1] && slices.Contains(st.lastUses, v)
			}
			b := vals[st.in[1]]
			switch {
			case dies(st.in[0]):
				out = a
			case dies(st.in[1]):
				out, b = b, a
			default:
				out = a.Clone()
			}
			tensor.AddActInPlace(out, b, st.act)
		case "mean":
			n, c := a.Dim(0), a.Dim(1)
			out = tensor.GlobalAvgPool2D(a).Reshape(n, c, 1, 1)
		case "reshape":
			out = a.Reshape(a.Dim(0), -1)
		case "softmax":
			out = tensor.Softmax(a, -1)
		}
		vals[st.out] = out
		for _, v := range st.lastUses {
			delete(vals, v)
		}
	}
	f, l := vals[m.featOut], vals[m.logitsOut]
	return f.Reshape(f.Dim(0), -1), l.Reshape(l.Dim(0), -1)
}
