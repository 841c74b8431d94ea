package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/nag/bench201"
	"github.com/nagml/nag/nag/evaluate"
	"github.com/nagml/nag/nag/transfer"
	"github.com/nagml/nag/sde"
)

// runTransfer runs the transferable NAS pipeline: generate, deduplicate,
// rank by the predictor, evaluate the top k, report.
func runTransfer(e *env, args []string) error {
	fs := newFlags(e, "transfer", "--target cifar10|cifar100 [--top-k 10] [--evaluate table|cmd] [--evaluate-cmd 'CMD'] [--bench PATH] [--json FILE] [--device cuda]")
	g := addGenFlags(fs)
	target := fs.String("target", "cifar10", "target dataset(s): cifar10, cifar100 or imagenet16-120; a comma-separated list shares one generation (only without --dataset)")
	topK := fs.Int("top-k", 10, "evaluate this many top-ranked architectures")
	how := fs.String("evaluate", "table", "evaluator: table (NB201 look-up) or cmd (external command)")
	cmd := fs.String("evaluate-cmd", "", "shell command run once per architecture with the arch string appended as the last argument (and NAG_TARGET set); it must print the accuracy as the last number of its output")
	conc := fs.Int("concurrency", 1, "cmd evaluator: concurrent runs")
	retries := fs.Int("retries", 0, "cmd evaluator: extra attempts after a failure")
	timeout := fs.Duration("eval-timeout", 0, "cmd evaluator: timeout per attempt (0 = none)")
	bench := fs.String("bench", defaultNB201(), "NB201 table nb201.csv.gz for --evaluate table "+nb201FlagHelp)
	metric := fs.String("metric", "", "table column to evaluate with (default: the target's test accuracy, e.g. c10_test)")
	dedup := fs.String("dedup", "string", "deduplication: string (identical cells) or iso (also isomorphic cells)")
	jsonOut := fs.String("json", "", "write the full report as JSON to this file")
	device := addDeviceFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := g.validate(); err != nil {
		return err
	}
	var tgts []transfer.Target
	for _, name := range strings.Split(*target, ",") {
		t, err := transfer.TargetByName(strings.TrimSpace(name))
		if err != nil {
			return usageError("--target: %v", err)
		}
		if *metric != "" {
			t.Metric = *metric
		}
		tgts = append(tgts, t)
	}
	if len(tgts) > 1 && (*g.dataset != "" || *g.images != "") {
		return usageError("several targets share one generation only without --dataset (features belong to one target)")
	}
	if len(tgts) > 1 && *metric != "" {
		return usageError("--metric applies to a single target")
	}
	if *topK < 1 {
		return usageError("--top-k %d must be positive", *topK)
	}
	if *dedup != "string" && *dedup != "iso" {
		return usageError("--dedup %q: want string or iso", *dedup)
	}
	evs := make([]evaluate.Evaluator, len(tgts))
	switch *how {
	case "table":
		if *bench == "" {
			return usageError("--evaluate table needs --bench or $%s", bench201.EnvPath)
		}
		t, err := bench201.Load(*bench)
		if err != nil {
			return err
		}
		for i, tg := range tgts {
			if evs[i], err = evaluate.NewTable(t, tg.Metric); err != nil {
				return usageError("%v", err)
			}
		}
	case "cmd":
		if *cmd == "" {
			return usageError("--evaluate cmd needs --evaluate-cmd 'CMD'")
		}
		if *conc < 1 || *retries < 0 || *timeout < 0 {
			return usageError("--concurrency must be >= 1, --retries and --eval-timeout >= 0")
		}
		for i, tg := range tgts {
			evs[i] = &evaluate.Command{Cmd: *cmd, Concurrency: *conc, Retries: *retries, Timeout: *timeout,
				Env: []string{"NAG_TARGET=" + tg.Name}}
		}
	default:
		return usageError("--evaluate %q: want table or cmd", *how)
	}
	sm, err := loadScoreNet(*g.scoreCkpt)
	if err != nil {
		return err
	}
	pm, err := loadPredictorCkpt(*g.predCkpt)
	if err != nil {
		return err
	}
	feats, err := g.features(e.stderr, pm)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	gopt := g.options(tgts[0], roundProgress(e.stderr))
	scoreFn := sm.ScoreFn(nil)
	dv, err := openDevice(*device)
	if err != nil {
		return err
	}
	if dv != nil {
		// Generation on the device (score network and guidance); ranking
		// and evaluation stay on the host.
		defer dv.Close()
		fmt.Fprintf(e.stderr, "device: %s\n", dv.Name())
		ds, err := pm.DatasetVector(gnn.Ctx{}, feats)
		if err != nil {
			return err
		}
		score, round, free := deviceGuidance(dv, sm, pm, ds)
		defer free()
		scoreFn = score
		gopt.Guided = func(scale float64) sde.ScoreFn { round(scale); return score }
	}
	start := time.Now()
	gen, err := transfer.Generate(ctx, sm.SDE, scoreFn, pm, transfer.Config{
		Target: tgts[0], Dedup: *dedup, Gen: gopt, Feats: feats})
	if err != nil {
		return err
	}
	var reps []*transfer.Report
	for i, tg := range tgts {
		rep, err := gen.Evaluate(ctx, evs[i], tg, *topK)
		if err != nil {
			return err
		}
		if i > 0 {
			fmt.Fprintln(e.stdout)
		}
		rep.WriteTable(e.stdout)
		reps = append(reps, rep)
	}
	if *jsonOut != "" {
		var v any = reps
		if len(reps) == 1 {
			v = reps[0]
		}
		b, _ := json.MarshalIndent(v, "", "  ")
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
		fmt.Fprintf(e.stderr, "wrote %s (%.1fs)\n", *jsonOut, time.Since(start).Seconds())
	}
	return nil
}
