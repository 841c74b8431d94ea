package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/nag/bench201"
	"github.com/nagml/nag/nag/guide"
	"github.com/nagml/nag/nag/nb201"
	"github.com/nagml/nag/nag/transfer"
	"github.com/nagml/nag/sde"
)

// Default-run settings: fewer sampler steps and a smaller batch than the
// reference (1000 steps, 256 per round) so that the run finishes in well
// under a minute on two CPU cores.
const (
	defaultSteps = 100
	defaultBatch = 128
	defaultShow  = 10
)

// dataRoot is the data folder laid out like shared/data: $NAG_DATA, or
// ../shared/data relative to the working directory.
func dataRoot() string { return envOr("NAG_DATA", filepath.Join("..", "shared", "data")) }

// defaultNB201 is the default NB201 table path of every command: $NAG_NB201,
// else <data folder>/nasbench201/nb201.csv.gz when that file exists (the data
// folder being $NAG_DATA or ../shared/data), else "".
func defaultNB201() string {
	if p := os.Getenv(bench201.EnvPath); p != "" {
		return p
	}
	p := filepath.Join(dataRoot(), "nasbench201", "nb201.csv.gz")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return ""
}

// nb201FlagHelp completes a --bench flag's help with where its default comes from.
const nb201FlagHelp = "(default $" + bench201.EnvPath + ", else $NAG_DATA/nasbench201/nb201.csv.gz or ../shared/data/nasbench201/nb201.csv.gz when present)"

// findBenchTable returns the NB201 table path: the flag, else defaultNB201.
func findBenchTable(flagVal string) string {
	if flagVal != "" {
		return flagVal
	}
	return defaultNB201()
}

// runDefault is what `nag` does without arguments: guided generation for
// CIFAR-10 with the embedded checkpoints, printing the top architectures.
func runDefault(e *env, args []string) error {
	fs := newFlags(e, "default", "[--steps 100] [--batch 128] [--bench PATH]")
	steps := fs.Int("steps", defaultSteps, "sampler timesteps (reference 1000)")
	batch := fs.Int("batch", defaultBatch, "samples per round (reference 256)")
	seed := fs.Uint64("seed", 444, "random seed")
	bench := fs.String("bench", "", "NB201 table for true accuracies "+nb201FlagHelp)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *steps < 1 || *batch < 1 {
		return usageError("--steps and --batch must be positive")
	}
	start := time.Now()
	w := e.stdout
	sm, err := loadScoreNet("default")
	if err != nil {
		return err
	}
	pm, err := loadPredictorCkpt("default")
	if err != nil {
		return err
	}
	tgt, _ := transfer.TargetByName("cifar10")
	fmt.Fprintf(w, "nag %s: DiffusionNAG predictor-guided generation for CIFAR-10 (NAS-Bench-201 cells)\n", version)
	fmt.Fprintf(w, "score network: embedded %s CATE (%d params, step %d); predictor: embedded, %s\n",
		describeCATE(sm.Net.Config()), sm.Net.NumParams(), sm.Step, pm.Cfg.Source)
	fmt.Fprintf(w, "the predictor has no CIFAR-10 features and never saw CIFAR accuracies: it uses its learned unknown-dataset vector\n")
	if *steps != 1000 || *batch != 256 {
		fmt.Fprintf(w, "quick run: %d sampler steps, %d samples per round (reference: 1000 and 256; `nag generate` / `nag transfer` run the full sampler)\n", *steps, *batch)
	}
	ds, err := pm.DatasetVector(gnn.Ctx{}, nil)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	opt := guide.Options{Scale: 10000, ScaleStep: 300, Want: defaultShow, MaxRounds: 20, Batch: *batch,
		Sampler: sde.Options{Steps: *steps}, Seed: *seed, Cost: tgt.Cost}
	res, err := guide.Generate(ctx, sm.SDE, sm.ScoreFn(nil), pm, ds, opt)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%d samples in %d round(s) at guidance scale %s: %d valid (%.1f%%), %d unique\n\n",
		res.Sampled, res.Rounds, fmtScaleList(res.Scales), res.Valid, 100*res.Validity(), len(res.Archs))
	var tab *bench201.Table
	if p := findBenchTable(*bench); p != "" {
		if tab, err = bench201.Load(p); err != nil {
			fmt.Fprintf(e.stderr, "note: NB201 table not used: %v\n", err)
			tab = nil
		}
	}
	if tab != nil {
		fmt.Fprintf(w, "%4s  %9s  %8s  %8s  %9s  %s\n", "rank", "predicted", "params", "MFLOPs", "c10_test", "architecture")
	} else {
		fmt.Fprintf(w, "%4s  %9s  %8s  %8s  %s\n", "rank", "predicted", "params", "MFLOPs", "architecture")
	}
	best := -1.0
	for i, c := range res.Archs {
		if i == defaultShow {
			break
		}
		if tab != nil {
			acc, qerr := tab.Query(nb201.MustParse(c.Arch), tgt.Metric)
			accs := "-"
			if qerr == nil {
				accs = fmt.Sprintf("%.2f", acc)
				best = max(best, acc)
			}
			fmt.Fprintf(w, "%4d  %9.2f  %7.3fM  %8.2f  %9s  %s\n", i+1, c.Pred, float64(c.Params)/1e6, float64(c.FLOPs)/1e6, accs, c.Arch)
		} else {
			fmt.Fprintf(w, "%4d  %9.2f  %7.3fM  %8.2f  %s\n", i+1, c.Pred, float64(c.Params)/1e6, float64(c.FLOPs)/1e6, c.Arch)
		}
	}
	fmt.Fprintln(w)
	if tab != nil {
		_, opt, _ := tab.Best(tgt.Metric)
		fmt.Fprintf(w, "true CIFAR-10 test accuracy from %s: best shown %.2f (NB201 optimum %.2f)\n", tab.Path(), best, opt)
	} else {
		fmt.Fprintf(w, "no NB201 table found (--bench, $%s, $NAG_DATA/nasbench201 or ../shared/data/nasbench201): true accuracies not shown\n", bench201.EnvPath)
	}
	fmt.Fprintf(w, "done in %.1fs. `nag help` lists the commands (train-predictor, generate, transfer, ...).\n", time.Since(start).Seconds())
	return nil
}

func describeCATE(c gnn.CATEConfig) string {
	return fmt.Sprintf("%d-layer d%d", c.Layers, c.DModel)
}

func fmtScaleList(s []float64) string {
	if len(s) == 1 {
		return fmt.Sprint(s[0])
	}
	return fmt.Sprintf("%g..%g", s[0], s[len(s)-1])
}
