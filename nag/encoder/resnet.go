package encoder

import (
	"fmt"

	"github.com/nagml/nag/nag/images"
	"github.com/nagml/nag/nag/safetensors"
	"github.com/nagml/nag/tensor"
)

// resnetBNEps is the batch-norm epsilon of the CIFAR ResNets (PyTorch's default).
const resnetBNEps = 1e-5

// convBN is a convolution with its batch norm folded in.
type convBN struct {
	w, b   *tensor.Tensor
	stride int
}

func (c *convBN) forward(x *tensor.Tensor, act tensor.ConvAct) *tensor.Tensor {
	return tensor.Conv2DWith(x, c.w, c.b, tensor.Conv2DParams{StrideH: c.stride, StrideW: c.stride,
		PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1, Act: act})
}

type basicBlock struct {
	conv1, conv2 convBN
	// downsample: the option-A shortcut (every second pixel, channels
	// zero-padded by padC on each side).
	downsample bool
	padC       int
}

// ResNet is the CIFAR ResNet-(6n+2) of He et al. (2016) with option-A
// (parameter-free) shortcuts: 16/32/64-channel stages of n BasicBlocks,
// global average pooling to a 64-d feature and a linear classifier. Batch
// norms are folded into the convolutions at load time.
type ResNet struct {
	name   string
	stem   convBN
	blocks []basicBlock
	fcW    *tensor.Tensor // [classes, 64]
	fcB    *tensor.Tensor // [classes]
}

// LoadResNet builds a CIFAR ResNet with n blocks per stage (3 for ResNet-20,
// 9 for ResNet-56) from a safetensors file with PyTorch state_dict names
// (conv1.weight, bn1.*, layer{1,2,3}.{b}.conv{1,2}.weight, ...bn{1,2}.*,
// linear.weight, linear.bias).
func LoadResNet(path string, n int) (*ResNet, error) {
	f, err := safetensors.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load ResNet: %w", err)
	}
	r, err := newResNet(f, n)
	if err != nil {
		return nil, fmt.Errorf("load ResNet from %s: %w", path, err)
	}
	return r, nil
}

func newResNet(f *safetensors.File, n int) (*ResNet, error) {
	if n <= 0 {
		return nil, fmt.Errorf("blocks per stage %d must be positive", n)
	}
	get := func(name string, shape ...int) (*tensor.Tensor, error) {
		t, err := f.Tensor(name)
		if err != nil {
			return nil, err
		}
		if !tensor.EqualInts(t.Shape(), shape) {
			return nil, fmt.Errorf("tensor %s has shape %v, want %v", name, t.Shape(), shape)
		}
		return t, nil
	}
	loadConvBN := func(conv, bn string, out, in, stride int) (convBN, error) {
		w, err := get(conv+".weight", out, in, 3, 3)
		if err != nil {
			return convBN{}, err
		}
		var st [4]*tensor.Tensor
		for i, s := range []string{"weight", "bias", "running_mean", "running_var"} {
			if st[i], err = get(bn+"."+s, out); err != nil {
				return convBN{}, err
			}
		}
		wf, bf := tensor.FoldBatchNorm(w, nil, st[0], st[1], st[2], st[3], resnetBNEps)
		return convBN{w: wf, b: bf, stride: stride}, nil
	}
	r := &ResNet{name: fmt.Sprintf("resnet%d", 6*n+2)}
	var err error
	if r.stem, err = loadConvBN("conv1", "bn1", 16, 3, 1); err != nil {
		return nil, err
	}
	in := 16
	for stage, planes := range []int{16, 32, 64} {
		for b := 0; b < n; b++ {
			stride := 1
			if stage > 0 && b == 0 {
				stride = 2
			}
			p := fmt.Sprintf("layer%d.%d.", stage+1, b)
			var blk basicBlock
			if blk.conv1, err = loadConvBN(p+"conv1", p+"bn1", planes, in, stride); err != nil {
				return nil, err
			}
			if blk.conv2, err = loadConvBN(p+"conv2", p+"bn2", planes, planes, 1); err != nil {
				return nil, err
			}
			if stride != 1 || in != planes {
				blk.downsample, blk.padC = true, planes/4
				if in+2*blk.padC != planes {
					return nil, fmt.Errorf("option-A shortcut cannot map %d to %d channels", in, planes)
				}
			}
			r.blocks = append(r.blocks, blk)
			in = planes
		}
	}
	lw, err := f.Tensor("linear.weight")
	if err != nil {
		return nil, err
	}
	if lw.Rank() != 2 || lw.Dim(1) != 64 {
		return nil, fmt.Errorf("linear.weight has shape %v, want [classes, 64]", lw.Shape())
	}
	if r.fcB, err = get("linear.bias", lw.Dim(0)); err != nil {
		return nil, err
	}
	r.fcW = lw
	return r, nil
}

// Name implements Extractor ("resnet20", "resnet56", ...).
func (r *ResNet) Name() string { return r.name }

// FeatureDim implements Extractor (64).
func (r *ResNet) FeatureDim() int { return 64 }

// NumClasses implements Extractor (10 for the CIFAR-10 weights).
func (r *ResNet) NumClasses() int { return r.fcW.Dim(0) }

// InputSize implements Extractor: the CIFAR resolution, 32.
func (r *ResNet) InputSize() int { return 32 }

// Norm implements Extractor: (pixel/255 - mean) / std with the ImageNet
// mean and std the CIFAR training script used.
func (r *ResNet) Norm() images.Norm {
	return images.MeanStdNorm([3]float32{0.485, 0.456, 0.406}, [3]float32{0.229, 0.224, 0.225})
}

// Forward implements Extractor: x [N, 3, H, W] normalised → features [N, 64]
// and logits [N, classes]. Any H, W divisible by 4 works; the weights were
// trained at 32x32.
func (r *ResNet) Forward(x *tensor.Tensor) (features, logits *tensor.Tensor) {
	h := r.stem.forward(x, tensor.ConvActReLU)
	for i := range r.blocks {
		blk := &r.blocks[i]
		y := blk.conv1.forward(h, tensor.ConvActReLU)
		y = blk.conv2.forward(y, tensor.ConvActNone)
		if blk.downsample {
			addShortcutA(y, h, blk.padC)
			tensor.ActInPlace(y, tensor.ConvActReLU)
		} else {
			tensor.AddActInPlace(y, h, tensor.ConvActReLU)
		}
		h = y
	}
	features = tensor.GlobalAvgPool2D(h)
	logits = tensor.Linear(features, r.fcW, r.fcB)
	return features, logits
}

// addShortcutA adds the option-A shortcut of x [N, C, H, W] to y
// [N, C+2*padC, ceil(H/2), ceil(W/2)]: y[:, padC+c, i, j] += x[:, c, 2i, 2j].
func addShortcutA(y, x *tensor.Tensor, padC int) {
	xs, ys := x.Shape(), y.Shape()
	n, c, h, w := xs[0], xs[1], xs[2], xs[3]
	co, oh, ow := ys[1], ys[2], ys[3]
	if ys[0] != n || co != c+2*padC || oh != (h+1)/2 || ow != (w+1)/2 {
		panic(fmt.Sprintf("encoder: option-A shortcut from %v to %v", xs, ys))
	}
	xd, yd := x.Data(), y.Data()
	for i := 0; i < n; i++ {
		for ch := 0; ch < c; ch++ {
			src := xd[(i*c+ch)*h*w : (i*c+ch+1)*h*w]
			dst := yd[(i*co+padC+ch)*oh*ow : (i*co+padC+ch+1)*oh*ow]
			for yy := 0; yy < oh; yy++ {
				for xx := 0; xx < ow; xx++ {
					dst[yy*ow+xx] += src[2*yy*w+2*xx]
				}
			}
		}
	}
}
