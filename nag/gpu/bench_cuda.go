//go:build cuda

package gpu

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nagml/nag/autograd/optim"
	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/kernels"
	"github.com/nagml/nag/sde"
	"github.com/nagml/nag/tensor"
)

// BenchResult holds medians in seconds (keys as `nag bench --json` and
// scripts/bench_pytorch.py).
type BenchResult struct {
	Device        string  `json:"device"`
	Config        string  `json:"config"`
	Batch         int     `json:"batch"`
	ScoreParams   int     `json:"score_params"`
	ForwardS      float64 `json:"forward_s"`
	TrainStepS    float64 `json:"train_step_s"`
	PCStepS       float64 `json:"pc_step_s"`
	GuidedPCStepS float64 `json:"guided_pc_step_s"`
	// GuidedRunS is one whole guided PC run: Batch architectures, 1000 steps.
	GuidedRunS float64 `json:"guided_run_1000_s"`
	// Profile (Bench with profile set) is the device time per kernel of one
	// more repetition of each workload (ProfileTable prints it).
	Profile []WorkloadProfile `json:"-"`
}

// ProfileTable formats r.Profile: per workload its wall time, the summed
// kernel time and the top kernels by device time (the rest in one line).
func (r *BenchResult) ProfileTable(top int) string {
	var b strings.Builder
	for _, w := range r.Profile {
		total, calls := 0.0, 0
		for _, k := range w.Kernels {
			total += k.Seconds
			calls += k.Calls
		}
		fmt.Fprintf(&b, "profile %s: wall %.3f ms, kernels %.3f ms in %d launches\n", w.Workload, w.WallS*1e3, total*1e3, calls)
		fmt.Fprintf(&b, "  %9s %6s %5s %9s  %s\n", "ms", "calls", "%", "us/call", "kernel")
		rest, restCalls := 0.0, 0
		for i, k := range w.Kernels {
			if i >= top {
				rest += k.Seconds
				restCalls += k.Calls
				continue
			}
			fmt.Fprintf(&b, "  %9.3f %6d %5.1f %9.1f  %s\n", k.Seconds*1e3, k.Calls, 100*k.Seconds/total, k.Seconds*1e6/float64(k.Calls), k.Name)
		}
		if restCalls > 0 {
			fmt.Fprintf(&b, "  %9.3f %6d %5.1f %9s  (%d more kernels)\n", rest*1e3, restCalls, 100*rest/total, "", len(w.Kernels)-top)
		}
	}
	return b.String()
}

// WorkloadProfile is the kernel profile of one repetition of a workload.
type WorkloadProfile struct {
	Workload string               `json:"workload"`
	WallS    float64              `json:"wall_s"`
	Kernels  []kernels.KernelTime `json:"kernels"`
}

// Bench times the device runners on random weights: the score network of
// config ("paper" or "small") for NB201 and the paper meta-predictor. With
// profile set, one more repetition of each workload runs under the device's
// kernel profiler (Device.StartProfile) and lands in BenchResult.Profile.
func Bench(dev *kernels.Device, config string, batch, reps int, seed uint64, fullRun, profile bool) (*BenchResult, error) {
	cfg, err := gnn.NamedCATEConfig(config, 8, 7)
	if err != nil {
		return nil, err
	}
	rng := tensor.NewRNG(seed)
	net, err := gnn.NewCATE(cfg, rng)
	if err != nil {
		return nil, err
	}
	p, err := gnn.NewPredictor(gnn.PaperPredictorConfig(8, 7, 512), rng)
	if err != nil {
		return nil, err
	}
	mask := tensor.Zeros(8, 8)
	for _, e := range [][2]int{{0, 1}, {0, 2}, {0, 3}, {1, 4}, {1, 5}, {2, 6}, {3, 7}, {4, 6}, {5, 7}, {6, 7}} {
		mask.Data()[e[0]*8+e[1]] = 1
	}
	fwd, bwd := gnn.NormalizedAdjacency(mask)
	sc := NewScorer(dev, net, mask)
	defer sc.Free()
	sc.SetPredictor(p, tensor.RandN(rng, 56), fwd, bwd)
	res := &BenchResult{Device: dev.Info.Name, Config: config, Batch: batch, ScoreParams: net.NumParams()}
	median := func(workload string, f func() error) (float64, error) {
		if err := f(); err != nil { // warm-up
			return 0, err
		}
		if profile {
			if err := dev.StartProfile(); err != nil {
				return 0, err
			}
			start := time.Now()
			err := f()
			if err == nil {
				err = dev.Sync()
			}
			wall := time.Since(start).Seconds()
			ks, perr := dev.StopProfile()
			if err != nil {
				return 0, err
			}
			if perr != nil {
				return 0, perr
			}
			res.Profile = append(res.Profile, WorkloadProfile{Workload: workload, WallS: wall, Kernels: ks})
		}
		var ts []float64
		for i := 0; i < reps; i++ {
			start := time.Now()
			if err := f(); err != nil {
				return 0, err
			}
			if err := dev.Sync(); err != nil {
				return 0, err
			}
			ts = append(ts, time.Since(start).Seconds())
		}
		sort.Float64s(ts)
		return ts[len(ts)/2], nil
	}
	x := tensor.RandN(rng, batch, 8, 7)
	cond := make([]float32, batch)
	for i := range cond {
		cond[i] = 1
	}
	score := sc.ScoreFn()
	if res.ForwardS, err = median("forward", func() error { _, err := score(x, 0.5, cond); return err }); err != nil {
		return nil, fmt.Errorf("bench forward: %w", err)
	}
	s := sde.DefaultVE()
	const steps = 50
	pc := func(h sde.ScoreFn, n int) func() error {
		return func() error {
			_, err := sde.SamplePC(context.Background(), s, h, []int{batch, 8, 7}, sde.Options{Steps: n, Seed: seed})
			return err
		}
	}
	if res.PCStepS, err = median("pc_step_x50", pc(score, steps)); err != nil {
		return nil, fmt.Errorf("bench PC step: %w", err)
	}
	res.PCStepS /= steps
	guided := sc.Guided(10000, nil)
	if res.GuidedPCStepS, err = median("guided_pc_step_x50", pc(guided, steps)); err != nil {
		return nil, fmt.Errorf("bench guided PC step: %w", err)
	}
	res.GuidedPCStepS /= steps
	if fullRun {
		start := time.Now()
		if err := pc(guided, 1000)(); err != nil {
			return nil, fmt.Errorf("bench guided run: %w", err)
		}
		res.GuidedRunS = time.Since(start).Seconds()
	}
	// Training step.
	m, err := NewCATE(dev, net, batch, true)
	if err != nil {
		return nil, err
	}
	defer m.Free()
	if err := m.SetMask(mask); err != nil {
		return nil, err
	}
	x0, z := tensor.RandN(rng, batch, 8, 7), tensor.RandN(rng, batch, 8, 7)
	ts := make([]float64, batch)
	for i := range ts {
		ts[i] = sde.TrainEps + (1-sde.TrainEps)*rng.Float64()
	}
	xt, std, cond := sde.Perturb(s, x0, ts, z)
	tb := TrainBatch{XT: xt.Data(), Cond: cond, Std: std, Z: z.Data()}
	ocfg := optim.DefaultConfig()
	var step int64
	if res.TrainStepS, err = median("train_step", func() error {
		step++
		_, norm, err := m.LossAndGrad(tb, seed, step)
		if err != nil {
			return err
		}
		return m.ApplyStep(ocfg, norm)
	}); err != nil {
		return nil, fmt.Errorf("bench train step: %w", err)
	}
	return res, nil
}
