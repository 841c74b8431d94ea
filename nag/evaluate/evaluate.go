// Package evaluate measures the accuracy of candidate architectures for
// the NAS pipelines (transferable NAS, BO). An Evaluator takes architecture
// strings and returns one Result per architecture, in order; failures are
// recorded in the Result (never dropped).
//
// Two evaluators exist:
//   - Table: a look-up in the NAS-Bench-201 table, by metric column name
//     (c10_test, c100_test, c10v_valid, ...);
//   - Command: an external program run once per architecture with the
//     architecture string as its last argument, whose printed accuracy is
//     read back. This is how training is handed to a user's own cluster
//     (a script that submits a Slurm or Kubernetes job and waits for it)
//     without nag implementing a scheduler. Runs are limited to a number of
//     concurrent processes, retried on failure and optionally timed out.
package evaluate

import (
	"context"
	"fmt"
	"time"

	"github.com/nagml/nag/nag/bench201"
	"github.com/nagml/nag/nag/nb201"
)

// Result is the evaluation of one architecture.
type Result struct {
	Arch     string        `json:"arch"`
	Acc      float64       `json:"acc"` // accuracy in %; meaningful only when OK
	OK       bool          `json:"ok"`
	Err      string        `json:"error,omitempty"`
	Attempts int           `json:"attempts"`
	Duration time.Duration `json:"duration_ns"`
}

// Evaluator measures architectures.
type Evaluator interface {
	// Name describes the evaluator (e.g. "table:c10_test").
	Name() string
	// Evaluate returns one Result per arch, in the same order. It returns
	// an error only when the whole call cannot proceed (e.g. ctx done before
	// anything ran); per-architecture failures go into the Results.
	Evaluate(ctx context.Context, archs []string) ([]Result, error)
}

// Table looks architectures up in the NB201 benchmark table.
type Table struct {
	T      *bench201.Table
	Metric string
}

// NewTable returns a table evaluator for the given metric column.
func NewTable(t *bench201.Table, metric string) (*Table, error) {
	if !t.HasColumn(metric) {
		return nil, fmt.Errorf("evaluate: table %s has no column %q", t.Path(), metric)
	}
	return &Table{T: t, Metric: metric}, nil
}

// Name implements Evaluator.
func (e *Table) Name() string { return "table:" + e.Metric }

// Evaluate implements Evaluator.
func (e *Table) Evaluate(ctx context.Context, archs []string) ([]Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]Result, len(archs))
	for i, s := range archs {
		out[i] = Result{Arch: s, Attempts: 1}
		a, err := nb201.Parse(s)
		if err != nil {
			out[i].Err = err.Error()
			continue
		}
		v, err := e.T.Query(a, e.Metric)
		if err != nil {
			out[i].Err = err.Error()
			continue
		}
		out[i].Acc, out[i].OK = v, true
	}
	return out, nil
}
