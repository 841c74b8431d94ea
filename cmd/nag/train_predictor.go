package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/nagml/nag/nag/bench201"
	"github.com/nagml/nag/nag/predictor"
)

// runTrainPredictor trains the noise-aware meta-predictor.
func runTrainPredictor(e *env, args []string) error {
	fs := newFlags(e, "train-predictor", "--source official|table|taskfile [flags] --out FILE.ckpt")
	source := fs.String("source", "official", "training data: official (DiffusionNAG ImageNet-32 meta-training labels), table (an NB201 column) or taskfile (our JSON task format)")
	dataDir := fs.String("data", "", "folder of the official .pt files (default $NAG_DATA/diffusionnag-official, NAG_DATA defaulting to ../shared/data)")
	bench := fs.String("bench", defaultNB201(), "NB201 table nb201.csv.gz for --source table "+nb201FlagHelp)
	column := fs.String("column", "c10v_valid", "table column used as accuracy for --source table")
	tasks := fs.String("tasks", "", "task file (nag-predictor-tasks/1 JSON, optionally gzip) for --source taskfile")
	evalFrac := fs.Float64("eval-frac", 0.1, "fraction of samples held out (table, and task files with no task marked eval)")
	maxTrain := fs.Int("max-train", 0, "table source: use at most this many training cells (0 = all)")
	iters := fs.Int("iters", 10000, "optimiser steps")
	batch := fs.Int("batch", 256, "batch size")
	lr := fs.Float64("lr", 1e-3, "peak learning rate (Adam)")
	warmup := fs.Int64("warmup", 1000, "linear warm-up steps")
	clip := fs.Float64("clip", 1, "global gradient-norm clip (0 = off)")
	ema := fs.Float64("ema", 0, "EMA decay of the weights (0 = off, as in the reference)")
	seed := fs.Uint64("seed", 42, "random seed")
	evalEvery := fs.Int("eval-every", 0, "evaluate the held-out split every N steps (0 = only at the end)")
	graph := fs.String("graph", "true/raw", "fixed graph of the GCN: TOPOLOGY/MASK with topology true|reference, mask raw|closure")
	featDim := fs.Int("feat-dim", 512, "dataset-feature width when the data have no features (set from the data otherwise)")
	clean := fs.Bool("clean", false, "train on clean inputs (t = 1e-5) instead of noisy ones")
	out := fs.String("out", "", "output checkpoint (required)")
	report := fs.String("report", "", "also write the training report as JSON to this file")
	device := addDeviceFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usageError("--out is required")
	}
	if _, err := predictor.ParseGraph(*graph); err != nil {
		return usageError("--graph: %v", err)
	}
	if *featDim < 1 {
		return usageError("--feat-dim %d must be positive", *featDim)
	}
	if *iters < 1 || *batch < 1 {
		return usageError("--iters %d and --batch %d must be positive", *iters, *batch)
	}
	dv, err := openDevice(*device)
	if err != nil {
		return err
	}
	if dv != nil {
		defer dv.Close()
	}
	var d *predictor.Data
	switch *source {
	case "official":
		dir := *dataDir
		if dir == "" {
			dir = filepath.Join(dataRoot(), "diffusionnag-official")
		}
		d, err = predictor.LoadOfficial(dir)
	case "table":
		if *bench == "" {
			return usageError("--source table needs --bench or $%s", bench201.EnvPath)
		}
		t, lerr := bench201.Load(*bench)
		if lerr != nil {
			return lerr
		}
		d, err = predictor.LoadTable(t, *column, *evalFrac, *maxTrain, *seed)
	case "taskfile":
		if *tasks == "" {
			return usageError("--source taskfile needs --tasks FILE")
		}
		d, err = predictor.ReadTaskFile(*tasks, *evalFrac, *seed)
	default:
		return usageError("--source %q: want official, table or taskfile", *source)
	}
	if err != nil {
		return err
	}
	mcfg := predictor.DefaultModelConfig(*featDim)
	mcfg.Graph = *graph
	tc := predictor.TrainConfig{Iters: *iters, Batch: *batch, LR: *lr, Warmup: *warmup, GradClip: *clip,
		EMADecay: *ema, Seed: *seed, EvalEvery: *evalEvery, Clean: *clean}
	if dv != nil {
		// The network runs on the device, the dataset encoder and the
		// optimiser on the host; the first batch is checked against the CPU.
		tc.Accel, tc.Device = dv.PredictorTrainer(), dv.Name()
		fmt.Fprintf(e.stdout, "device: %s\n", dv.Name())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	m, rep, err := predictor.Train(ctx, d, mcfg, tc, e.stdout)
	if err != nil {
		return err
	}
	if err := m.Save(*out, int64(rep.Steps), *seed); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %s (%d steps, %.1fs)\n", *out, rep.Steps, rep.Elapsed.Seconds())
	if *report != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(*report, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	}
	return nil
}
