package hwaware

import (
	"fmt"

	"github.com/nagml/nag/nag/guide"
	"github.com/nagml/nag/nag/nb201"
	"github.com/nagml/nag/sde"
)

// DefaultCostScale is the default weight of a relative budget violation
// relu(cost/budget − 1) in the guided score.
const DefaultCostScale = 1000

// ConstraintHook wraps a score hook (the network's score, or an already
// accuracy-guided one) with the budget terms: the returned hook adds
// −Σ_k scale_k·∂relu(cost_k(x)/budget_k − 1)/∂x. Chaining it under
// guide.Generate's accuracy guidance gives the multi-objective score
// scale_acc·∂acc/∂x − Σ scale_k·∂relu(cost_k/budget_k − 1)/∂x. The
// constraint models' parameters are frozen until the returned restore
// function is called.
func ConstraintHook(base sde.ScoreFn, cons []Constraint) (sde.ScoreFn, func(), error) {
	if len(cons) == 0 {
		return base, func() {}, nil
	}
	obj := &Objective{Constraints: cons}
	if err := obj.Validate(); err != nil {
		return nil, nil, err
	}
	restore := guide.Freeze(obj.Params())
	return guide.Hook(base, obj, 1, nil), restore, nil
}

// Limits are the hardware limits of `nag generate` on NB201.
type Limits struct {
	// Device is a latency device (NB201Devices key) and LatencyMS its
	// budget; LatencyModel optionally overrides the embedded regressor
	// with a checkpoint path.
	Device       string
	LatencyMS    float64
	LatencyModel string
	// MaxFLOPs (millions, NB201 convention) and MaxParams (millions) for
	// dataset Cost; 0 = no limit.
	MaxFLOPs, MaxParams float64
	Cost                nb201.Dataset
	// Scale weighs each relative violation (0: DefaultCostScale).
	Scale float64
}

// NB201Constraints turns Limits into constraints: the latency regressor
// of the device (embedded, or Limits.LatencyModel), and the exact linear
// FLOPs/params of Limits.Cost.
func NB201Constraints(l Limits) ([]Constraint, error) {
	scale := l.Scale
	if scale == 0 {
		scale = DefaultCostScale
	}
	if scale < 0 {
		return nil, fmt.Errorf("hardware limits: scale %g must be positive", scale)
	}
	if l.Cost.Name == "" {
		l.Cost = nb201.CIFAR10
	}
	var cons []Constraint
	if l.Device != "" || l.LatencyMS != 0 {
		if l.Device == "" || !(l.LatencyMS > 0) {
			return nil, fmt.Errorf("hardware limits: a latency budget needs a device and a positive budget (have %q, %g ms)", l.Device, l.LatencyMS)
		}
		var (
			r   *Regressor
			err error
		)
		if l.LatencyModel != "" {
			r, err = Load(l.LatencyModel)
		} else {
			r, err = EmbeddedNB201(l.Device)
		}
		if err != nil {
			return nil, err
		}
		if r.Cfg.Space != SpaceNB201 {
			return nil, fmt.Errorf("latency model for %s is for space %s, not nb201", l.Device, r.Cfg.Space)
		}
		cons = append(cons, Constraint{Name: l.Device + " latency", Cost: r, Budget: l.LatencyMS, Scale: scale})
	}
	if l.MaxFLOPs < 0 || l.MaxParams < 0 {
		return nil, fmt.Errorf("hardware limits: FLOPs %g and params %g limits must be >= 0", l.MaxFLOPs, l.MaxParams)
	}
	if l.MaxFLOPs > 0 {
		cons = append(cons, Constraint{Name: "FLOPs", Cost: NB201FLOPs(l.Cost), Budget: l.MaxFLOPs, Scale: scale})
	}
	if l.MaxParams > 0 {
		cons = append(cons, Constraint{Name: "params", Cost: NB201Params(l.Cost), Budget: l.MaxParams, Scale: scale})
	}
	return cons, nil
}

// Check reports whether a decoded NB201 cell satisfies the exact FLOPs and
// params limits, and its latency predicted by the constraint models
// (clean input); latency is NaN without a latency constraint.
func Check(cons []Constraint, a nb201.Arch) (ok bool, latency float64) {
	x := a.OneHot()
	s := x.Slice()
	ok = true
	latency = nanValue()
	for _, c := range cons {
		var v float64
		switch m := c.Cost.(type) {
		case *LinearCost:
			v = m.Value(s)
		case *Regressor:
			v = m.PredictClean([][]float32{s}, nil)[0]
			latency = v
		default:
			continue
		}
		if v > c.Budget {
			ok = false
		}
	}
	return ok, latency
}
