// Package bo runs Bayesian-optimisation neural architecture search with
// DiffusionNAG as the acquisition optimiser, in any Space (NAS-Bench-201
// cells: NB201Space; OFA MobileNetV3 networks: MBV3Space), next to
// the standard baselines (random search, regularised evolution, local search,
// BANANAS-style BO), all through the same loop, evaluator and seeds
// (reference §8, the paper's Algorithms 1 and 2).
//
// A run is: an initial design, then rounds in which a Method proposes new
// architectures that the Evaluator scores, until the budget of evaluations is
// spent. The BO methods fit a Surrogate (an ensemble, so every prediction has
// a mean and a spread) on the evaluated set, draw a candidate pool with a
// Generator (guided diffusion, mutation of the best architectures, or uniform
// sampling), rank the pool with an Acquisition (EI, UCB, independent Thompson
// sampling) and evaluate the best new ones. An architecture is never evaluated
// twice within a run.
//
// Every run produces a Record (JSON); Aggregate and WriteReport turn many
// records into a table of the incumbent's test accuracy at fixed budgets and
// a plot of the search curves.
package bo

import (
	"context"
	"fmt"
	"math"

	"github.com/nagml/nag/nag/bench201"
	"github.com/nagml/nag/nag/nb201"
)

// Task is what a run optimises: the column searched on and the column
// reported for the incumbent (the architecture with the best search value).
type Task struct {
	// Name is the dataset: "c10", "c100" or "in16".
	Name string `json:"name"`
	// Search is the benchmark column the search maximises; Test the column
	// reported for the incumbent.
	Search string `json:"search"`
	Test   string `json:"test"`
	// Note says in words what is searched on and what is reported.
	Note string `json:"note"`
}

// Search signals accepted by NB201Task.
const (
	SearchValid   = "valid"   // 200-epoch validation (CIFAR-10 only: c10v_valid)
	SearchValid12 = "valid12" // 12-epoch validation (the only validation column for CIFAR-100 / ImageNet16-120)
	SearchTest    = "test"    // the reported test column itself
)

// NB201Task returns the NB201 task for dataset ("c10", "c100", "in16") with
// the given search signal: "" picks the default ("valid" for c10, "test"
// for c100 and in16, whose table has no 200-epoch validation column).
func NB201Task(dataset, search string) (Task, error) {
	t := Task{Name: dataset}
	switch dataset {
	case "c10":
		t.Test = "c10_test"
		if search == "" {
			search = SearchValid
		}
		switch search {
		case SearchValid:
			t.Search = "c10v_valid"
			t.Note = "search on the 200-epoch CIFAR-10 validation accuracy (c10v_valid, x-valid split), report the CIFAR-10 test accuracy (c10_test)"
		case SearchValid12:
			t.Search = "c10v_valid_12ep"
			t.Note = "search on the 12-epoch CIFAR-10 validation accuracy (c10v_valid_12ep), report the 200-epoch CIFAR-10 test accuracy (c10_test)"
		case SearchTest:
			t.Search = "c10_test"
			t.Note = "search directly on the CIFAR-10 test accuracy (c10_test) and report it"
		default:
			return t, fmt.Errorf("task c10: unknown search signal %q (want valid, valid12 or test)", search)
		}
	case "c100", "in16":
		long := map[string]string{"c100": "CIFAR-100", "in16": "ImageNet16-120"}[dataset]
		t.Test = dataset + "_test"
		if search == "" {
			search = SearchTest
		}
		switch search {
		case SearchValid12:
			t.Search = dataset + "_valid_12ep"
			t.Note = fmt.Sprintf("search on the 12-epoch %s validation accuracy (%s), report the 200-epoch test accuracy (%s); the table has no 200-epoch validation column", long, t.Search, t.Test)
		case SearchTest:
			t.Search = t.Test
			t.Note = fmt.Sprintf("search directly on the 200-epoch %s test accuracy (%s) and report it; the table has no 200-epoch validation column", long, t.Test)
		case SearchValid:
			return t, fmt.Errorf("task %s: NB201 has no 200-epoch validation column for %s (use valid12 or test)", dataset, long)
		default:
			return t, fmt.Errorf("task %s: unknown search signal %q (want valid12 or test)", dataset, search)
		}
	default:
		return t, fmt.Errorf("unknown task %q (want c10, c100 or in16)", dataset)
	}
	return t, nil
}

// Outcome is the result of evaluating one architecture: the value the search
// maximises and the test value reported for it (NaN when the evaluator has no
// test value, e.g. an external training job that reports one number).
type Outcome struct {
	Value float64
	Test  float64
}

// Evaluator scores architectures. Implementations must be safe for
// concurrent use when the loop is configured with Concurrency > 1.
type Evaluator[A Arch] interface {
	Evaluate(ctx context.Context, a A) (Outcome, error)
}

// TableEvaluator looks architectures up in the NB201 table.
type TableEvaluator struct {
	search, test []float64
	table        *bench201.Table
	task         Task
}

// NewTableEvaluator returns the table look-up evaluator of task.
func NewTableEvaluator(t *bench201.Table, task Task) (*TableEvaluator, error) {
	s, err := t.Column(task.Search)
	if err != nil {
		return nil, fmt.Errorf("task %s: search column: %w", task.Name, err)
	}
	te, err := t.Column(task.Test)
	if err != nil {
		return nil, fmt.Errorf("task %s: test column: %w", task.Name, err)
	}
	return &TableEvaluator{search: s, test: te, table: t, task: task}, nil
}

// Evaluate implements Evaluator.
func (e *TableEvaluator) Evaluate(_ context.Context, a nb201.Arch) (Outcome, error) {
	i := e.table.Index(a)
	if i < 0 {
		return Outcome{}, fmt.Errorf("architecture %s is not in the NB201 table", a)
	}
	return Outcome{Value: e.search[i], Test: e.test[i]}, nil
}

// Optima returns the largest search value and the largest test value of the
// table: the targets for "evaluations until the optimum".
func (e *TableEvaluator) Optima() (search, test float64) {
	search, test = math.Inf(-1), math.Inf(-1)
	for i := range e.search {
		search = math.Max(search, e.search[i])
		test = math.Max(test, e.test[i])
	}
	return search, test
}

// MapEvaluator is an in-memory evaluator over a fixed set of architectures
// (synthetic benchmarks in tests, or a user-supplied table).
type MapEvaluator[A Arch] map[A]Outcome

// Evaluate implements Evaluator.
func (m MapEvaluator[A]) Evaluate(_ context.Context, a A) (Outcome, error) {
	o, ok := m[a]
	if !ok {
		return Outcome{}, fmt.Errorf("architecture %s has no value", a)
	}
	return o, nil
}

// MBV3Task is the MobileNetV3 task: ImageNet-1K top-1 as estimated by OFA's
// accuracy predictor at r = 224 (a surrogate benchmark; the oracle is
// mbv3.Oracle), searched on and reported.
func MBV3Task() Task {
	return Task{Name: "in1k", Search: "ofa_pred_top1_r224", Test: "ofa_pred_top1_r224",
		Note: "SURROGATE benchmark: search on and report ImageNet-1K top-1 as estimated by OFA's accuracy predictor (w1.2 supernet, r = 224), not measured accuracy"}
}
