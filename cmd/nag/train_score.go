package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/nagml/nag/nag/ckpt"
	"github.com/nagml/nag/nag/diffusion"
)

func runTrainScore(e *env, args []string) error {
	if rest, ok := spaceMBV3(args); ok {
		// The MobileNetV3 space has its own data flags (see nag mbv3-train-score -h).
		return runMBV3TrainScore(e, rest)
	}
	fs := newFlags(e, "train-score", "--space nb201|mbv3 --config small|medium|paper --iters N --out FILE [--split 0.5] [--resume FILE]")
	space := fs.String("space", "nb201", "search space: nb201, or mbv3 (then the flags of nag mbv3-train-score apply)")
	preset := fs.String("config", "small", "score-network configuration: small (CPU default), medium or paper (reference, 3.99 M parameters)")
	iters := fs.Int("iters", diffusion.DefaultIters, "total training iterations (with --resume: the new total)")
	batch := fs.Int("batch", diffusion.DefaultBatch, "mini-batch size")
	seed := fs.Uint64("seed", 42, "seed for initialisation and training randomness")
	split := fs.Float64("split", 1, "fraction of the space to train on (0.5 = the paper's novelty protocol)")
	splitSeed := fs.Uint64("split-seed", 0, "seed of the random training split (default: --seed)")
	lr := fs.Float64("lr", diffusion.DefaultLR, "peak Adam learning rate (the reference uses 2e-5 for 250k iterations)")
	warmup := fs.Int64("warmup", diffusion.DefaultWarmup, "linear learning-rate warm-up steps")
	ema := fs.Float64("ema", 0.9999, "EMA decay of the sampling weights (with the reference's warm-up min(decay, (1+n)/(10+n)))")
	clip := fs.Float64("clip", 1, "global gradient-norm clip (0 = off)")
	mask := fs.String("mask", "raw", "attention mask: raw (adjacency, as the reference trains) or closure (transitive closure)")
	out := fs.String("out", "", "checkpoint file to write (required)")
	resume := fs.String("resume", "", "continue training from this checkpoint (its configuration is used)")
	every := fs.Int("ckpt-every", 500, "write the checkpoint every N iterations (0 = only at the end)")
	device := addDeviceFlag(fs)
	export := fs.String("export-from", "", "instead of training, write a compact sampling checkpoint (EMA weights, config, training indices) of this training checkpoint to --out")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usageError("--out is required")
	}
	if *export != "" {
		m, err := diffusion.LoadModelFile(*export)
		if err != nil {
			return err
		}
		if err := ckpt.WriteFile(*out, m.Export()); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "wrote %s: %s weights of %s (step %d, %d parameters, %d training architectures)\n",
			*out, m.Weights, *export, m.Step, m.Net.NumParams(), len(m.TrainIndices))
		return nil
	}
	sp, err := diffusion.SpaceByName(*space, *mask)
	if err != nil {
		return usageError("%v", err)
	}
	cfg, err := diffusion.NewConfig(sp, *preset)
	if err != nil {
		return usageError("--config: %v", err)
	}
	cfg.Iters, cfg.Batch, cfg.Split = *iters, *batch, *split
	cfg.SplitSeed = *seed
	set := setFlags(fs)
	if set["split-seed"] {
		cfg.SplitSeed = *splitSeed
	}
	cfg.Optim.LR, cfg.Optim.Warmup, cfg.Optim.EMADecay, cfg.Optim.GradClip = *lr, *warmup, *ema, *clip
	if *resume == "" {
		if err := cfg.Validate(); err != nil {
			return usageError("%v", err)
		}
	} else {
		for _, name := range []string{"config", "batch", "split", "split-seed", "lr", "warmup", "ema", "clip", "seed"} {
			if set[name] {
				fmt.Fprintf(e.stderr, "nag train-score: --%s is ignored with --resume (the checkpoint's setting is used)\n", name)
			}
		}
		if !set["iters"] {
			cfg.Iters = 0
		}
	}
	if *every < 0 {
		return usageError("--ckpt-every %d must be >= 0", *every)
	}
	dv, err := openDevice(*device)
	if err != nil {
		return err
	}
	topt := diffusion.TrainOptions{
		Out: *out, CkptEvery: *every, Seed: *seed, Resume: *resume, Log: e.stdout, Progress: e.stderr,
	}
	if dv != nil {
		defer dv.Close()
		fmt.Fprintf(e.stdout, "device: %s\n", dv.Name())
		topt.Accel = dv.Trainer(*seed)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	_, err = diffusion.Train(ctx, cfg, sp, topt)
	return err
}

// spaceMBV3 reports whether args select --space mbv3 and returns them
// without that flag.
func spaceMBV3(args []string) ([]string, bool) {
	for i := 0; i < len(args); i++ {
		a := strings.TrimLeft(args[i], "-")
		if a == "space=mbv3" {
			return append(append([]string(nil), args[:i]...), args[i+1:]...), true
		}
		if a == "space" && i+1 < len(args) && args[i+1] == "mbv3" {
			return append(append([]string(nil), args[:i]...), args[i+2:]...), true
		}
		if args[i] == "--" {
			return nil, false // end of flags
		}
	}
	return nil, false
}
