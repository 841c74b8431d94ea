package main

import (
	"encoding/json"
	"fmt"

	"github.com/nagml/nag/nag/perf"
)

func runBench(e *env, args []string) error {
	fs := newFlags(e, "bench", "[-config paper|small] [-batch 256] [-reps 5] [-json]")
	config := fs.String("config", "paper", "score-network configuration: paper or small")
	batch := fs.Int("batch", 256, "architectures per batch")
	reps := fs.Int("reps", 5, "timed repetitions per workload (the median is reported)")
	warm := fs.Int("warmup", 1, "untimed repetitions before timing")
	seed := fs.Uint64("seed", 0, "random seed for weights and inputs")
	asJSON := fs.Bool("json", false, "print one JSON object with the medians in seconds")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *batch <= 0 || *reps <= 0 || *warm < 0 {
		return usageError("-batch and -reps must be positive, -warmup non-negative")
	}
	if *config != "paper" && *config != "small" {
		return usageError("-config must be paper or small, got %q", *config)
	}
	opt := perf.Options{Config: *config, Batch: *batch, Reps: *reps, Warmup: *warm, Seed: *seed}
	if !*asJSON {
		opt.Log = func(format string, a ...any) { fmt.Fprintf(e.stderr, format+"\n", a...) }
	}
	r, err := perf.Run(opt)
	if err != nil {
		return err
	}
	if *asJSON {
		b, _ := json.Marshal(r)
		fmt.Fprintln(e.stdout, string(b))
		return nil
	}
	fmt.Fprintf(e.stdout, "nag bench: %s config, batch %d, %d threads, backend %s (median of %d)\n",
		r.Config, r.Batch, r.Threads, r.Backend, r.Reps)
	fmt.Fprintf(e.stdout, "  score network: %d parameters, %.2f GFLOP per forward\n", r.ScoreParams, r.ForwardGFLOP)
	fmt.Fprintf(e.stdout, "  %-34s %8.4f s  %6.1f GFLOP/s\n", "forward (eval)", r.ForwardS, r.ForwardGFLOPS)
	fmt.Fprintf(e.stdout, "  %-34s %8.4f s  %6.1f GFLOP/s\n", "training step (DSM+bwd+clip+Adam+EMA)", r.TrainStepS, r.TrainStepGFLOPS)
	fmt.Fprintf(e.stdout, "  %-34s %8.4f s  %6.1f GFLOP/s  (x1000 steps = %.0f s)\n", "PC step (corrector+predictor)", r.PCStepS, r.PCStepGFLOPS, 1000*r.PCStepS)
	fmt.Fprintf(e.stdout, "  %-34s %8.4f s  (x1000 steps = %.0f s)\n", "guided PC step", r.GuidedPCStepS, 1000*r.GuidedPCStepS)
	fmt.Fprintf(e.stdout, "  %-34s %8.4f s  (predictor: %d parameters)\n", "meta-predictor training step", r.PredictorTrainStepS, r.PredictorParams)
	return nil
}
