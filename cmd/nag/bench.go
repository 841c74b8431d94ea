package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"strings"

	"github.com/nagml/nag/nag/perf"
)

func runBench(e *env, args []string) error {
	fs := newFlags(e, "bench", "[-config paper|small] [-batch 256] [-reps 5] [-only forward,train,...] [-cpuprofile FILE] [-json]")
	config := fs.String("config", "paper", "score-network configuration: paper or small")
	batch := fs.Int("batch", 256, "architectures per batch")
	reps := fs.Int("reps", 5, "timed repetitions per workload (the median is reported)")
	warm := fs.Int("warmup", 1, "untimed repetitions before timing")
	seed := fs.Uint64("seed", 0, "random seed for weights and inputs")
	only := fs.String("only", "", "comma-separated workloads to run (of "+strings.Join(perf.Workloads, ",")+"); empty = all")
	profile := fs.String("cpuprofile", "", "write a pprof CPU profile of the whole run to this file")
	asJSON := fs.Bool("json", false, "print one JSON object with the medians in seconds")
	device := addDeviceFlag(fs)
	fullRun := fs.Bool("full-run", true, "with --device cuda: also time one whole guided PC run (batch x 1000 steps)")
	kprof := fs.Bool("profile", false, "with --device cuda: print the device time per kernel (GEMMs per shape) of one more repetition of each workload to stderr")
	vecGemm := fs.Bool("vec-gemm", true, "with --device cuda: run the k-16 float4-load GEMM kernels (sgemm_128v16, sgemm_128x64v16) for aligned products; false: the scalar-load kernels (A/B)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	dv, err := openDevice(*device)
	if err != nil {
		return err
	}
	if setFlags(fs)["vec-gemm"] && dv == nil {
		return usageError("--vec-gemm needs --device cuda")
	}
	if *kprof && dv == nil {
		return usageError("--profile needs --device cuda (for the CPU: --cpuprofile)")
	}
	if dv != nil {
		defer dv.Close()
		if err := dv.UseVecGemm(*vecGemm); err != nil {
			return err
		}
		if *only != "" || *profile != "" || *warm != 1 {
			fmt.Fprintln(e.stderr, "nag bench: -only, -cpuprofile and -warmup apply to the CPU benchmark; --device cuda times all device workloads after one warm-up")
		}
		r, table, err := dv.Bench(*config, *batch, *reps, *seed, *fullRun, *kprof)
		if err != nil {
			return err
		}
		if *kprof {
			fmt.Fprint(e.stderr, table)
		}
		// Which GEMM kernels the products ran on (to stderr: stdout stays one JSON object).
		c, _ := json.Marshal(dv.GemmLaunches())
		fmt.Fprintf(e.stderr, "nag bench: GEMM launches by kernel (graph replays not counted): %s\n", c)
		b, _ := json.Marshal(r)
		if !*asJSON {
			fmt.Fprintf(e.stdout, "nag bench on %s (median of %d; seconds):\n", dv.Name(), *reps)
		}
		fmt.Fprintln(e.stdout, string(b))
		return nil
	}
	if *batch <= 0 || *reps <= 0 || *warm < 0 {
		return usageError("-batch and -reps must be positive, -warmup non-negative")
	}
	if *config != "paper" && *config != "small" {
		return usageError("-config must be paper or small, got %q", *config)
	}
	opt := perf.Options{Config: *config, Batch: *batch, Reps: *reps, Warmup: *warm, Seed: *seed}
	if *only != "" {
		for _, w := range strings.Split(*only, ",") {
			w = strings.TrimSpace(w)
			if !slices.Contains(perf.Workloads, w) {
				return usageError("-only: unknown workload %q (want some of %s)", w, strings.Join(perf.Workloads, ","))
			}
			opt.Only = append(opt.Only, w)
		}
	}
	if !*asJSON {
		opt.Log = func(format string, a ...any) { fmt.Fprintf(e.stderr, format+"\n", a...) }
	}
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			return fmt.Errorf("bench: cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("bench: cpu profile %s: %w", *profile, err)
		}
		defer pprof.StopCPUProfile()
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
	fmt.Fprintf(e.stdout, "  %-38s %9s %9s %8s\n", "workload", "wall s", "CPU s", "GFLOP/s")
	row := func(name string, wall, cpu, gflops float64, note string) {
		if wall == 0 {
			return
		}
		g := "-"
		if gflops > 0 {
			g = fmt.Sprintf("%.1f", gflops)
		}
		fmt.Fprintf(e.stdout, "  %-38s %9.4f %9.4f %8s  %s\n", name, wall, cpu, g, note)
	}
	row("forward (eval)", r.ForwardS, r.ForwardCPUS, r.ForwardGFLOPS, "")
	row("training step (DSM+bwd+clip+Adam+EMA)", r.TrainStepS, r.TrainStepCPUS, r.TrainStepGFLOPS, "")
	row("PC step (corrector+predictor)", r.PCStepS, r.PCStepCPUS, r.PCStepGFLOPS, fmt.Sprintf("x1000 steps = %.0f s", 1000*r.PCStepS))
	row("guided PC step", r.GuidedPCStepS, r.GuidedPCStepCPUS, 0, fmt.Sprintf("x1000 steps = %.0f s", 1000*r.GuidedPCStepS))
	row("meta-predictor training step", r.PredictorTrainStepS, r.PredictorTrainStepCPUS, 0, fmt.Sprintf("predictor: %d parameters", r.PredictorParams))
	return nil
}
