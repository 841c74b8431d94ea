package hwaware

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/nagml/nag/nag/nb201"
)

// Evaluate's bookkeeping on a fake space: architectures are "aN" with cost
// N and accuracy 100 − N; the guided sampler returns cheap networks only
// when its objective has a constraint.
func TestEvaluateBookkeeping(t *testing.T) {
	arch := func(c int) string { return "a" + string(rune('0'+c)) }
	truth := func(dev, a string) (float64, float64, bool) {
		if !strings.HasPrefix(a, "a") {
			return 0, 0, false
		}
		c := float64(a[1] - '0')
		return c, 100 - c, true
	}
	sample := func(_ context.Context, obj Model, n int, _ uint64) ([]string, error) {
		out := make([]string, n)
		o := obj.(*Objective)
		for i := range out {
			switch {
			case i == 0:
				out[i] = "" // invalid
			case len(o.Constraints) > 0:
				out[i] = arch(1 + i%2) // costs 1, 2
			default:
				out[i] = arch(5 + i%3) // costs 5, 6, 7
			}
		}
		return out, nil
	}
	random := func(n int, _ uint64) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = arch(i % 10)
		}
		return out
	}
	b := []Budget{{Device: "d", Name: "tight", Value: 1.5, Quantile: 0.1, Cost: NB201FLOPs(nb201c10())}}
	rows, err := Evaluate(context.Background(), EvalConfig{Budgets: b, AccScale: 1, CostScale: 1, N: 10}, sample, random, truth)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows", len(rows))
	}
	hw, acc, rnd := rows[0], rows[1], rows[2]
	// hw: 9 valid (1,2,1,2,...): costs 2,1,2,1,2,1,2,1,2 for i=1..9 -> 4 meet, unique {a1}.
	if hw.Method != MethodHW || hw.Valid != 9 || hw.Meet != 4 || hw.Unique != 1 || hw.Best != 99 || hw.Mean != 99 || math.Abs(hw.Frac-4.0/9) > 1e-12 {
		t.Fatalf("hw row %+v", hw)
	}
	if acc.Method != MethodAccOnly || acc.Meet != 0 || !math.IsNaN(acc.Best) {
		t.Fatalf("acc row %+v", acc)
	}
	// random: costs 0..9 -> 0 and 1 meet; unique a0, a1: best 100, mean 99.5.
	if rnd.Method != MethodRandom || rnd.Valid != 10 || rnd.Meet != 2 || rnd.Best != 100 || rnd.Mean != 99.5 || rnd.MeanCost != 4.5 {
		t.Fatalf("random row %+v", rnd)
	}
	var buf bytes.Buffer
	WriteTable(&buf, rows, map[string]string{"d": "ms"}, "note")
	if !strings.Contains(buf.String(), "| d | tight 1.5 ms (q10) | hw-guided | 9/10 | 44.4 % | 40.0 % | 1 | 99.00 | 99.00 | 1.556 |") {
		t.Fatalf("table:\n%s", buf.String())
	}
	if _, err := Evaluate(context.Background(), EvalConfig{N: 0}, sample, random, truth); err == nil {
		t.Error("N = 0 accepted")
	}
}

func nb201c10() nb201.Dataset { return nb201.CIFAR10 }

func TestRowJSON(t *testing.T) {
	b, err := json.Marshal([]Row{{Device: "d", Best: math.NaN(), Mean: math.NaN()}, {Device: "e", Best: 91.5, Mean: 90}})
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if !strings.Contains(s, `"device":"d"`) || !strings.Contains(s, `"best":null`) || !strings.Contains(s, `"best":91.5`) || !strings.Contains(s, `"mean":90`) {
		t.Fatalf("json %s", s)
	}
}
