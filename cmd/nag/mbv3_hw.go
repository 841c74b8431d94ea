package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/nagml/nag/nag/hwaware"
	"github.com/nagml/nag/nag/mbv3"
	"github.com/nagml/nag/nag/ofa"
	"github.com/nagml/nag/tensor"
)

// runMBV3HWEval is hw-eval for the OFA MobileNetV3 space: accuracy from
// OFA's predictor at r = 224 (a surrogate), costs FLOPs and params (exact)
// and a GPU latency estimated by an independently trained regressor.
func runMBV3HWEval(e *env, args []string) error {
	fs := newFlags(e, "mbv3-hw-eval", "--score-ckpt FILE --acc-ckpt FILE [--lat-guide FILE --lat-truth FILE] [flags]")
	scoreCkpt := fs.String("score-ckpt", "default", "OFA score network (nag mbv3-train-score; default: the embedded one)")
	accCkpt := fs.String("acc-ckpt", "", "noise-aware accuracy regressor (nag hw-train --space mbv3 --target moofa_top1) used for guidance (required)")
	accR := fs.Int("acc-r", 192, "resolution the accuracy regressor predicts for while guiding (the measured table has 128/160/192)")
	latGuide := fs.String("lat-guide", "", "latency regressor used for guidance (nag hw-train --space mbv3 --target DEVICE)")
	latTruth := fs.String("lat-truth", "", "independent latency regressor used as the latency truth (trained on all HELP rows); both or neither")
	ofaDir := fs.String("ofa-dir", mbv3.DefaultDir(), "folder with ofa_acc_predictor_w12.safetensors (default $NAG_DATA/ofa-mbv3)")
	r := fs.Int("r", 224, "input resolution of the evaluated networks (costs and oracle)")
	quant := fs.String("quantiles", "0.1,0.3,0.6", "budget quantiles (tight, medium, loose) of each cost over 10,000 networks from OFA's sampler")
	n := fs.Int("n", 200, "samples per method and budget")
	steps := fs.Int("steps", 200, "sampler timesteps")
	batch := fs.Int("batch", 200, "sampler batch")
	accScale := fs.Float64("acc-scale", 10, "weight of the predicted accuracy (per % point)")
	costScale := fs.Float64("cost-scale", 1000, "weight of the relative budget violation")
	seed := fs.Uint64("seed", 1, "random seed")
	outMD := fs.String("out-md", "", "write the Markdown table here")
	outJSON := fs.String("out-json", "", "write the rows as JSON here")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *accCkpt == "" || *ofaDir == "" {
		return usageError("--acc-ckpt and --ofa-dir (or $NAG_DATA) are required")
	}
	if (*latGuide == "") != (*latTruth == "") {
		return usageError("--lat-guide and --lat-truth go together")
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
		return usageError("--quantiles: want %d values", len(hwaware.BudgetNames))
	}
	m, err := mbv3.LoadScoreModelOrDefault(*scoreCkpt)
	if err != nil {
		return err
	}
	acc, err := hwaware.Load(*accCkpt)
	if err != nil {
		return err
	}
	if acc.Cfg.Space != hwaware.SpaceMBV3 {
		return fmt.Errorf("--acc-ckpt is for %s, want mbv3", acc.Cfg.Space)
	}
	acc.Cfg.R = *accR
	p, err := mbv3.LoadAccPredictor(filepath.Join(*ofaDir, mbv3.PredictorFile))
	if err != nil {
		return err
	}
	oracle := mbv3.NewOracle(p)
	oracle.R = *r
	fl, err := hwaware.OFACost("flops", *r, 1.0)
	if err != nil {
		return usageError("--r: %v", err)
	}
	pa, _ := hwaware.OFACost("params", *r, 1.0)
	type dev struct {
		name  string
		model hwaware.Model
		truth func(a ofa.Arch) float64
	}
	devs := []dev{
		{"flops", fl, func(a ofa.Arch) float64 { x := a.OneHot(); return fl.Value(x.Slice()) }},
		{"params", pa, func(a ofa.Arch) float64 { x := a.OneHot(); return pa.Value(x.Slice()) }},
	}
	unit := map[string]string{"flops": "MMACs", "params": "M"}
	if *latGuide != "" {
		g, err := hwaware.Load(*latGuide)
		if err != nil {
			return err
		}
		tr, err := hwaware.Load(*latTruth)
		if err != nil {
			return err
		}
		if g.Cfg.Space != hwaware.SpaceMBV3 || tr.Cfg.Space != hwaware.SpaceMBV3 || g.Cfg.Target != tr.Cfg.Target {
			return fmt.Errorf("latency regressors: guide predicts %s on %s, truth %s on %s; want the same mbv3 target", g.Cfg.Target, g.Cfg.Space, tr.Cfg.Target, tr.Cfg.Space)
		}
		g.Cfg.R, tr.Cfg.R = *r, *r
		name := strings.TrimPrefix(g.Cfg.Target, "help_lat_ms_")
		unit[name] = "ms (est.)"
		devs = append(devs, dev{name, g, func(a ofa.Arch) float64 {
			x := a.OneHot()
			return tr.PredictClean([][]float32{x.Slice()}, nil)[0]
		}})
	}
	// Budgets from OFA's sampler population.
	pop, err := mbv3.OFAArchs(10000, *seed+1000)
	if err != nil {
		return err
	}
	var budgets []hwaware.Budget
	truthCost := map[string]func(ofa.Arch) float64{}
	for _, d := range devs {
		v := make([]float64, len(pop))
		for i, a := range pop {
			v[i] = d.truth(a)
		}
		truthCost[d.name] = d.truth
		for k, b := range hwaware.BudgetNames {
			budgets = append(budgets, hwaware.Budget{Device: d.name, Name: b.Name, Quantile: qs[k], Value: hwaware.Quantile(v, qs[k]), Cost: d.model})
		}
	}
	accCache := map[string]float64{}
	truth := func(device, arch string) (float64, float64, bool) {
		a, err := ofa.Parse(arch)
		if err != nil {
			return 0, 0, false
		}
		v, ok := accCache[arch]
		if !ok {
			y, err := oracle.AccuracyOf([]ofa.Arch{a})
			if err != nil {
				return 0, 0, false
			}
			v = y[0]
			accCache[arch] = v
		}
		return truthCost[device](a), v, true
	}
	random := func(n int, seed uint64) []string {
		rng := tensor.NewRNG(seed)
		out := make([]string, n)
		for i := range out {
			out[i] = ofa.Random(rng).String()
		}
		return out
	}
	note := fmt.Sprintf("OFA MobileNetV3 (w1.0 costs at r %d). %s. Score net %s (step %d); accuracy guidance: noise-aware regressor %s (measured w1.0 top-1, at r %d); FLOPs/params exact; latency truth: an independent regressor (%s), an estimate, not a measurement. %d samples per method, %d PC steps, acc scale %g, cost scale %g, seed %d.",
		*r, mbv3.SurrogateNote, *scoreCkpt, m.Step, *accCkpt, *accR, *latTruth, *n, *steps, *accScale, *costScale, *seed)
	fmt.Fprintln(e.stdout, note)
	cfg := hwaware.EvalConfig{Budgets: budgets, Acc: acc, AccScale: *accScale, CostScale: *costScale,
		N: *n, Seed: *seed, Log: e.stdout}
	return runHWEvaluation(e, cfg, hwaware.DiffusionSampler(m, *steps, *batch), random, truth, unit, note, *outMD, *outJSON)
}
