package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/nagml/nag/nag/bench201"
	"github.com/nagml/nag/nag/hwaware"
	"github.com/nagml/nag/nag/nb201"
	"github.com/nagml/nag/tensor"
)

// parseDeviceCkpts reads "dev=path,dev=path".
func parseDeviceCkpts(s string) ([][2]string, error) {
	var out [][2]string
	for _, part := range strings.Split(s, ",") {
		if part == "" {
			continue
		}
		dev, path, ok := strings.Cut(part, "=")
		if !ok || dev == "" || path == "" {
			return nil, fmt.Errorf("%q: want DEVICE=CHECKPOINT", part)
		}
		out = append(out, [2]string{dev, path})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no DEVICE=CHECKPOINT given")
	}
	return out, nil
}

// runHWEval compares hardware-aware guidance with accuracy-only guidance
// and random sampling, both filtered by the budget, on NB201.
func runHWEval(e *env, args []string) error {
	fs := newFlags(e, "hw-eval", "--acc-ckpt FILE --lat DEV=FILE,... [flags]")
	bench := fs.String("bench", defaultNB201(), "NB201 table nb201.csv.gz "+nb201FlagHelp)
	scoreCkpt := fs.String("score-ckpt", "default", "score-network checkpoint (default: the embedded NB201 one)")
	accCkpt := fs.String("acc-ckpt", "", "accuracy regressor (nag hw-train --target c10v_valid) used by both guided methods (required)")
	truthCol := fs.String("truth", "c10_test", "table column reported as true accuracy")
	lat := fs.String("lat", "", "latency regressors DEVICE=CHECKPOINT,... (nag hw-train --target DEVICE) (required)")
	quant := fs.String("quantiles", "0.1,0.3,0.6", "budget quantiles (tight, medium, loose) of each device's latency over all 15,625 cells")
	levels := fs.String("levels", "tight,medium,loose", "budget levels to run (subset of tight,medium,loose)")
	n := fs.Int("n", 256, "samples per method and budget")
	steps := fs.Int("steps", 200, "sampler timesteps")
	batch := fs.Int("batch", 256, "sampler batch")
	accScale := fs.Float64("acc-scale", 10, "weight of the predicted accuracy (per % point)")
	costScale := fs.Float64("cost-scale", 1000, "weight of the relative budget violation relu(lat/budget − 1)")
	seed := fs.Uint64("seed", 1, "random seed")
	outMD := fs.String("out-md", "", "write the Markdown table here")
	outJSON := fs.String("out-json", "", "write the rows as JSON here")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *bench == "" || *accCkpt == "" || *lat == "" {
		return usageError("--bench (or $%s), --acc-ckpt and --lat are required", bench201.EnvPath)
	}
	devs, err := parseDeviceCkpts(*lat)
	if err != nil {
		return usageError("--lat: %v", err)
	}
	var qs []float64
	for _, f := range strings.Split(*quant, ",") {
		var q float64
		if _, err := fmt.Sscan(f, &q); err != nil || !(q > 0 && q < 1) {
			return usageError("--quantiles: %q is not a number in (0, 1)", f)
		}
		qs = append(qs, q)
	}
	if len(qs) != len(hwaware.BudgetNames) {
		return usageError("--quantiles: want %d values (tight, medium, loose)", len(hwaware.BudgetNames))
	}
	keep := map[string]bool{}
	for _, l := range strings.Split(*levels, ",") {
		ok := false
		for _, b := range hwaware.BudgetNames {
			ok = ok || b.Name == l
		}
		if !ok {
			return usageError("--levels: unknown level %q (want tight, medium or loose)", l)
		}
		keep[l] = true
	}
	t, err := bench201.Load(*bench)
	if err != nil {
		return err
	}
	truthAcc, err := t.Column(*truthCol)
	if err != nil {
		return usageError("--truth: %v", err)
	}
	m, err := loadScoreNet(*scoreCkpt)
	if err != nil {
		return err
	}
	if m.Space.Name != hwaware.SpaceNB201 {
		return fmt.Errorf("score network is for %s, hw-eval needs nb201", m.Space.Name)
	}
	acc, err := hwaware.Load(*accCkpt)
	if err != nil {
		return err
	}
	cols := map[string][]float64{}
	unit := map[string]string{}
	var budgets []hwaware.Budget
	for _, d := range devs {
		col, err := hwaware.NB201DeviceColumn(t, d[0])
		if err != nil {
			return usageError("--lat: %v", err)
		}
		reg, err := hwaware.Load(d[1])
		if err != nil {
			return err
		}
		if reg.Cfg.Space != hwaware.SpaceNB201 || reg.Cfg.Target != col {
			return fmt.Errorf("--lat %s: %s predicts %s on %s, want %s on nb201", d[0], d[1], reg.Cfg.Target, reg.Cfg.Space, col)
		}
		v, _ := t.Column(col)
		cols[d[0]], unit[d[0]] = v, reg.Cfg.Unit
		for k, b := range hwaware.BudgetNames {
			if !keep[b.Name] {
				continue
			}
			budgets = append(budgets, hwaware.Budget{Device: d[0], Name: b.Name, Quantile: qs[k], Value: hwaware.Quantile(v, qs[k]), Cost: reg})
		}
	}
	truth := func(dev, arch string) (float64, float64, bool) {
		i, err := t.IndexOf(arch)
		if err != nil {
			return 0, 0, false
		}
		return cols[dev][i], truthAcc[i], true
	}
	random := func(n int, seed uint64) []string {
		rng := tensor.NewRNG(seed)
		out := make([]string, n)
		for i := range out {
			out[i] = nb201.Random(rng).String()
		}
		return out
	}
	note := fmt.Sprintf("NB201, score net %s (step %d), accuracy guidance %s (trained on %s), true accuracy %s; %d samples per method, %d PC steps, acc scale %g, cost scale %g, seed %d",
		*scoreCkpt, m.Step, *accCkpt, acc.Cfg.Target, *truthCol, *n, *steps, *accScale, *costScale, *seed)
	fmt.Fprintln(e.stdout, note)
	cfg := hwaware.EvalConfig{Budgets: budgets, Acc: acc, AccScale: *accScale, CostScale: *costScale,
		N: *n, Seed: *seed, Log: e.stdout}
	return runHWEvaluation(e, cfg, hwaware.DiffusionSampler(m, *steps, *batch), random, truth, unit, note, *outMD, *outJSON)
}

// runHWEvaluation runs a hardware-aware evaluation and writes its table to
// stdout and, when asked, as Markdown (with the note) and JSON files. It is
// shared by hw-eval (NB201) and mbv3-hw-eval.
func runHWEvaluation(e *env, cfg hwaware.EvalConfig, sampler hwaware.Sampler, random hwaware.Random,
	truth hwaware.Truth, unit map[string]string, note, outMD, outJSON string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rows, err := hwaware.Evaluate(ctx, cfg, sampler, random, truth)
	if err != nil {
		return err
	}
	hwaware.SortRows(rows)
	hwaware.WriteTable(e.stdout, rows, unit, "")
	if outMD != "" {
		f, err := os.Create(outMD)
		if err != nil {
			return err
		}
		hwaware.WriteTable(f, rows, unit, note)
		if err := f.Close(); err != nil {
			return err
		}
	}
	if outJSON != "" {
		b, err := json.MarshalIndent(rows, "", "  ")
		if err != nil {
			return fmt.Errorf("encode rows: %w", err)
		}
		if err := os.WriteFile(outJSON, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}
