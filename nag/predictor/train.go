package predictor

import (
	"context"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/autograd/optim"
	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/nag/nb201"
	"github.com/nagml/nag/sde"
	"github.com/nagml/nag/tensor"
)

// TrainConfig configures noise-aware training (reference §5.3, §6).
type TrainConfig struct {
	Iters     int     `json:"iters"`      // optimiser steps (reference 10,000)
	Batch     int     `json:"batch"`      // 256
	LR        float64 `json:"lr"`         // 1e-3
	Warmup    int64   `json:"warmup"`     // linear warm-up steps (reference 1000)
	GradClip  float64 `json:"grad_clip"`  // global norm 1
	EMADecay  float64 `json:"ema_decay"`  // 0 = no EMA (reference: none)
	Seed      uint64  `json:"seed"`       // drives init, batches, noise, dropout
	EvalEvery int     `json:"eval_every"` // 0 = only at the end
	// Clean trains on clean inputs at t = 1e-5 (the reference's
	// noised=False) instead of noisy ones.
	Clean bool `json:"clean,omitempty"`
	// Accel, if set, runs the network on a device (see Accelerator); its
	// first batch is checked against the CPU before training starts.
	Accel AccelFactory `json:"-"`
	// Device names the device Accel runs on (recorded in checkpoints).
	Device string `json:"device,omitempty"`
}

// DefaultTrainConfig returns the reference hyper-parameters with a shorter
// warm-up suited to runs of a few thousand steps.
func DefaultTrainConfig() TrainConfig {
	return TrainConfig{Iters: 10000, Batch: 256, LR: 1e-3, Warmup: 1000, GradClip: 1, Seed: 42, EvalEvery: 0}
}

// DefaultModelConfig returns the paper predictor (reference §5.1) for
// featDim-wide dataset features, on the true NB201 cell topology with the
// raw adjacency, trained under the NB201 VE-SDE (σ 0.1..5).
func DefaultModelConfig(featDim int) ModelConfig {
	return ModelConfig{
		Net:   gnn.PaperPredictorConfig(nb201.NumNodes, nb201.NumTypes, featDim),
		Graph: nb201.GraphConfig{Topology: nb201.TopologyTrue, Mask: nb201.MaskRaw}.String(),
		SDE:   sde.DefaultVEConfig(),
	}
}

// TimeEps is the smallest training time (reference eps = 1e-5).
const TimeEps = 1e-5

// Metrics are the held-out quality numbers of a predictor.
type Metrics struct {
	N        int     `json:"n"`
	MSE      float64 `json:"mse"`      // on the normalised targets y
	RMSEAcc  float64 `json:"rmse_acc"` // root mean squared error in accuracy points
	Pearson  float64 `json:"pearson"`
	Spearman float64 `json:"spearman"`
	Kendall  float64 `json:"kendall"`
}

func (m Metrics) String() string {
	return fmt.Sprintf("n %d  mse %.3e  rmse %.3f pts  pearson %.4f  spearman %.4f  kendall %.4f",
		m.N, m.MSE, m.RMSEAcc, m.Pearson, m.Spearman, m.Kendall)
}

// Report is the outcome of a training run.
type Report struct {
	Steps     int           `json:"steps"`
	FinalLoss float64       `json:"final_loss"` // mean training loss over the last 100 steps
	Clean     Metrics       `json:"clean"`      // held-out, clean inputs (t = 1e-5)
	Noisy     Metrics       `json:"noisy"`      // held-out, x_t at t ~ U(1e-5, 1) (fixed draw)
	Elapsed   time.Duration `json:"elapsed_ns"`
}

// Train fits a new predictor built from mcfg (Net.FeatDim is set from the
// data when tasks have features) on d.Train and evaluates it on d.Eval.
// log receives progress lines (may be nil).
func Train(ctx context.Context, d *Data, mcfg ModelConfig, tc TrainConfig, log io.Writer) (*Model, *Report, error) {
	if log == nil {
		log = io.Discard
	}
	if err := d.Validate(); err != nil {
		return nil, nil, err
	}
	if tc.Iters < 1 || tc.Batch < 1 {
		return nil, nil, fmt.Errorf("train predictor: iters %d and batch %d must be positive", tc.Iters, tc.Batch)
	}
	fd, _ := d.FeatDim()
	if fd > 0 {
		mcfg.Net.FeatDim = fd
	}
	mcfg.WithFeatures = fd > 0
	mcfg.Norm = ComputeNorm(d.Train)
	mcfg.Train = tc
	mcfg.Source = d.Source
	rng := tensor.NewRNG(tc.Seed)
	m, err := NewModel(mcfg, rng)
	if err != nil {
		return nil, nil, err
	}
	nf := d.TasksWithFeatures()
	fmt.Fprintf(log, "data: %s: %d tasks (%d with dataset features), %d train / %d eval samples\n",
		d.Source, len(d.Tasks), nf, len(d.Train), len(d.Eval))
	if nf < len(d.Tasks) {
		fmt.Fprintf(log, "note: %d tasks have no dataset features; they use the learned unknown-dataset vector\n", len(d.Tasks)-nf)
	}
	fmt.Fprintf(log, "targets: y = ((acc - %.4f) / %.4f) / 100; %d parameters; graph %s; SDE %s\n",
		mcfg.Norm.Mean, mcfg.Norm.Std, gnn.NumParams(m.Net), mcfg.Graph, m.SDE)

	ocfg := optim.Config{LR: tc.LR, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Warmup: tc.Warmup, GradClip: tc.GradClip, EMADecay: tc.EMADecay}
	if err := ocfg.Validate(); err != nil {
		return nil, nil, fmt.Errorf("train predictor: %w", err)
	}
	opt, err := optim.New(m.Net.Params(), ocfg)
	if err != nil {
		return nil, nil, fmt.Errorf("train predictor: %w", err)
	}
	bs := min(tc.Batch, len(d.Train))
	var acc Accelerator
	if tc.Accel != nil {
		if acc, err = tc.Accel(m.Net, m.Fwd, m.Bwd, bs, tc.Seed); err != nil {
			return nil, nil, fmt.Errorf("train predictor: %w", err)
		}
		defer acc.Close()
	}
	start := time.Now()
	batchRNG, noiseRNG, dropRNG := rng.Split(), rng.Split(), rng.Split()
	order := batchRNG.Perm(len(d.Train))
	pos := 0
	tp := autograd.NewTape()
	batch := make([]Sample, bs)
	var recent []float64
	for step := 1; step <= tc.Iters; step++ {
		if err := ctx.Err(); err != nil {
			return nil, nil, fmt.Errorf("train predictor: stopped at step %d: %w", step, err)
		}
		for i := range batch {
			if pos == len(order) {
				order, pos = batchRNG.Perm(len(d.Train)), 0
			}
			batch[i] = d.Train[order[pos]]
			pos++
		}
		x, sigma := noisyBatch(m, batch, noiseRNG, tc.Clean)
		y := tensor.Zeros(bs)
		for i, s := range batch {
			y.Data()[i] = mcfg.Norm.Target(s.Acc)
		}
		c := gnn.Ctx{Tape: tp, Train: true, RNG: dropRNG}
		ds, err := batchDatasets(m, c, d, batch)
		if err != nil {
			return nil, nil, err
		}
		var lv float64
		if acc != nil {
			if step == 1 {
				if err := checkAccel(m, acc, x, sigma, ds, y); err != nil {
					return nil, nil, fmt.Errorf("train predictor: the device step (%s) disagrees with the CPU, not training on it: %w", orDevice(tc.Device), err)
				}
			}
			if lv, err = accelStep(m, acc, tp, x, sigma, ds, y, int64(step)); err != nil {
				return nil, nil, fmt.Errorf("train predictor step %d: %w", step, err)
			}
		} else {
			pred := m.Forward(c, autograd.Const(x), sigma, ds)
			loss := tp.MSE(pred, autograd.Const(y))
			if err := tp.Backward(loss); err != nil {
				return nil, nil, fmt.Errorf("train predictor step %d: %w", step, err)
			}
			lv = float64(loss.Value.Item())
		}
		if _, err := opt.Step(); err != nil {
			return nil, nil, fmt.Errorf("train predictor step %d: %w", step, err)
		}
		opt.ZeroGrad()
		tp.Reset()
		if acc != nil {
			if err := acc.Sync(); err != nil {
				return nil, nil, fmt.Errorf("train predictor step %d: %w", step, err)
			}
		}
		if math.IsNaN(lv) || math.IsInf(lv, 0) {
			return nil, nil, fmt.Errorf("train predictor: loss is %g at step %d", lv, step)
		}
		recent = append(recent, lv)
		if len(recent) > 100 {
			recent = recent[1:]
		}
		if step%100 == 0 || step == tc.Iters {
			fmt.Fprintf(log, "step %d/%d  loss %.4e  lr %.2e  %.1fs\n", step, tc.Iters, mean(recent), opt.LR(), time.Since(start).Seconds())
		}
		if tc.EvalEvery > 0 && step%tc.EvalEvery == 0 && step < tc.Iters && len(d.Eval) > 1 {
			withEMA(opt, func() {
				fmt.Fprintf(log, "eval step %d (clean): %s\n", step, Evaluate(m, d, d.Eval, false, tc.Seed+1).All)
			})
		}
	}
	if e := opt.EMA(); e != nil {
		e.Swap() // keep the averaged weights
	}
	rep := &Report{Steps: tc.Iters, FinalLoss: mean(recent), Elapsed: time.Since(start)}
	if len(d.Eval) > 1 {
		rep.Clean = Evaluate(m, d, d.Eval, false, tc.Seed+1).All
		rep.Noisy = Evaluate(m, d, d.Eval, true, tc.Seed+1).All
		fmt.Fprintf(log, "held-out clean: %s\nheld-out noisy: %s\n", rep.Clean, rep.Noisy)
	}
	return m, rep, nil
}

func withEMA(opt *optim.Optimizer, f func()) {
	if e := opt.EMA(); e != nil {
		e.Swap()
		defer e.Swap()
	}
	f()
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(max(len(v), 1))
}

// noisyBatch returns x_t = x_s + σ(t)·z for t ~ U(1e-5, 1) (or clean x at
// t = 1e-5 when clean) and the σ(t) values.
func noisyBatch(m *Model, batch []Sample, rng *tensor.RNG, clean bool) (*tensor.Tensor, []float32) {
	archs := make([]nb201.Arch, len(batch))
	for i, s := range batch {
		archs[i] = s.Arch
	}
	x := ModelSpace(archs)
	per := nb201.NumNodes * nb201.NumTypes
	sigma := make([]float32, len(batch))
	xd := x.Data()
	z := make([]float32, per)
	for i := range batch {
		if clean {
			sigma[i] = float32(m.SDE.Sigma(TimeEps))
			continue
		}
		t := TimeEps + (1-TimeEps)*rng.Float64()
		s := m.SDE.Sigma(t)
		sigma[i] = float32(s)
		rng.FillNormal(z, 0, 1)
		for j := 0; j < per; j++ {
			xd[i*per+j] += float32(s) * z[j]
		}
	}
	return x, sigma
}

// batchDatasets returns the dataset vectors of a batch: the unknown vector
// [NZ] when no sample has features, else [B, NZ], with the set encodings of
// all distinct tasks of the batch computed together (EncodeTasks) and the
// unknown vector for samples without features.
func batchDatasets(m *Model, c gnn.Ctx, d *Data, batch []Sample) (*autograd.Var, error) {
	row := map[int]int{}
	var tasks []int
	var feats []*tensor.Tensor
	for _, s := range batch {
		if d.Tasks[s.Task].Feats == nil {
			continue
		}
		if _, ok := row[s.Task]; !ok {
			row[s.Task] = len(tasks)
			tasks = append(tasks, s.Task)
			feats = append(feats, d.Tasks[s.Task].Feats)
		}
	}
	if len(tasks) == 0 {
		return m.Net.Unknown, nil
	}
	enc, err := m.EncodeTasks(c, feats)
	if err != nil {
		return nil, err
	}
	// Row len(tasks) is the unknown vector.
	all := c.Tape.Concat(0, enc, c.Tape.Reshape(m.Net.Unknown, 1, m.Cfg.Net.NZ))
	idx := make([]int, len(batch))
	for i, s := range batch {
		if r, ok := row[s.Task]; ok {
			idx[i] = r
		} else {
			idx[i] = len(tasks)
		}
	}
	return c.Tape.Gather(all, 0, idx), nil
}

// Evaluation is Evaluate's result: metrics over all samples and per task
// (tasks with at least 3 samples).
type Evaluation struct {
	All     Metrics
	PerTask map[int]Metrics
	Pred    []float64 // predicted accuracies, in sample order
}

// MeanTaskSpearman is the mean Spearman correlation over PerTask.
func (e Evaluation) MeanTaskSpearman() float64 {
	var s float64
	n := 0
	for _, m := range e.PerTask {
		if !math.IsNaN(m.Spearman) {
			s += m.Spearman
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return s / float64(n)
}

// Evaluate predicts the samples (grouped by task, one dataset encoding per
// task) on clean inputs at t = 1e-5, or on noisy inputs x_t at t ~ U(1e-5,
// 1) drawn with seed, and compares with the true accuracies.
func Evaluate(m *Model, d *Data, samples []Sample, noisy bool, seed uint64) Evaluation {
	rng := tensor.NewRNG(seed)
	pred := make([]float64, len(samples))
	byTask := map[int][]int{}
	var taskOrder []int
	for i, s := range samples {
		if _, ok := byTask[s.Task]; !ok {
			taskOrder = append(taskOrder, s.Task)
		}
		byTask[s.Task] = append(byTask[s.Task], i)
	}
	const bs = 512
	for _, ti := range taskOrder {
		ds, err := m.DatasetVector(gnn.Ctx{}, d.Tasks[ti].Feats)
		if err != nil { // validated at load; a mismatch here is a programming error
			panic(err)
		}
		idx := byTask[ti]
		for lo := 0; lo < len(idx); lo += bs {
			part := idx[lo:min(lo+bs, len(idx))]
			batch := make([]Sample, len(part))
			for k, i := range part {
				batch[k] = samples[i]
			}
			x, sigma := noisyBatch(m, batch, rng, !noisy)
			y := m.Forward(gnn.Ctx{}, autograd.Const(x), sigma, ds).Value.Data()
			for k, i := range part {
				pred[i] = m.Cfg.Norm.Acc(y[k])
			}
		}
	}
	ev := Evaluation{Pred: pred, PerTask: map[int]Metrics{}}
	ev.All = metrics(m.Cfg.Norm, samples, pred, nil)
	for ti, idx := range byTask {
		if len(idx) >= 3 {
			ev.PerTask[ti] = metrics(m.Cfg.Norm, samples, pred, idx)
		}
	}
	return ev
}

func metrics(n Norm, samples []Sample, pred []float64, idx []int) Metrics {
	if idx == nil {
		idx = make([]int, len(samples))
		for i := range idx {
			idx[i] = i
		}
	}
	p := make([]float64, len(idx))
	t := make([]float64, len(idx))
	var se, sea float64
	for k, i := range idx {
		p[k], t[k] = pred[i], samples[i].Acc
		dy := float64(n.Target(p[k])) - float64(n.Target(t[k]))
		se += dy * dy
		sea += (p[k] - t[k]) * (p[k] - t[k])
	}
	cnt := float64(max(len(idx), 1))
	return Metrics{N: len(idx), MSE: se / cnt, RMSEAcc: math.Sqrt(sea / cnt),
		Pearson: Pearson(p, t), Spearman: Spearman(p, t), Kendall: KendallTau(p, t)}
}
