package bo

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// DefaultReportBudgets are the evaluation counts the report tabulates.
var DefaultReportBudgets = []int{10, 25, 50, 100, 200}

// optTol is the tolerance for "reached the optimum" (table values are exact
// decimals, so equality up to rounding noise).
const optTol = 1e-9

// AtBudget is the incumbent's test value over the runs that made at least
// Evals evaluations.
type AtBudget struct {
	Evals int     `json:"evals"`
	Runs  int     `json:"runs"`
	Mean  float64 `json:"mean"`
	Std   float64 `json:"std"` // sample standard deviation (n−1)
}

// ToOptimum is the number of evaluations until the optimum was reached,
// averaged over the runs that reached it.
type ToOptimum struct {
	Reached int `json:"reached"`
	// Known is false when the runs recorded no optimum (a space too large
	// to know it, e.g. MobileNetV3): then nothing can be reached.
	Known bool    `json:"known"`
	Runs  int     `json:"runs"`
	Mean  float64 `json:"mean"` // NaN when no run reached it
}

// Summary aggregates the runs of one method on one task.
type Summary struct {
	Task   string `json:"task"`   // dataset name
	Search string `json:"search"` // search column
	Note   string `json:"note"`
	Method string `json:"method"`
	Runs   int    `json:"runs"`
	// At lists the incumbent's test value at the report budgets.
	At []AtBudget `json:"at"`
	// Test: evaluations until the incumbent's test value equals the table's
	// best test value. Search: evaluations until the architecture with the
	// best search value was evaluated.
	ToTest   ToOptimum `json:"to_test_optimum"`
	ToSearch ToOptimum `json:"to_search_optimum"`
	// Mean seconds per run (CPU: process CPU time, NaN when not recorded).
	Wall, CPU, Surrogate, Generator float64
}

func (s Summary) key() string { return s.Task + "/" + s.Search }

// Aggregate groups records by (task, search column, method) and summarises
// each group at the given budgets (DefaultReportBudgets when nil). The
// result is sorted by task and method.
func Aggregate(recs []*Record, budgets []int) []Summary {
	if budgets == nil {
		budgets = DefaultReportBudgets
	}
	type key struct{ task, search, method string }
	groups := map[key][]*Record{}
	var keys []key
	for _, r := range recs {
		k := key{r.Task.Name, r.Task.Search, r.Method}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], r)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.task != b.task {
			return a.task < b.task
		}
		if a.search != b.search {
			return a.search < b.search
		}
		return methodOrder(a.method) < methodOrder(b.method)
	})
	var out []Summary
	for _, k := range keys {
		rs := groups[k]
		s := Summary{Task: k.task, Search: k.search, Note: rs[0].Task.Note, Method: k.method, Runs: len(rs)}
		for _, b := range budgets {
			var vals []float64
			for _, r := range rs {
				if len(r.Evals) >= b {
					vals = append(vals, float64(r.Evals[b-1].IncumbentTest))
				}
			}
			m, sd := meanSampleStd(vals)
			s.At = append(s.At, AtBudget{Evals: b, Runs: len(vals), Mean: m, Std: sd})
		}
		s.ToTest = toOptimum(rs, func(r *Record, e EvalRecord) bool {
			return r.OptimumTest != 0 && float64(e.IncumbentTest) >= r.OptimumTest-optTol
		})
		s.ToSearch = toOptimum(rs, func(r *Record, e EvalRecord) bool {
			return r.OptimumSearch != 0 && e.Value >= r.OptimumSearch-optTol
		})
		for _, r := range rs {
			s.ToTest.Known = s.ToTest.Known || r.OptimumTest != 0
			s.ToSearch.Known = s.ToSearch.Known || r.OptimumSearch != 0
		}
		for _, r := range rs {
			s.CPU += float64(r.CPUSeconds) / float64(len(rs))
			s.Wall += r.WallSeconds / float64(len(rs))
			s.Surrogate += r.Timings.Surrogate / float64(len(rs))
			s.Generator += r.Timings.Generator / float64(len(rs))
		}
		out = append(out, s)
	}
	return out
}

// methodOrder sorts the known methods baselines first.
func methodOrder(m string) string {
	order := map[string]string{"random": "0", "rea": "1", "ls": "2", "bananas": "3", "gnn-mutation": "4", "diffusionnag": "5", "diffusionnag-local": "6"}
	if o, ok := order[m]; ok {
		return o + m
	}
	return "9" + m
}

func toOptimum(rs []*Record, hit func(*Record, EvalRecord) bool) ToOptimum {
	t := ToOptimum{Runs: len(rs), Mean: math.NaN()}
	var sum float64
	for _, r := range rs {
		for i, e := range r.Evals {
			if hit(r, e) {
				t.Reached++
				sum += float64(i + 1)
				break
			}
		}
	}
	if t.Reached > 0 {
		t.Mean = sum / float64(t.Reached)
	}
	return t
}

// meanSampleStd returns the mean and the n−1 standard deviation (NaN for an
// empty slice; std 0 for a single value).
func meanSampleStd(v []float64) (mean, std float64) {
	if len(v) == 0 {
		return math.NaN(), math.NaN()
	}
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	if len(v) == 1 {
		return mean, 0
	}
	for _, x := range v {
		std += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(std / float64(len(v)-1))
}

// WriteTable writes the summaries as Markdown tables, one per task.
func WriteTable(w io.Writer, sums []Summary) error {
	var b strings.Builder
	for i, s := range sums {
		if i == 0 || s.key() != sums[i-1].key() {
			if i > 0 {
				b.WriteString("\n")
			}
			fmt.Fprintf(&b, "### %s (search %s)\n%s.\nIncumbent test accuracy (mean ± std over runs) after N evaluations; evaluations until the optimum (mean over the runs that reached it, reached/runs).\n\n", s.Task, s.Search, s.Note)
			b.WriteString("| method | runs |")
			for _, a := range s.At {
				fmt.Fprintf(&b, " N=%d |", a.Evals)
			}
			b.WriteString(" evals to test opt | evals to search opt | s/run wall (CPU; surrogate, generator) |\n|---|---|")
			for range s.At {
				b.WriteString("---|")
			}
			b.WriteString("---|---|---|\n")
		}
		fmt.Fprintf(&b, "| %s | %d |", s.Method, s.Runs)
		for _, a := range s.At {
			switch {
			case a.Runs == 0:
				b.WriteString(" – |")
			case a.Runs < s.Runs:
				fmt.Fprintf(&b, " %.2f ± %.2f (%d runs) |", a.Mean, a.Std, a.Runs)
			default:
				fmt.Fprintf(&b, " %.2f ± %.2f |", a.Mean, a.Std)
			}
		}
		fmt.Fprintf(&b, " %s | %s | %.1f (%.1f; %.1f, %.1f) |\n", fmtOpt(s.ToTest), fmtOpt(s.ToSearch), s.Wall, s.CPU, s.Surrogate, s.Generator)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func fmtOpt(t ToOptimum) string {
	if !t.Known {
		return "n/a (optimum unknown)"
	}
	if t.Reached == 0 {
		return fmt.Sprintf("– (0/%d)", t.Runs)
	}
	return fmt.Sprintf("%.1f (%d/%d)", t.Mean, t.Reached, t.Runs)
}

// Curve is the mean and spread of the incumbent's test value per number of
// evaluations, over the runs that got that far.
type Curve struct {
	Method    string
	Mean, Std []float64
}

// Curves computes the search curves of each method for one task and search
// column, in report order.
func Curves(recs []*Record, task, search string) []Curve {
	by := map[string][]*Record{}
	var methods []string
	for _, r := range recs {
		if r.Task.Name != task || r.Task.Search != search {
			continue
		}
		if _, ok := by[r.Method]; !ok {
			methods = append(methods, r.Method)
		}
		by[r.Method] = append(by[r.Method], r)
	}
	sort.Slice(methods, func(i, j int) bool { return methodOrder(methods[i]) < methodOrder(methods[j]) })
	var out []Curve
	for _, m := range methods {
		c := Curve{Method: m}
		for n := 1; ; n++ {
			var vals []float64
			for _, r := range by[m] {
				if len(r.Evals) >= n {
					vals = append(vals, float64(r.Evals[n-1].IncumbentTest))
				}
			}
			if len(vals) == 0 {
				break
			}
			mu, sd := meanSampleStd(vals)
			c.Mean, c.Std = append(c.Mean, mu), append(c.Std, sd)
		}
		out = append(out, c)
	}
	return out
}

// PlotCurves draws the incumbent's test value against the number of
// evaluations for every method of one task (mean line, ±1 std band) and
// saves it as a PNG at path.
func PlotCurves(path string, recs []*Record, task, search, note string) error {
	cs := Curves(recs, task, search)
	if len(cs) == 0 {
		return fmt.Errorf("plot: no runs for task %s (search %s)", task, search)
	}
	p := plot.New()
	spaceName := "NB201"
	for _, r := range recs {
		if r.Task.Name == task && r.Space == "mbv3" {
			spaceName = "MobileNetV3 (surrogate)"
			break
		}
	}
	p.Title.Text = fmt.Sprintf("%s %s: incumbent test accuracy (search on %s)", spaceName, task, search)
	p.X.Label.Text = "evaluations"
	p.Y.Label.Text = "test accuracy of incumbent (%)"
	p.Legend.Top, p.Legend.Left = false, false
	lo := math.Inf(1)
	for i, c := range cs {
		col := methodColor(c.Method, i)
		r, g, b, _ := col.RGBA()
		band := make(plotter.XYs, 0, 2*len(c.Mean))
		line := make(plotter.XYs, len(c.Mean))
		for n := range c.Mean {
			line[n] = plotter.XY{X: float64(n + 1), Y: c.Mean[n]}
			band = append(band, plotter.XY{X: float64(n + 1), Y: c.Mean[n] + c.Std[n]})
		}
		for n := len(c.Mean) - 1; n >= 0; n-- {
			band = append(band, plotter.XY{X: float64(n + 1), Y: c.Mean[n] - c.Std[n]})
		}
		// Let the y range start at the 10-evaluation level so curves are
		// readable.
		k := min(9, len(c.Mean)-1)
		lo = math.Min(lo, c.Mean[k]-c.Std[k])
		poly, err := plotter.NewPolygon(band)
		if err != nil {
			return fmt.Errorf("plot %s: %w", c.Method, err)
		}
		poly.Color = color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: 50}
		poly.LineStyle.Width = 0
		l, err := plotter.NewLine(line)
		if err != nil {
			return fmt.Errorf("plot %s: %w", c.Method, err)
		}
		l.Color = col
		l.Width = vg.Points(1.5)
		p.Add(poly, l)
		p.Legend.Add(c.Method, l)
	}
	if !math.IsInf(lo, 1) && !math.IsNaN(lo) {
		p.Y.Min = lo
	}
	// The benchmark optimum as a dashed reference line.
	for _, r := range recs {
		if r.Task.Name == task && r.Task.Search == search && r.OptimumTest != 0 {
			n := float64(len(cs[0].Mean))
			for _, c := range cs {
				n = math.Max(n, float64(len(c.Mean)))
			}
			ref, err := plotter.NewLine(plotter.XYs{{X: 1, Y: r.OptimumTest}, {X: n, Y: r.OptimumTest}})
			if err != nil {
				return fmt.Errorf("plot optimum: %w", err)
			}
			ref.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			ref.Color = color.Gray{Y: 80}
			p.Add(ref)
			p.Legend.Add(fmt.Sprintf("optimum %.2f", r.OptimumTest), ref)
			p.Y.Max = math.Max(r.OptimumTest+0.2, math.Min(p.Y.Max, r.OptimumTest+0.6))
			break
		}
	}
	p.Add(plotter.NewGrid())
	if err := p.Save(8*vg.Inch, 5*vg.Inch, path); err != nil {
		return fmt.Errorf("plot: save %s: %w", path, err)
	}
	return nil
}

// methodColor gives DiffusionNAG a black curve and the others the plotutil
// palette without its sixth colour (a brick red hard to tell from the first).
func methodColor(method string, i int) color.Color {
	if method == "diffusionnag" {
		return color.NRGBA{A: 255}
	}
	if i >= 5 {
		i++
	}
	return plotutil.Color(i)
}
