package hwaware

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/nagml/nag/nag/diffusion"
	"github.com/nagml/nag/nag/guide"
	"github.com/nagml/nag/sde"
)

// Budget is one hardware budget of the evaluation.
type Budget struct {
	// Device names the cost ("edgegpu", "flops", ...); Name is "tight",
	// "medium" or "loose"; Value is the budget in the cost's unit; Quantile
	// is the fraction of the reference population under it.
	Device, Name string
	Value        float64
	Quantile     float64
	// Cost is the differentiable cost model used by hardware-aware
	// guidance for this device.
	Cost Model
}

// Truth gives the true (benchmark) cost of an architecture string on a
// device and its true accuracy; ok is false when the benchmark has no
// value for it.
type Truth func(device, arch string) (cost, acc float64, ok bool)

// Sampler draws n architecture strings ("" for an invalid sample) with the
// guidance target obj (nil: unguided), seeded by seed.
type Sampler func(ctx context.Context, obj Model, n int, seed uint64) ([]string, error)

// Random draws n architecture strings uniformly from the search space.
type Random func(n int, seed uint64) []string

// EvalConfig configures Evaluate.
type EvalConfig struct {
	Budgets []Budget
	// Acc is the accuracy model of the guided methods and AccScale its
	// weight (per unit of Acc's output).
	Acc      Model
	AccScale float64
	// CostScale weighs the relative budget violation relu(cost/budget − 1).
	CostScale float64
	// N is the number of samples per method and budget.
	N    int
	Seed uint64
	// Note is printed above the table (e.g. that accuracies are a surrogate).
	Note string
	Log  io.Writer
}

// Row is one line of the evaluation table.
type Row struct {
	Device   string  `json:"device"`
	Budget   string  `json:"budget"`
	Value    float64 `json:"budget_value"`
	Quantile float64 `json:"quantile"`
	Method   string  `json:"method"`
	// Samples and Valid count generated samples; Meet counts valid samples
	// within the budget and Unique the distinct ones among them.
	Samples int `json:"samples"`
	Valid   int `json:"valid"`
	Meet    int `json:"meet"`
	Unique  int `json:"unique"`
	// Frac is Meet/Valid; Best and Mean are the best and mean true accuracy
	// over the distinct architectures within the budget (NaN when none).
	Frac       float64 `json:"frac"`
	Best, Mean float64 `json:"-"`
	// MeanCost is the mean true cost over valid samples.
	MeanCost float64 `json:"mean_cost"`
	Seconds  float64 `json:"seconds"`
}

// MarshalJSON writes Best and Mean as null when they are NaN (no
// architecture within the budget).
func (r Row) MarshalJSON() ([]byte, error) {
	type plain Row
	out := struct {
		plain
		Best *float64 `json:"best"`
		Mean *float64 `json:"mean"`
	}{plain: plain(r)}
	if !math.IsNaN(r.Best) {
		out.Best = &r.Best
	}
	if !math.IsNaN(r.Mean) {
		out.Mean = &r.Mean
	}
	return json.Marshal(out)
}

// Method names of the evaluation table.
const (
	MethodHW      = "hw-guided"
	MethodAccOnly = "acc-guided, filtered"
	MethodRandom  = "random, filtered"
)

// Evaluate runs the hardware-aware comparison: for every budget,
// hardware-aware guidance (accuracy + budget term) against accuracy-only
// guidance filtered afterwards (one sample set shared by all budgets) and
// uniform random sampling filtered by the budget (one set).
func Evaluate(ctx context.Context, cfg EvalConfig, sample Sampler, random Random, truth Truth) ([]Row, error) {
	logw := cfg.Log
	if logw == nil {
		logw = io.Discard
	}
	if cfg.N < 1 {
		return nil, fmt.Errorf("hardware evaluation: %d samples per method", cfg.N)
	}
	var rows []Row
	score := func(b Budget, method string, archs []string, secs float64) Row {
		r := Row{Device: b.Device, Budget: b.Name, Value: b.Value, Quantile: b.Quantile, Method: method, Samples: len(archs), Seconds: secs,
			Best: math.NaN(), Mean: math.NaN()}
		seen := map[string]bool{}
		var accs []float64
		for _, a := range archs {
			if a == "" {
				continue
			}
			c, acc, ok := truth(b.Device, a)
			if !ok {
				continue
			}
			r.Valid++
			r.MeanCost += c
			if c > b.Value {
				continue
			}
			r.Meet++
			if !seen[a] {
				seen[a] = true
				accs = append(accs, acc)
			}
		}
		if r.Valid > 0 {
			r.Frac = float64(r.Meet) / float64(r.Valid)
			r.MeanCost /= float64(r.Valid)
		}
		r.Unique = len(accs)
		if len(accs) > 0 {
			r.Best, r.Mean = math.Inf(-1), 0
			for _, a := range accs {
				r.Best = math.Max(r.Best, a)
				r.Mean += a
			}
			r.Mean /= float64(len(accs))
		}
		return r
	}
	t0 := time.Now()
	accArchs, err := sample(ctx, &Objective{Acc: cfg.Acc, AccScale: cfg.AccScale}, cfg.N, cfg.Seed)
	if err != nil {
		return nil, fmt.Errorf("accuracy-guided sampling: %w", err)
	}
	accSecs := time.Since(t0).Seconds()
	fmt.Fprintf(logw, "accuracy-only guided: %d samples in %.0fs\n", len(accArchs), accSecs)
	randArchs := random(cfg.N, cfg.Seed+1)
	for k, b := range cfg.Budgets {
		obj := &Objective{Acc: cfg.Acc, AccScale: cfg.AccScale,
			Constraints: []Constraint{{Name: b.Device, Cost: b.Cost, Budget: b.Value, Scale: cfg.CostScale}}}
		if err := obj.Validate(); err != nil {
			return nil, err
		}
		t := time.Now()
		hw, err := sample(ctx, obj, cfg.N, cfg.Seed+uint64(2+k))
		if err != nil {
			return nil, fmt.Errorf("%s %s budget: %w", b.Device, b.Name, err)
		}
		r := score(b, MethodHW, hw, time.Since(t).Seconds())
		rows = append(rows, r, score(b, MethodAccOnly, accArchs, accSecs), score(b, MethodRandom, randArchs, 0))
		fmt.Fprintf(logw, "%s %s (%.4g): hw-guided meets %d/%d valid, best %.2f mean %.2f (%.0fs)\n",
			b.Device, b.Name, b.Value, r.Meet, r.Valid, r.Best, r.Mean, r.Seconds)
	}
	return rows, nil
}

// WriteTable writes rows as a Markdown table.
func WriteTable(w io.Writer, rows []Row, unit map[string]string, note string) {
	if note != "" {
		fmt.Fprintf(w, "%s\n\n", note)
	}
	fmt.Fprintln(w, "| device | budget | method | valid | meet budget (of valid) | meet budget (of all) | unique in budget | best acc | mean acc | mean cost |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|")
	f := func(v float64) string {
		if math.IsNaN(v) {
			return "–"
		}
		return fmt.Sprintf("%.2f", v)
	}
	for _, r := range rows {
		all := 0.0
		if r.Samples > 0 {
			all = float64(r.Meet) / float64(r.Samples)
		}
		fmt.Fprintf(w, "| %s | %s %.4g %s (q%.0f) | %s | %d/%d | %.1f %% | %.1f %% | %d | %s | %s | %.4g |\n",
			r.Device, r.Budget, r.Value, unit[r.Device], 100*r.Quantile, r.Method, r.Valid, r.Samples, 100*r.Frac, 100*all, r.Unique, f(r.Best), f(r.Mean), r.MeanCost)
	}
}

// DiffusionSampler returns a Sampler that draws from a trained score
// network with guide.Hook(score, obj, 1) (the objective's gradient added
// to the score in the corrector and predictor steps), steps timesteps of
// the PC sampler in batches of batch.
func DiffusionSampler(m *diffusion.Model, steps, batch int) Sampler {
	return func(ctx context.Context, obj Model, n int, seed uint64) ([]string, error) {
		opt := diffusion.SampleOptions{N: n, Batch: batch, Steps: steps, Seed: seed}
		if obj != nil {
			restore := guide.Freeze(obj.Params())
			defer restore()
			opt.Guide = func(s sde.ScoreFn) sde.ScoreFn { return guide.Hook(s, obj, 1, nil) }
		}
		res, err := m.Sample(ctx, opt)
		if err != nil {
			return nil, err
		}
		out := make([]string, n)
		for i := range out {
			if res.Valid[i] {
				out[i] = res.Archs[i]
			}
		}
		return out, nil
	}
}

// BudgetNames are the default budget levels and the quantiles of the
// reference population's cost they sit at.
var BudgetNames = []struct {
	Name     string
	Quantile float64
}{{"tight", 0.1}, {"medium", 0.3}, {"loose", 0.6}}

// SortRows orders rows by device, budget level and method.
func SortRows(rows []Row) {
	lvl := map[string]int{"tight": 0, "medium": 1, "loose": 2}
	mth := map[string]int{MethodHW: 0, MethodAccOnly: 1, MethodRandom: 2}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.Device != b.Device {
			return strings.Compare(a.Device, b.Device) < 0
		}
		if lvl[a.Budget] != lvl[b.Budget] {
			return lvl[a.Budget] < lvl[b.Budget]
		}
		return mth[a.Method] < mth[b.Method]
	})
}
