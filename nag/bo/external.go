package bo

import (
	"context"
	"errors"
	"fmt"

	"github.com/nagml/nag/nag/evaluate"
)

// BatchEvaluator is implemented by evaluators that take a whole round at
// once and handle concurrency and retries themselves; the loop then calls
// EvaluateBatch instead of Evaluate. errs holds one error per architecture
// (nil on success); err is for a failure of the whole call.
type BatchEvaluator[A Arch] interface {
	Evaluator[A]
	EvaluateBatch(ctx context.Context, archs []A) (outs []Outcome, errs []error, err error)
}

// Shared adapts an evaluate.Evaluator (NB201 table by column, or an external
// command that trains the architecture) to the loop. The evaluator's
// accuracy is both the search value and the reported value, since such an
// evaluator measures one number per architecture.
type Shared[A Arch] struct {
	E evaluate.Evaluator
}

// Evaluate implements Evaluator.
func (s Shared[A]) Evaluate(ctx context.Context, a A) (Outcome, error) {
	outs, errs, err := s.EvaluateBatch(ctx, []A{a})
	if err != nil {
		return Outcome{}, err
	}
	return outs[0], errs[0]
}

// EvaluateBatch implements BatchEvaluator.
func (s Shared[A]) EvaluateBatch(ctx context.Context, archs []A) ([]Outcome, []error, error) {
	strs := make([]string, len(archs))
	for i, a := range archs {
		strs[i] = a.String()
	}
	res, err := s.E.Evaluate(ctx, strs)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", s.E.Name(), err)
	}
	if len(res) != len(archs) {
		return nil, nil, fmt.Errorf("%s: %d results for %d architectures", s.E.Name(), len(res), len(archs))
	}
	outs := make([]Outcome, len(archs))
	errs := make([]error, len(archs))
	for i, r := range res {
		if !r.OK {
			msg := r.Err
			if msg == "" {
				msg = "evaluation failed"
			}
			errs[i] = errors.New(msg)
			continue
		}
		outs[i] = Outcome{Value: r.Acc, Test: r.Acc}
	}
	return outs, errs, nil
}
