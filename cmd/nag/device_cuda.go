//go:build cuda

package main

import (
	"fmt"

	"github.com/nagml/nag/autograd/optim"
	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/kernels"
	"github.com/nagml/nag/nag/diffusion"
	"github.com/nagml/nag/nag/gpu"
	"github.com/nagml/nag/nag/predictor"
	"github.com/nagml/nag/tensor"
)

type optimizerT = optim.Optimizer

type cudaAccel struct{ dev *kernels.Device }

func openCUDA() (accel, error) {
	d, err := kernels.Open(0)
	if err != nil {
		return nil, fmt.Errorf("--device cuda: %w", err)
	}
	return &cudaAccel{dev: d}, nil
}

func (c *cudaAccel) Name() string {
	i := c.dev.Info
	return fmt.Sprintf("cuda: %s (sm_%d%d, %d SMs)", i.Name, i.Major, i.Minor, i.SMs)
}

func (c *cudaAccel) Scorer(net *gnn.CATE, mask *tensor.Tensor) deviceScorer {
	return gpu.NewScorer(c.dev, net, mask)
}

func (c *cudaAccel) Trainer(seed uint64) func(*gnn.CATE, *optimizerT, *tensor.Tensor, int) (diffusion.Accelerator, error) {
	return func(net *gnn.CATE, o *optim.Optimizer, mask *tensor.Tensor, b int) (diffusion.Accelerator, error) {
		return gpu.NewTrainer(c.dev, net, o, mask, b, seed)
	}
}

func (c *cudaAccel) PredictorTrainer() predictor.AccelFactory {
	return func(net *gnn.Predictor, fwd, bwd *tensor.Tensor, b int, seed uint64) (predictor.Accelerator, error) {
		t, err := gpu.NewPredictorTrainer(c.dev, net, fwd, bwd, b, seed)
		if err != nil {
			return nil, err
		}
		return predAccel{t}, nil
	}
}

// predAccel adapts gpu.PredictorTrainer to predictor.Accelerator.
type predAccel struct{ t *gpu.PredictorTrainer }

func (a predAccel) Step(b predictor.AccelBatch, train bool, step int64) (*predictor.AccelResult, error) {
	loss, dds, grads, err := a.t.Step(b.X, b.Sigma, b.DS, b.Y, train, step)
	if err != nil {
		return nil, err
	}
	return &predictor.AccelResult{Loss: loss, DDS: dds, Grads: grads}, nil
}

func (a predAccel) Sync() error { return a.t.Sync() }

func (a predAccel) Close() { a.t.Close() }

func (c *cudaAccel) Bench(config string, batch, reps int, seed uint64, fullRun, profile bool) (any, string, error) {
	r, err := gpu.Bench(c.dev, config, batch, reps, seed, fullRun, profile)
	if err != nil {
		return nil, "", err
	}
	return r, r.ProfileTable(25), nil
}

func (c *cudaAccel) UseVecGemm(on bool) error { return c.dev.UseVecGemm(on) }

func (c *cudaAccel) GemmLaunches() map[string]int64 { return c.dev.GemmLaunches() }

func (c *cudaAccel) Close() error { return c.dev.Close() }
