package diffusion

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"time"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/autograd/optim"
	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/nag/ckpt"
	"github.com/nagml/nag/nag/progress"
	"github.com/nagml/nag/sde"
	"github.com/nagml/nag/tensor"
)

// ErrDiverged is wrapped by Train's error when the loss or the gradient
// became NaN, infinite or larger than Config.MaxLoss.
var ErrDiverged = errors.New("training diverged")

// TrainOptions controls where a training run writes and what it reports.
type TrainOptions struct {
	// Out is the checkpoint path (required). It is written atomically every
	// CkptEvery iterations (0: only at the end), at the end, and when ctx is
	// cancelled (Ctrl-C).
	Out       string
	CkptEvery int
	// Seed seeds the initialisation and the training randomness (batches,
	// times, noise, dropout). Ignored when resuming (the checkpoint's RNG
	// state continues).
	Seed uint64
	// Resume is a checkpoint to continue from; its configuration is used,
	// except that Config.Iters (when > 0) sets the new total.
	Resume string
	// Log receives the run header and messages (nil: discarded).
	Log io.Writer
	// Progress receives the progress bar (nil: none).
	Progress         io.Writer
	ProgressInterval time.Duration
	// Accel, if set, runs each iteration's forward, loss, backward and
	// optimiser step on an accelerator (nag/gpu with -tags cuda); batches,
	// times and noise still come from the run's RNG on the host, so the data
	// stream matches a CPU run (dropout masks come from the accelerator's own
	// counter-based stream).
	Accel func(net *gnn.CATE, o *optim.Optimizer, mask *tensor.Tensor, batch int) (Accelerator, error)
}

// Accelerator runs training steps of a score network on a device.
type Accelerator interface {
	// Step runs one iteration on a DSM batch prepared as sde.DSMLossAt does
	// (perturbed inputs xt, time inputs cond, per-sample std, noise z):
	// forward, loss, backward, clipping and the Adam+EMA update of the
	// optimiser's configuration. It returns the loss and the gradient norm
	// before clipping; a non-finite norm must leave the weights unchanged and
	// return an error wrapping optim.ErrNonFinite.
	Step(xt, cond, std, z []float32, step int64) (loss, gradNorm float64, err error)
	// Sync copies the device's weights, Adam moments, EMA shadow and
	// counters into the host network and optimiser (before a checkpoint).
	Sync() error
	// Close releases the device buffers.
	Close()
}

// TrainResult summarises a finished (or interrupted) run.
type TrainResult struct {
	// Step is the number of iterations done in total (including resumed ones).
	Step int
	// Loss is the mean loss of the last (up to) 100 iterations.
	Loss float64
	// Interrupted reports that ctx was cancelled before Iters was reached.
	Interrupted bool
	// Elapsed is the wall time of this process's iterations.
	Elapsed time.Duration
	// NumParams is the network's parameter count.
	NumParams int
	// TrainSize is the number of training architectures.
	TrainSize int
}

// trainState is a run in progress.
type trainState struct {
	cfg      Config
	sp       Space
	net      *gnn.CATE
	opt      *optim.Optimizer
	sde      sde.SDE
	rng      *tensor.RNG
	seed     uint64
	step     int
	trainIdx []int
	data     []float32 // model-space node matrices of the training set
	lastLoss float64
}

// SplitIndices returns the training indices for a dataset of size n: all of
// them for split 1, otherwise the first floor(split·n) entries of a random
// permutation drawn with seed (the paper's novelty protocol uses split 0.5:
// 7,812 of the 15,625 NB201 cells), sorted ascending.
func SplitIndices(n int, split float64, seed uint64) []int {
	if split >= 1 {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	perm := tensor.NewRNG(seed).Perm(n)
	k := int(math.Floor(split * float64(n)))
	idx := append([]int(nil), perm[:k]...)
	sort.Ints(idx)
	return idx
}

// Train trains the score network described by cfg on the space sp and
// writes checkpoints to opt.Out. It prints the configuration, the parameter
// count and the data split to opt.Log before the first iteration. A NaN,
// infinite or exploding loss stops training with an error wrapping
// ErrDiverged; the last periodic checkpoint (if any) is left untouched.
// Cancelling ctx writes a final checkpoint and returns normally with
// Interrupted set.
func Train(ctx context.Context, cfg Config, sp Space, opt TrainOptions) (*TrainResult, error) {
	logw := opt.Log
	if logw == nil {
		logw = io.Discard
	}
	if opt.Out == "" {
		return nil, fmt.Errorf("train: no output checkpoint path")
	}
	if opt.CkptEvery < 0 {
		return nil, fmt.Errorf("train: checkpoint interval %d must be >= 0", opt.CkptEvery)
	}
	var st *trainState
	var err error
	if opt.Resume != "" {
		st, err = resumeState(opt.Resume, sp, cfg.Iters)
	} else {
		st, err = newState(cfg, sp, opt.Seed)
	}
	if err != nil {
		return nil, err
	}
	cfg = st.cfg
	res := &TrainResult{NumParams: st.net.NumParams(), TrainSize: len(st.trainIdx)}

	fmt.Fprintf(logw, "score network: CATE %s config %s\n", cfg.Preset, cfg.Model.JSON())
	fmt.Fprintf(logw, "parameters: %d\n", res.NumParams)
	fmt.Fprintf(logw, "sde: %s; optimiser: lr %g (warm-up %d), Adam(%g, %g), clip %g, EMA %g; batch %d\n",
		st.sde, cfg.Optim.LR, cfg.Optim.Warmup, cfg.Optim.Beta1, cfg.Optim.Beta2, cfg.Optim.GradClip, cfg.Optim.EMADecay, cfg.Batch)
	if cfg.Split < 1 {
		fmt.Fprintf(logw, "data: %s, mask %s: %d of %d architectures for training (split %g, split seed %d)\n",
			sp.Name, sp.MaskName, len(st.trainIdx), sp.Size, cfg.Split, cfg.SplitSeed)
	} else {
		fmt.Fprintf(logw, "data: %s, mask %s: all %d architectures for training\n", sp.Name, sp.MaskName, sp.Size)
	}
	if opt.Resume != "" {
		fmt.Fprintf(logw, "resuming from %s at iteration %d\n", opt.Resume, st.step)
	}
	fmt.Fprintf(logw, "training %d iterations (to %d), checkpoint %s\n", max(cfg.Iters-st.step, 0), cfg.Iters, opt.Out)

	var bar *progress.Bar
	if opt.Progress != nil {
		bar = progress.New(opt.Progress, "train", cfg.Iters, st.step, progress.Options{Interval: opt.ProgressInterval})
	}
	maxLoss := cfg.MaxLoss
	if maxLoss == 0 {
		maxLoss = DefaultMaxLoss
	}
	per := sp.Nodes * sp.Vocab
	var acc Accelerator
	if opt.Accel != nil {
		if acc, err = opt.Accel(st.net, st.opt, sp.Mask, cfg.Batch); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		defer acc.Close()
	}
	x0 := tensor.Zeros(cfg.Batch, sp.Nodes, sp.Vocab)
	xd := x0.Data()
	tp := autograd.NewTape()
	score := func(tp *autograd.Tape, xt *autograd.Var, cond []float32) *autograd.Var {
		return st.net.Forward(gnn.Ctx{Tape: tp, Train: true, RNG: st.rng}, xt, cond, sp.Mask)
	}
	recent := make([]float64, 0, 100)
	start := time.Now()
	startStep := st.step
	lastSaved := -1
	save := func() error {
		if acc != nil {
			if err := acc.Sync(); err != nil {
				return fmt.Errorf("train: copy the device state back: %w", err)
			}
		}
		if err := st.save(opt.Out); err != nil {
			return err
		}
		lastSaved = st.step
		return nil
	}
	for st.step < cfg.Iters {
		if ctx.Err() != nil {
			res.Interrupted = true
			break
		}
		for b := 0; b < cfg.Batch; b++ {
			i := st.rng.IntN(len(st.trainIdx))
			copy(xd[b*per:(b+1)*per], st.data[i*per:(i+1)*per])
		}
		var lv float64
		if acc != nil {
			xt, cond, std, z := dsmBatch(st.sde, x0, st.rng)
			l, norm, err := acc.Step(xt, cond, std, z, int64(st.step))
			lv = l
			if err != nil {
				if errors.Is(err, optim.ErrNonFinite) {
					return nil, st.diverged(err.Error(), lastSaved, opt.Out)
				}
				return nil, fmt.Errorf("train: iteration %d: %w", st.step+1, err)
			}
			if math.IsNaN(lv) || math.IsInf(lv, 0) || lv > maxLoss || math.IsNaN(norm) {
				return nil, st.diverged(fmt.Sprintf("loss %g", lv), lastSaved, opt.Out)
			}
		} else {
			tp.Reset()
			loss, err := sde.DSMLoss(tp, st.sde, score, x0, st.rng)
			if err != nil {
				return nil, fmt.Errorf("train: iteration %d: %w", st.step+1, err)
			}
			lv = float64(loss.Value.Item())
			if math.IsNaN(lv) || math.IsInf(lv, 0) || lv > maxLoss {
				return nil, st.diverged(fmt.Sprintf("loss %g", lv), lastSaved, opt.Out)
			}
			st.opt.ZeroGrad()
			if err := tp.Backward(loss); err != nil {
				return nil, fmt.Errorf("train: iteration %d: backward: %w", st.step+1, err)
			}
			if _, err := st.opt.Step(); err != nil {
				if errors.Is(err, optim.ErrNonFinite) {
					return nil, st.diverged(err.Error(), lastSaved, opt.Out)
				}
				return nil, fmt.Errorf("train: iteration %d: %w", st.step+1, err)
			}
		}
		st.step++
		if len(recent) == cap(recent) {
			copy(recent, recent[1:])
			recent = recent[:len(recent)-1]
		}
		recent = append(recent, lv)
		st.lastLoss = mean(recent)
		if bar != nil {
			bar.Update(st.step, "loss", st.lastLoss, "lr", optim.WarmupLR(cfg.Optim.LR, int64(st.step), cfg.Optim.Warmup))
		}
		if opt.CkptEvery > 0 && st.step%opt.CkptEvery == 0 {
			if err := save(); err != nil {
				return nil, err
			}
		}
	}
	if bar != nil {
		bar.Finish(st.step, "loss", st.lastLoss)
	}
	res.Elapsed = time.Since(start)
	res.Step, res.Loss = st.step, st.lastLoss
	if lastSaved != st.step || st.step == startStep {
		if err := save(); err != nil {
			return nil, err
		}
	}
	if res.Interrupted {
		fmt.Fprintf(logw, "interrupted at iteration %d; checkpoint written to %s (resume with --resume %s)\n", st.step, opt.Out, opt.Out)
	} else {
		fmt.Fprintf(logw, "done: %d iterations, loss %.4f, %s; checkpoint %s\n", st.step, st.lastLoss, progress.FormatDuration(res.Elapsed), opt.Out)
	}
	return res, nil
}

// dsmBatch draws the times and noise of a DSM batch from rng in the order of
// sde.DSMLoss and prepares it as sde.DSMLossAt does.
func dsmBatch(s sde.SDE, x0 *tensor.Tensor, rng *tensor.RNG) (xt, cond, std, z []float32) {
	t, zt := sde.DrawDSM(x0, rng)
	xtt, std, cond := sde.Perturb(s, x0, t, zt)
	return xtt.Data(), cond, std, zt.Data()
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func (st *trainState) diverged(what string, lastSaved int, out string) error {
	kept := "no checkpoint was written yet"
	if lastSaved >= 0 {
		kept = fmt.Sprintf("the last good checkpoint %s (iteration %d) is kept", out, lastSaved)
	}
	return fmt.Errorf("train: %w at iteration %d (%s; recent mean loss %.4g); %s; try a lower --lr or a longer warm-up",
		ErrDiverged, st.step+1, what, st.lastLoss, kept)
}

// newState builds a fresh run.
func newState(cfg Config, sp Space, seed uint64) (*trainState, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if cfg.Model.Nodes != sp.Nodes || cfg.Model.Vocab != sp.Vocab {
		return nil, fmt.Errorf("train: model is for %dx%d node matrices, space %s has %dx%d", cfg.Model.Nodes, cfg.Model.Vocab, sp.Name, sp.Nodes, sp.Vocab)
	}
	net, err := gnn.NewCATE(cfg.Model, tensor.NewRNG(seed))
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	idx := SplitIndices(sp.Size, cfg.Split, cfg.SplitSeed)
	if len(idx) == 0 {
		return nil, fmt.Errorf("train: split %g of %d architectures leaves no training data", cfg.Split, sp.Size)
	}
	return buildState(cfg, sp, net, idx, tensor.NewRNG(seed^0x7261696e5f726e67), seed)
}

func buildState(cfg Config, sp Space, net *gnn.CATE, idx []int, rng *tensor.RNG, seed uint64) (*trainState, error) {
	s, err := sde.New(cfg.SDE)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	o, err := optim.New(net.Params(), cfg.Optim)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	per := sp.Nodes * sp.Vocab
	data := make([]float32, len(idx)*per)
	for _, i := range idx {
		if i < 0 || i >= sp.Size {
			return nil, fmt.Errorf("train: training index %d outside the %s dataset (size %d)", i, sp.Name, sp.Size)
		}
	}
	sp.batchData(data, idx)
	return &trainState{cfg: cfg, sp: sp, net: net, opt: o, sde: s, rng: rng, seed: seed, trainIdx: idx, data: data}, nil
}

// save writes the full training state (live weights, optimiser moments and
// EMA, RNG, step, training indices) atomically.
func (st *trainState) save(path string) error {
	rb, err := st.rng.MarshalBinary()
	if err != nil {
		return fmt.Errorf("train: save RNG state: %w", err)
	}
	c := &ckpt.Checkpoint{Kind: CheckpointKind, Config: st.cfg.json(), Seed: st.seed, Step: int64(st.step), RNG: rb,
		Meta: map[string]string{
			"space": st.sp.Name, "mask": st.sp.MaskName, "train_size": fmt.Sprint(len(st.trainIdx)),
			"loss": fmt.Sprintf("%.6g", st.lastLoss), "weights": "live+ema",
		}}
	c.AddParams(st.net.Params())
	c.AddOptim(st.opt)
	c.AddInts(EntryTrainIndices, st.trainIdx)
	if err := ckpt.WriteFile(path, c); err != nil {
		return fmt.Errorf("train: write checkpoint: %w", err)
	}
	return nil
}

// resumeState restores a run from a checkpoint written by save.
func resumeState(path string, sp Space, iters int) (*trainState, error) {
	c, err := ckpt.ReadFile(path, CheckpointKind)
	if err != nil {
		return nil, fmt.Errorf("train: resume: %w", err)
	}
	cfg, err := parseConfig(c.Config)
	if err != nil {
		return nil, fmt.Errorf("train: resume %s: %w", path, err)
	}
	if cfg.Space != sp.Name || cfg.Mask != sp.MaskName {
		return nil, fmt.Errorf("train: resume %s: checkpoint is for space %s (mask %s), not %s (mask %s)", path, cfg.Space, cfg.Mask, sp.Name, sp.MaskName)
	}
	if iters > 0 {
		cfg.Iters = iters
	}
	if _, ok := c.Entry(ckpt.PrefixOptim + "counters"); !ok {
		return nil, fmt.Errorf("train: resume %s: checkpoint holds no optimiser state (an exported sampling checkpoint cannot be resumed)", path)
	}
	net, err := gnn.NewCATE(cfg.Model, tensor.NewRNG(0))
	if err != nil {
		return nil, fmt.Errorf("train: resume %s: %w", path, err)
	}
	if err := c.LoadParams(net.Params()); err != nil {
		return nil, fmt.Errorf("train: resume %s: %w", path, err)
	}
	idx, err := c.Ints(EntryTrainIndices)
	if err != nil {
		return nil, fmt.Errorf("train: resume %s: %w", path, err)
	}
	rng := tensor.NewRNG(0)
	if err := rng.UnmarshalBinary(c.RNG); err != nil {
		return nil, fmt.Errorf("train: resume %s: RNG state: %w", path, err)
	}
	st, err := buildState(cfg, sp, net, idx, rng, c.Seed)
	if err != nil {
		return nil, fmt.Errorf("train: resume %s: %w", path, err)
	}
	if err := c.LoadOptim(st.opt); err != nil {
		return nil, fmt.Errorf("train: resume %s: %w", path, err)
	}
	if st.opt.Steps() != c.Step {
		return nil, fmt.Errorf("train: resume %s: checkpoint step %d but optimiser step %d", path, c.Step, st.opt.Steps())
	}
	st.step = int(c.Step)
	if l, ok := c.Meta["loss"]; ok {
		fmt.Sscan(l, &st.lastLoss)
	}
	return st, nil
}
