package mbv3

import (
	"fmt"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/nag/ofa"
	"github.com/nagml/nag/nag/safetensors"
	"github.com/nagml/nag/tensor"
)

// SurrogateNote is printed with every number that comes from OFA's
// accuracy predictor.
const SurrogateNote = "SURROGATE benchmark: accuracies are OFA's accuracy-predictor estimates " +
	"(w1.2 supernet sub-network, top-1 on OFA's 10k-image holdout of ImageNet train, r = 224), not measured ImageNet accuracies"

// PredictorResolutions are the input resolutions OFA's predictor was
// trained for; others are rejected.
var PredictorResolutions = []int{160, 176, 192, 208, 224}

// EncodingDim is the width of the predictor's input (reference: the OFA
// tutorial encoding, data README).
const EncodingDim = 128

// resolutionSlot returns the slot of r in the one-hot resolution block
// (x[120 + (r-112)/16]), or an error for an untrained resolution.
func resolutionSlot(r int) (int, error) {
	for _, v := range PredictorResolutions {
		if v == r {
			return (r - 112) / 16, nil
		}
	}
	return 0, fmt.Errorf("resolution %d: OFA's accuracy predictor is only valid for r in %v", r, PredictorResolutions)
}

// Encode returns OFA's 128-float 0/1 encoding of a sub-network at
// resolution r: for each active slot i, x[3i + kernel index] = 1 and
// x[60 + 3i + expand index] = 1 (inactive slots leave their six entries 0),
// and x[120 + (r-112)/16] = 1.
func Encode(a ofa.Arch, r int) ([]float32, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	rs, err := resolutionSlot(r)
	if err != nil {
		return nil, err
	}
	x := make([]float32, EncodingDim)
	for i := 0; i < ofa.NumLayers; i++ {
		if a.KS[i] == 0 {
			continue
		}
		t := ofa.TypeOf(a.KS[i], a.E[i])
		x[3*i+t/3] = 1
		x[60+3*i+t%3] = 1
	}
	x[120+rs] = 1
	return x, nil
}

// AccPredictor is OFA's tutorial accuracy predictor:
// y = out(relu(fc3(relu(fc2(relu(fc1(x))))))) with x the 128-d encoding
// (Encode) and y the predicted top-1 as a fraction. The weights are those
// of the w1.2 supernet predictor.
type AccPredictor struct {
	FC1W, FC1B, FC2W, FC2B, FC3W, FC3B, OutW, OutB *tensor.Tensor
}

// predictorShapes are the expected tensor shapes.
var predictorShapes = []struct {
	name  string
	shape []int
}{
	{"fc1.weight", []int{400, 128}}, {"fc1.bias", []int{400}},
	{"fc2.weight", []int{400, 400}}, {"fc2.bias", []int{400}},
	{"fc3.weight", []int{400, 400}}, {"fc3.bias", []int{400}},
	{"out.weight", []int{1, 400}}, {"out.bias", []int{1}},
}

// LoadAccPredictor reads ofa_acc_predictor_w12.safetensors.
func LoadAccPredictor(path string) (*AccPredictor, error) {
	f, err := safetensors.Open(path)
	if err != nil {
		return nil, fmt.Errorf("OFA accuracy predictor: %w", err)
	}
	ts := make([]*tensor.Tensor, len(predictorShapes))
	for k, s := range predictorShapes {
		t, err := f.Tensor(s.name)
		if err != nil {
			return nil, fmt.Errorf("OFA accuracy predictor %s: %w", path, err)
		}
		if !tensor.EqualInts(t.Shape(), s.shape) {
			return nil, fmt.Errorf("OFA accuracy predictor %s: tensor %q has shape %v, want %v", path, s.name, t.Shape(), s.shape)
		}
		ts[k] = t
	}
	return &AccPredictor{FC1W: ts[0], FC1B: ts[1], FC2W: ts[2], FC2B: ts[3], FC3W: ts[4], FC3B: ts[5], OutW: ts[6], OutB: ts[7]}, nil
}

// Forward runs the MLP on encodings x [B, 128] and returns [B] fractions.
func (p *AccPredictor) Forward(x *tensor.Tensor) []float32 {
	h := tensor.ReLU(tensor.Linear(x, p.FC1W, p.FC1B))
	h = tensor.ReLU(tensor.Linear(h, p.FC2W, p.FC2B))
	h = tensor.ReLU(tensor.Linear(h, p.FC3W, p.FC3B))
	return tensor.Linear(h, p.OutW, p.OutB).Contiguous().Data()
}

// Predict returns the predicted top-1 fractions of archs at resolution r.
func (p *AccPredictor) Predict(archs []ofa.Arch, r int) ([]float64, error) {
	if len(archs) == 0 {
		return nil, nil
	}
	data := make([]float32, 0, len(archs)*EncodingDim)
	for k, a := range archs {
		x, err := Encode(a, r)
		if err != nil {
			return nil, fmt.Errorf("architecture %d: %w", k, err)
		}
		data = append(data, x...)
	}
	y := p.Forward(tensor.FromSlice(data, len(archs), EncodingDim))
	out := make([]float64, len(y))
	for i, v := range y {
		out[i] = float64(v)
	}
	return out, nil
}

// XRegressor is OFA's predictor rewritten as a differentiable function of
// the 20x9 node matrix in model space (x_s = 2·onehot − 1, as the diffusion
// model sees it) at a fixed resolution. The 128-d encoding is linear in the
// one-hot matrix (kernel bit = sum over expands, expand bit = sum over
// kernels), so the first layer is folded: fc1(enc) = W1x·x01 + b1 + W1[:,
// 120+r] with W1x[o][9i+t] = W1[o][3i+t/3] + W1[o][60+3i+t%3]. On clean
// one-hot inputs it equals AccPredictor exactly (up to float rounding); on
// noisy inputs it is simply the same function extended linearly (OFA's
// predictor is not noise-aware). Its output is the top-1 in percent.
// It satisfies nag/guide's Regressor interface (σ is ignored).
type XRegressor struct {
	R                  int
	w1, b1, w2, b2     *autograd.Var
	w3, b3, wOut, bOut *autograd.Var
	params             []*autograd.Var
}

// XRegressor returns the x-space form of the predictor at resolution r.
func (p *AccPredictor) XRegressor(r int) (*XRegressor, error) {
	rs, err := resolutionSlot(r)
	if err != nil {
		return nil, err
	}
	const per = ofa.NumLayers * ofa.NumTypes
	w1 := p.FC1W.Contiguous().Data()
	b1 := p.FC1B.Contiguous().Data()
	fw := make([]float32, 400*per)
	fb := make([]float32, 400)
	for o := 0; o < 400; o++ {
		row := w1[o*EncodingDim : (o+1)*EncodingDim]
		var sum float32
		for i := 0; i < ofa.NumLayers; i++ {
			for t := 0; t < ofa.NumTypes; t++ {
				v := row[3*i+t/3] + row[60+3*i+t%3]
				fw[o*per+i*ofa.NumTypes+t] = 0.5 * v // x01 = (x_s+1)/2
				sum += v
			}
		}
		fb[o] = b1[o] + row[120+rs] + 0.5*sum
	}
	scale := func(t *tensor.Tensor, s float32) *tensor.Tensor { return tensor.Scale(t, s) }
	x := &XRegressor{R: r,
		w1: autograd.Param("ofa_pred.fc1.weight_x", tensor.FromSlice(fw, 400, per)),
		b1: autograd.Param("ofa_pred.fc1.bias_x", tensor.FromSlice(fb, 400)),
		w2: autograd.Param("ofa_pred.fc2.weight", p.FC2W.Clone()),
		b2: autograd.Param("ofa_pred.fc2.bias", p.FC2B.Clone()),
		w3: autograd.Param("ofa_pred.fc3.weight", p.FC3W.Clone()),
		b3: autograd.Param("ofa_pred.fc3.bias", p.FC3B.Clone()),
		// Output in percent.
		wOut: autograd.Param("ofa_pred.out.weight_pct", scale(p.OutW, 100)),
		bOut: autograd.Param("ofa_pred.out.bias_pct", scale(p.OutB, 100)),
	}
	x.params = []*autograd.Var{x.w1, x.b1, x.w2, x.b2, x.w3, x.b3, x.wOut, x.bOut}
	for _, v := range x.params {
		v.SetRequiresGrad(false)
	}
	return x, nil
}

// Predict maps x [B, 20, 9] (model space) to [B] predicted top-1 in
// percent; sigma is ignored.
func (x *XRegressor) Predict(c gnn.Ctx, xs *autograd.Var, _ []float32) *autograd.Var {
	tp := c.Tape
	b := xs.Shape()[0]
	h := tp.Reshape(xs, b, ofa.NumLayers*ofa.NumTypes)
	h = tp.ReLU(tp.Linear(h, x.w1, x.b1))
	h = tp.ReLU(tp.Linear(h, x.w2, x.b2))
	h = tp.ReLU(tp.Linear(h, x.w3, x.b3))
	return tp.Reshape(tp.Linear(h, x.wOut, x.bOut), b)
}

// Params lists the (frozen) weights.
func (x *XRegressor) Params() []*autograd.Var { return x.params }
