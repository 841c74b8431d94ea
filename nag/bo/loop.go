package bo

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/nagml/nag/tensor"
)

// RecordFormat tags run records.
const RecordFormat = "nag-bo-run/1"

// Config configures one run of the loop.
type Config struct {
	// Budget is the number of successful evaluations; Batch the number of
	// architectures proposed and evaluated per round.
	Budget, Batch int
	// Seed fixes every random choice of the run.
	Seed uint64
	// Concurrency is the number of evaluations run at once (default 1);
	// Retries the number of extra attempts for a failed evaluation.
	Concurrency, Retries int
	// MaxFailures aborts the run after this many failed evaluations
	// (0: Budget).
	MaxFailures int
	// OptimumSearch and OptimumTest are the benchmark optima, recorded so
	// reports can count the evaluations until they were reached (NaN or 0:
	// unknown).
	OptimumSearch, OptimumTest float64
	// Settings is free-form method configuration stored in the record.
	Settings map[string]any
	// Progress, if set, is called after every round.
	Progress func(done int, r *Record)
}

// EvalRecord is one evaluation of a run, in order.
type EvalRecord struct {
	Arch  string  `json:"arch"`
	Value float64 `json:"value"`
	Test  F       `json:"test"`
	Round int     `json:"round"`
	// IncumbentTest is the test value of the incumbent (best search value so
	// far) after this evaluation.
	IncumbentTest F `json:"incumbent_test"`
}

// Failure is an evaluation that failed after all retries.
type Failure struct {
	Arch     string `json:"arch"`
	Error    string `json:"error"`
	Attempts int    `json:"attempts"`
}

// Record is the JSON result of one run.
type Record struct {
	Format string `json:"format"`
	// Space is the search space ("nb201" when absent: records before MobileNetV3 support).
	Space         string         `json:"space,omitempty"`
	Method        string         `json:"method"`
	Task          Task           `json:"task"`
	Seed          uint64         `json:"seed"`
	Budget        int            `json:"budget"`
	Batch         int            `json:"batch"`
	Settings      map[string]any `json:"settings,omitempty"`
	Evals         []EvalRecord   `json:"evals"`
	Failures      []Failure      `json:"failures,omitempty"`
	OptimumSearch float64        `json:"optimum_search,omitempty"`
	OptimumTest   float64        `json:"optimum_test,omitempty"`
	WallSeconds   float64        `json:"wall_s"`
	// CPUSeconds is the process CPU time (user + system) the run used; on a
	// loaded machine it is a better measure of cost than the wall time.
	CPUSeconds    F                  `json:"cpu_s"`
	EvalSeconds   float64            `json:"eval_s"`
	Timings       Timings            `json:"timings"`
	Stats         map[string]float64 `json:"stats,omitempty"`
	Incumbent     string             `json:"incumbent"`
	IncumbentVal  F                  `json:"incumbent_value"`
	IncumbentTest F                  `json:"incumbent_test"`
}

// IncumbentCurve returns the incumbent's test value after each evaluation.
func (r *Record) IncumbentCurve() []float64 {
	out := make([]float64, len(r.Evals))
	for i, e := range r.Evals {
		out[i] = float64(e.IncumbentTest)
	}
	return out
}

// Run runs method on task through ev until cfg.Budget architectures have
// been evaluated (or the space is exhausted). Proposals that repeat an
// evaluated architecture are dropped and replaced by random unseen ones, so
// no architecture is evaluated twice.
func Run[A Arch](ctx context.Context, sp Space[A], m Method[A], ev Evaluator[A], task Task, cfg Config) (*Record, error) {
	if cfg.Budget < 1 || cfg.Batch < 1 {
		return nil, fmt.Errorf("budget %d and batch %d must be positive", cfg.Budget, cfg.Batch)
	}
	if cfg.Concurrency < 1 {
		cfg.Concurrency = 1
	}
	if cfg.Retries < 0 {
		return nil, fmt.Errorf("retries %d must be >= 0", cfg.Retries)
	}
	if cfg.MaxFailures <= 0 {
		cfg.MaxFailures = cfg.Budget
	}
	start, cpu0 := time.Now(), processCPU()
	rng := tensor.NewRNG(cfg.Seed)
	rec := &Record{Format: RecordFormat, Space: sp.Name(), Method: m.Name(), Task: task, Seed: cfg.Seed, Budget: cfg.Budget, Batch: cfg.Batch,
		Settings: cfg.Settings, OptimumSearch: cfg.OptimumSearch, OptimumTest: cfg.OptimumTest, IncumbentVal: F(math.NaN()), IncumbentTest: F(math.NaN())}
	h := NewHistory[A]()
	round := 0
	for h.Len() < cfg.Budget {
		if err := ctx.Err(); err != nil {
			return rec, err
		}
		n := min(cfg.Batch, cfg.Budget-h.Len())
		props, err := m.Propose(ctx, h, n, rng)
		if err != nil {
			return rec, err
		}
		// Enforce: new, distinct, at most n.
		taken := map[A]bool{}
		var batch []A
		for _, a := range props {
			if len(batch) < n && !h.Seen(a) && !taken[a] {
				taken[a] = true
				batch = append(batch, a)
			}
		}
		if len(batch) == 0 {
			batch = randomFill(sp, nil, n, h, taken, rng)
			if len(batch) == 0 {
				break // the space is exhausted
			}
		}
		t0 := time.Now()
		outs, errs := evaluateAll(ctx, ev, batch, cfg.Concurrency, cfg.Retries)
		rec.EvalSeconds += time.Since(t0).Seconds()
		for i, a := range batch {
			if errs[i] != nil {
				if ctx.Err() != nil {
					return rec, ctx.Err()
				}
				h.markFailed(a)
				rec.Failures = append(rec.Failures, Failure{Arch: a.String(), Error: errs[i].Error(), Attempts: cfg.Retries + 1})
				if len(rec.Failures) >= cfg.MaxFailures {
					return rec, fmt.Errorf("%d evaluations failed (last: %s: %v)", len(rec.Failures), a, errs[i])
				}
				continue
			}
			h.Add(Entry[A]{Arch: a, Value: outs[i].Value, Test: outs[i].Test})
			b := h.Entries[h.Best()]
			rec.Evals = append(rec.Evals, EvalRecord{Arch: a.String(), Value: outs[i].Value, Test: F(outs[i].Test), Round: round, IncumbentTest: F(b.Test)})
			rec.Incumbent, rec.IncumbentVal, rec.IncumbentTest = b.Arch.String(), F(b.Value), F(b.Test)
		}
		round++
		rec.WallSeconds = time.Since(start).Seconds()
		rec.CPUSeconds = F(processCPU() - cpu0)
		if t, ok := m.(Timed); ok {
			rec.Timings = t.Timings()
		}
		if cfg.Progress != nil {
			cfg.Progress(h.Len(), rec)
		}
	}
	if s, ok := m.(Stats); ok {
		rec.Stats = s.Stats()
	}
	if t, ok := m.(Timed); ok {
		rec.Timings = t.Timings()
	}
	rec.WallSeconds = time.Since(start).Seconds()
	rec.CPUSeconds = F(processCPU() - cpu0)
	return rec, nil
}

// evaluateAll evaluates batch with up to conc evaluations at once, retrying
// each failure up to retries times. Results keep the batch order.
func evaluateAll[A Arch](ctx context.Context, ev Evaluator[A], batch []A, conc, retries int) ([]Outcome, []error) {
	if be, ok := ev.(BatchEvaluator[A]); ok {
		outs, errs, err := be.EvaluateBatch(ctx, batch)
		if err != nil {
			outs, errs = make([]Outcome, len(batch)), make([]error, len(batch))
			for i := range errs {
				errs[i] = err
			}
		}
		for i := range outs {
			if errs[i] == nil && (math.IsNaN(outs[i].Value) || math.IsInf(outs[i].Value, 0)) {
				errs[i] = fmt.Errorf("evaluator returned non-finite value %g", outs[i].Value)
			}
		}
		return outs, errs
	}
	outs := make([]Outcome, len(batch))
	errs := make([]error, len(batch))
	one := func(i int) {
		for attempt := 0; attempt <= retries; attempt++ {
			outs[i], errs[i] = ev.Evaluate(ctx, batch[i])
			if errs[i] == nil {
				if math.IsNaN(outs[i].Value) || math.IsInf(outs[i].Value, 0) {
					errs[i] = fmt.Errorf("evaluator returned non-finite value %g", outs[i].Value)
					continue
				}
				return
			}
			if ctx.Err() != nil {
				return
			}
		}
	}
	if conc == 1 {
		for i := range batch {
			one(i)
		}
		return outs, errs
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, conc)
	for i := range batch {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			one(i)
		}(i)
	}
	wg.Wait()
	return outs, errs
}
