package guide

import (
	"context"
	"testing"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/internal/proccpu"
	"github.com/nagml/nag/nag/nb201"
	"github.com/nagml/nag/nag/predictor"
	"github.com/nagml/nag/sde"
	"github.com/nagml/nag/tensor"
)

// cpuSeconds is the process's user+system CPU time: on a shared machine
// it is a steadier cost measure than wall time (cpu-s/op; with 2 threads
// the wall time on an idle machine is at least cpu-s/op / 2). NaN where the
// platform cannot tell.
func cpuSeconds() float64 { return proccpu.Seconds() }

func benchHook(b *testing.B, cate string) sde.ScoreFn {
	b.Helper()
	rng := tensor.NewRNG(1)
	ccfg, err := gnn.NamedCATEConfig(cate, nb201.NumNodes, nb201.NumTypes)
	if err != nil {
		b.Fatal(err)
	}
	net, err := gnn.NewCATE(ccfg, rng)
	if err != nil {
		b.Fatal(err)
	}
	mask := nb201.DefaultGraphConfig().AttentionMask()
	mt := mask.Tensor()
	base := func(x *tensor.Tensor, _ float64, cond []float32) (*tensor.Tensor, error) {
		return net.Forward(gnn.Ctx{}, autograd.Const(x), cond, mt).Value, nil
	}
	pcfg := predictor.DefaultModelConfig(512)
	pcfg.Norm = predictor.Norm{Mean: 70, Std: 6}
	pm, err := predictor.NewModel(pcfg, rng)
	if err != nil {
		b.Fatal(err)
	}
	reg := ModelRegressor{M: pm, DS: pm.Net.Unknown}
	b.Cleanup(Freeze(reg.Params()))
	return Hook(base, reg, 10000, nil)
}

// benchStep times one guided PC step (one Langevin corrector and one
// Euler–Maruyama predictor step, i.e. two score + two predictor
// forward/backward evaluations) at batch 256.
func benchStep(b *testing.B, cate string) {
	hook := benchHook(b, cate)
	shape := []int{256, nb201.NumNodes, nb201.NumTypes}
	b.ResetTimer()
	c0 := cpuSeconds()
	defer func() { b.ReportMetric((cpuSeconds()-c0)/float64(b.N), "cpu-s/op") }()
	for i := 0; i < b.N; i++ {
		if _, err := sde.SamplePC(context.Background(), sde.DefaultVE(), hook, shape, sde.Options{Steps: 1, Seed: uint64(i)}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGuidedStepPaper: paper CATE (3.99 M params) + paper predictor;
// PyTorch takes about 0.52 s per step on this machine (issue 7).
func BenchmarkGuidedStepPaper(b *testing.B) { benchStep(b, "paper") }

// BenchmarkGuidedStepSmall: the embedded small CATE + paper predictor.
func BenchmarkGuidedStepSmall(b *testing.B) { benchStep(b, "small") }

// BenchmarkPredictorInputGrad: one predictor forward + input gradient at
// batch 256 (half of a guided step's predictor work).
func BenchmarkPredictorInputGrad(b *testing.B) {
	pcfg := predictor.DefaultModelConfig(512)
	pcfg.Norm = predictor.Norm{Mean: 70, Std: 6}
	pm, err := predictor.NewModel(pcfg, tensor.NewRNG(1))
	if err != nil {
		b.Fatal(err)
	}
	reg := ModelRegressor{M: pm, DS: pm.Net.Unknown}
	defer Freeze(reg.Params())()
	x := tensor.RandN(tensor.NewRNG(2), 256, 8, 7)
	sigma := make([]float32, 256)
	for i := range sigma {
		sigma[i] = 1
	}
	b.ResetTimer()
	c0 := cpuSeconds()
	defer func() { b.ReportMetric((cpuSeconds()-c0)/float64(b.N), "cpu-s/op") }()
	for i := 0; i < b.N; i++ {
		if _, _, err := InputGrad(reg, x, sigma); err != nil {
			b.Fatal(err)
		}
	}
}
