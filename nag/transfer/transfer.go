// Package transfer runs DiffusionNAG's transferable NAS pipeline on
// NAS-Bench-201 (reference §7.1): generate architectures with
// predictor-guided diffusion for a target dataset, deduplicate them, rank
// them by the meta-predictor, evaluate the top k with an Evaluator, and
// report the results as JSON and as a readable table.
package transfer

import (
	"context"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/nag/evaluate"
	"github.com/nagml/nag/nag/guide"
	"github.com/nagml/nag/nag/nb201"
	"github.com/nagml/nag/nag/predictor"
	"github.com/nagml/nag/sde"
	"github.com/nagml/nag/tensor"
)

// Target is a dataset the pipeline can search for.
type Target struct {
	Name   string        // "cifar10"
	Metric string        // NB201 table column of the true accuracy ("c10_test")
	Cost   nb201.Dataset // dataset for params / FLOPs
}

// Targets lists the supported targets.
var Targets = []Target{
	{Name: "cifar10", Metric: "c10_test", Cost: nb201.CIFAR10},
	{Name: "cifar100", Metric: "c100_test", Cost: nb201.CIFAR100},
	{Name: "imagenet16-120", Metric: "in16_test", Cost: nb201.ImageNet16},
}

// TargetByName returns the target called name.
func TargetByName(name string) (Target, error) {
	var names []string
	for _, t := range Targets {
		if t.Name == name {
			return t, nil
		}
		names = append(names, t.Name)
	}
	return Target{}, fmt.Errorf("unknown target %q (want %s)", name, strings.Join(names, ", "))
}

// Config configures Run.
type Config struct {
	Target Target
	// TopK architectures (by predicted accuracy) are evaluated.
	TopK int
	// Dedup is "string" (the reference: identical strings) or "iso" (also
	// merge isomorphic cells, keeping the best-ranked representative).
	Dedup string
	// Gen configures guided generation (Want, rounds, scale, sampler...).
	Gen guide.Options
	// Feats are the target's dataset features [classes, per_class, dim]
	// (nil: the unknown-dataset vector).
	Feats *tensor.Tensor
}

// Entry is one ranked architecture in the report.
type Entry struct {
	Rank      int     `json:"rank"` // 1-based rank by prediction
	Arch      string  `json:"arch"`
	Pred      float64 `json:"pred"`
	Params    int64   `json:"params"`
	FLOPs     int64   `json:"flops"`
	Count     int     `json:"count"`
	Evaluated bool    `json:"evaluated"`
	Acc       float64 `json:"acc,omitempty"`
	OK        bool    `json:"ok,omitempty"`
	Err       string  `json:"error,omitempty"`
	Attempts  int     `json:"attempts,omitempty"`
}

// Report is the pipeline's output.
type Report struct {
	Target       string             `json:"target"`
	Metric       string             `json:"metric"`
	Evaluator    string             `json:"evaluator"`
	Seed         uint64             `json:"seed"`
	Conditioned  bool               `json:"conditioned"` // dataset features used
	Rounds       int                `json:"rounds"`
	Sampled      int                `json:"sampled"`
	Valid        int                `json:"valid"`
	Unique       int                `json:"unique"` // after deduplication
	Scales       []float64          `json:"scales"`
	Steps        int                `json:"steps"`
	TopK         int                `json:"top_k"`
	Entries      []Entry            `json:"entries"`      // all unique archs, ranked
	BestOfTop    map[string]float64 `json:"best_of_top"`  // "1","2","5","10",...: best evaluated acc among the top k
	FailedEvals  int                `json:"failed_evals"` // evaluations that failed
	ElapsedSec   float64            `json:"elapsed_s"`
	GenerateSec  float64            `json:"generate_s"`
	EvaluatedSec float64            `json:"evaluate_s"`
}

// Run generates, deduplicates, ranks and evaluates. s and score are the
// score network's SDE and unguided score hook.
func Run(ctx context.Context, s sde.SDE, score sde.ScoreFn, pred *predictor.Model, ev evaluate.Evaluator, cfg Config) (*Report, error) {
	if cfg.TopK < 1 {
		return nil, fmt.Errorf("transfer: top-k %d must be positive", cfg.TopK)
	}
	g, err := Generate(ctx, s, score, pred, cfg)
	if err != nil {
		return nil, err
	}
	return g.Evaluate(ctx, ev, cfg.Target, cfg.TopK)
}

// Generated holds ranked, deduplicated candidates of one generation; one
// generation can be evaluated for several targets when the predictor was
// not conditioned on target features.
type Generated struct {
	Result      *guide.Result
	Cands       []guide.Candidate
	Conditioned bool
	Steps       int
	Seed        uint64
	Elapsed     time.Duration
}

// Generate runs the generation, deduplication and ranking of Run.
func Generate(ctx context.Context, s sde.SDE, score sde.ScoreFn, pred *predictor.Model, cfg Config) (*Generated, error) {
	if pred == nil {
		return nil, fmt.Errorf("transfer: needs a predictor")
	}
	start := time.Now()
	ds, err := pred.DatasetVector(gnn.Ctx{}, cfg.Feats)
	if err != nil {
		return nil, fmt.Errorf("transfer: %w", err)
	}
	if cfg.Target.Cost.Name != "" {
		cfg.Gen.Cost = cfg.Target.Cost
	}
	res, err := guide.Generate(ctx, s, score, pred, ds, cfg.Gen)
	if err != nil {
		return nil, fmt.Errorf("transfer: %w", err)
	}
	cands, err := Dedup(res.Archs, cfg.Dedup)
	if err != nil {
		return nil, err
	}
	steps := cfg.Gen.Sampler.Steps
	if steps == 0 {
		steps = 1000
	}
	return &Generated{Result: res, Cands: cands, Conditioned: cfg.Feats != nil, Steps: steps, Seed: cfg.Gen.Seed,
		Elapsed: time.Since(start)}, nil
}

// Evaluate evaluates the top k candidates with ev for target t and builds
// the report (params and FLOPs for t's dataset).
func (g *Generated) Evaluate(ctx context.Context, ev evaluate.Evaluator, t Target, topK int) (*Report, error) {
	if topK < 1 {
		return nil, fmt.Errorf("transfer: top-k %d must be positive", topK)
	}
	if ev == nil {
		return nil, fmt.Errorf("transfer: needs an evaluator")
	}
	start := time.Now()
	res, cands := g.Result, g.Cands
	rep := &Report{Target: t.Name, Metric: t.Metric, Evaluator: ev.Name(), Seed: g.Seed,
		Conditioned: g.Conditioned, Rounds: res.Rounds, Sampled: res.Sampled, Valid: res.Valid, Unique: len(cands),
		Scales: res.Scales, Steps: g.Steps, TopK: topK, BestOfTop: map[string]float64{}}
	for i, c := range cands {
		e := Entry{Rank: i + 1, Arch: c.Arch, Pred: c.Pred, Params: c.Params, FLOPs: c.FLOPs, Count: c.Count}
		if t.Cost.Name != "" {
			if a, err := nb201.Parse(c.Arch); err == nil {
				e.Params, e.FLOPs = a.Params(t.Cost), a.FLOPs(t.Cost)
			}
		}
		rep.Entries = append(rep.Entries, e)
	}
	k := min(topK, len(cands))
	top := make([]string, k)
	for i := range top {
		top[i] = cands[i].Arch
	}
	results, err := ev.Evaluate(ctx, top)
	if err != nil {
		return nil, fmt.Errorf("transfer: evaluate: %w", err)
	}
	if len(results) != k {
		return nil, fmt.Errorf("transfer: evaluator %s returned %d results for %d architectures", ev.Name(), len(results), k)
	}
	for i, r := range results {
		e := &rep.Entries[i]
		e.Evaluated, e.Acc, e.OK, e.Err, e.Attempts = true, r.Acc, r.OK, r.Err, r.Attempts
		if !r.OK {
			rep.FailedEvals++
		}
	}
	for _, kk := range []int{1, 2, 5, 10, 20, 50, 100} {
		if kk > k {
			break
		}
		best := math.Inf(-1)
		for _, e := range rep.Entries[:kk] {
			if e.OK && e.Acc > best {
				best = e.Acc
			}
		}
		if !math.IsInf(best, -1) {
			rep.BestOfTop[fmt.Sprint(kk)] = best
		}
	}
	rep.GenerateSec = g.Elapsed.Seconds()
	rep.EvaluatedSec = time.Since(start).Seconds()
	rep.ElapsedSec = rep.GenerateSec + rep.EvaluatedSec
	return rep, nil
}

// Dedup removes duplicates from candidates ranked by prediction: "string"
// (or "") keeps distinct strings (already distinct after Generate), "iso"
// keeps the first (best-ranked) cell of each isomorphism class and adds the
// counts of the others to it.
func Dedup(cands []guide.Candidate, mode string) ([]guide.Candidate, error) {
	switch mode {
	case "", "string":
		seen := map[string]int{}
		var out []guide.Candidate
		for _, c := range cands {
			if i, ok := seen[c.Arch]; ok {
				out[i].Count += c.Count
				continue
			}
			seen[c.Arch] = len(out)
			out = append(out, c)
		}
		return out, nil
	case "iso":
		seen := map[string]int{}
		var out []guide.Candidate
		for _, c := range cands {
			a, err := nb201.Parse(c.Arch)
			if err != nil {
				return nil, fmt.Errorf("dedup: %w", err)
			}
			key := a.Canonical()
			if i, ok := seen[key]; ok {
				out[i].Count += c.Count
				continue
			}
			seen[key] = len(out)
			out = append(out, c)
		}
		return out, nil
	}
	return nil, fmt.Errorf("dedup mode %q (want string or iso)", mode)
}

// WriteTable prints a readable summary: the ranked top entries (all
// evaluated ones, at least 10 when available) and the best accuracy among
// the top k.
func (r *Report) WriteTable(w io.Writer) {
	cond := "unknown-dataset vector (no dataset features)"
	if r.Conditioned {
		cond = "dataset features"
	}
	fmt.Fprintf(w, "target %s (%s), predictor conditioned on: %s\n", r.Target, r.Metric, cond)
	fmt.Fprintf(w, "generated %d samples in %d rounds (%d steps, scales %s): %d valid (%.1f%%), %d unique\n",
		r.Sampled, r.Rounds, r.Steps, fmtScales(r.Scales), r.Valid, 100*float64(r.Valid)/float64(max(r.Sampled, 1)), r.Unique)
	fmt.Fprintf(w, "%4s  %7s  %8s  %8s  %9s  %-88s\n", "rank", "pred", "params", "MFLOPs", "acc", "arch")
	for _, e := range r.Entries {
		if !e.Evaluated && e.Rank > 10 {
			break
		}
		acc := "-"
		switch {
		case e.Evaluated && e.OK:
			acc = fmt.Sprintf("%.2f", e.Acc)
		case e.Evaluated:
			acc = "failed"
		}
		fmt.Fprintf(w, "%4d  %7.2f  %7.3fM  %8.2f  %9s  %s\n", e.Rank, e.Pred, float64(e.Params)/1e6, float64(e.FLOPs)/1e6, acc, e.Arch)
		if e.Evaluated && !e.OK {
			fmt.Fprintf(w, "      error: %s\n", e.Err)
		}
	}
	var ks []string
	for k := range r.BestOfTop {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return atoi(ks[i]) < atoi(ks[j]) })
	for _, k := range ks {
		fmt.Fprintf(w, "best %s among top %s: %.2f\n", r.Metric, k, r.BestOfTop[k])
	}
	fmt.Fprintf(w, "evaluator %s: %d evaluated, %d failed; time %.1fs (generate %.1fs, evaluate %.1fs)\n",
		r.Evaluator, min(r.TopK, len(r.Entries)), r.FailedEvals, r.ElapsedSec, r.GenerateSec, r.EvaluatedSec)
}

func atoi(s string) int {
	n := 0
	fmt.Sscan(s, &n)
	return n
}

func fmtScales(s []float64) string {
	if len(s) == 0 {
		return "-"
	}
	if len(s) == 1 {
		return fmt.Sprint(s[0])
	}
	return fmt.Sprintf("%g..%g", s[0], s[len(s)-1])
}
