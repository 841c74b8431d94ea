package mbv3

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nagml/nag/nag/evaluate"
	"github.com/nagml/nag/nag/ofa"
)

// OracleResolution is the input resolution of the surrogate benchmark.
const OracleResolution = 224

// Oracle scores OFA MobileNetV3 architecture strings with OFA's accuracy
// predictor at r = 224: a SURROGATE benchmark for BO on ImageNet-1K (see
// SurrogateNote), which every report built on it must state. It
// implements nag/evaluate's Evaluator; accuracies are in percent. It is
// safe for concurrent use.
type Oracle struct {
	P     *AccPredictor
	R     int
	calls atomic.Int64
}

// NewOracle returns the surrogate oracle at OracleResolution.
func NewOracle(p *AccPredictor) *Oracle { return &Oracle{P: p, R: OracleResolution} }

// Name implements evaluate.Evaluator; it says that the benchmark is a
// surrogate.
func (o *Oracle) Name() string {
	return fmt.Sprintf("surrogate:ofa-acc-predictor-w12@r%d", o.R)
}

// Note returns SurrogateNote.
func (o *Oracle) Note() string { return SurrogateNote }

// Calls returns the number of architectures scored so far.
func (o *Oracle) Calls() int64 { return o.calls.Load() }

// Evaluate implements evaluate.Evaluator: one Result per string, in order;
// strings that do not parse get an error Result.
func (o *Oracle) Evaluate(ctx context.Context, archs []string) ([]evaluate.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	start := time.Now()
	out := make([]evaluate.Result, len(archs))
	var ok []ofa.Arch
	var pos []int
	for i, s := range archs {
		out[i] = evaluate.Result{Arch: s, Attempts: 1}
		a, err := ofa.Parse(s)
		if err != nil {
			out[i].Err = err.Error()
			continue
		}
		ok = append(ok, a)
		pos = append(pos, i)
	}
	if len(ok) > 0 {
		y, err := o.P.Predict(ok, o.R)
		if err != nil {
			return nil, fmt.Errorf("surrogate oracle: %w", err)
		}
		for k, i := range pos {
			out[i].Acc, out[i].OK = 100*y[k], true
		}
	}
	d := time.Since(start)
	for i := range out {
		out[i].Duration = d / time.Duration(max(len(out), 1))
	}
	o.calls.Add(int64(len(archs)))
	return out, nil
}

// AccuracyOf scores architectures directly (percent at o.R).
func (o *Oracle) AccuracyOf(archs []ofa.Arch) ([]float64, error) {
	y, err := o.P.Predict(archs, o.R)
	if err != nil {
		return nil, err
	}
	for i := range y {
		y[i] *= 100
	}
	return y, nil
}
