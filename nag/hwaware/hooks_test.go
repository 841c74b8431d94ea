package hwaware

import (
	"context"
	"github.com/nagml/nag/internal/shareddata"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nagml/nag/nag/bench201"
	"github.com/nagml/nag/nag/guide"
	"github.com/nagml/nag/nag/nb201"
	"github.com/nagml/nag/sde"
	"github.com/nagml/nag/tensor"
)

func TestNB201Constraints(t *testing.T) {
	cons, err := NB201Constraints(Limits{MaxFLOPs: 100, MaxParams: 1})
	if err != nil || len(cons) != 2 || cons[0].Budget != 100 || cons[1].Budget != 1 || cons[0].Scale != DefaultCostScale {
		t.Fatalf("%+v %v", cons, err)
	}
	for _, bad := range []Limits{
		{Device: "edgegpu"},
		{LatencyMS: 3},
		{MaxFLOPs: -1},
		{MaxFLOPs: 10, Scale: -2},
		{Device: "toaster", LatencyMS: 3},
	} {
		if _, err := NB201Constraints(bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	_, err = NB201Constraints(Limits{Device: "toaster", LatencyMS: 3})
	if err == nil || !strings.Contains(err.Error(), "toaster") {
		t.Errorf("unknown device error: %v", err)
	}
	// Check uses the exact costs.
	a := nb201.MustParse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|")
	small := nb201.MustParse("|skip_connect~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|")
	if ok, lat := Check(cons, a); ok || !math.IsNaN(lat) {
		t.Errorf("all-conv cell (%.1f MFLOPs) passes a 100 MFLOPs limit", float64(a.FLOPs(nb201.CIFAR10))/1e6)
	}
	if ok, _ := Check(cons, small); !ok {
		t.Error("a cell without convolutions fails the limits")
	}
}

// Guidance by a FLOPs budget alone moves samples of the exact uniform
// score under the budget.
func TestConstraintHookSteersSamples(t *testing.T) {
	fl := NB201FLOPs(nb201.CIFAR10)
	budget := 20.0 // MFLOPs: no 3x3 conv (7.8 + 35.4·n3 + 3.9·n1); P(n3 = 0) = 0.26 under the uniform score
	cons := []Constraint{{Name: "flops", Cost: fl, Budget: budget, Scale: 200}}
	hook, restore, err := ConstraintHook(guide.UniformScore, cons)
	if err != nil {
		t.Fatal(err)
	}
	defer restore()
	frac := func(score sde.ScoreFn) float64 {
		x, err := sde.SamplePC(context.Background(), sde.DefaultVE(), score, []int{128, nb201.NumNodes, nb201.NumTypes},
			sde.Options{Steps: 100, RNG: tensor.NewRNG(4)})
		if err != nil {
			t.Fatal(err)
		}
		archs := guide.DecodeBatch(x)
		ok, valid := 0, 0
		for _, a := range archs {
			if a == nil {
				continue
			}
			valid++
			if float64(a.FLOPs(nb201.CIFAR10))/1e6 <= budget {
				ok++
			}
		}
		if valid < 64 {
			t.Fatalf("only %d of 128 samples valid", valid)
		}
		return float64(ok) / float64(valid)
	}
	base, guided := frac(guide.UniformScore), frac(hook)
	t.Logf("fraction under %g MFLOPs: unguided %.2f, guided %.2f", budget, base, guided)
	if !(guided > base+0.3) {
		t.Fatalf("guided fraction %.2f not clearly above unguided %.2f", guided, base)
	}
	if _, _, err := ConstraintHook(guide.UniformScore, []Constraint{{Name: "x", Cost: fl}}); err == nil {
		t.Error("zero budget accepted")
	}
}

func nb201Table(t *testing.T) *bench201.Table {
	t.Helper()
	path := os.Getenv(bench201.EnvPath)
	if path == "" {
		path = filepath.Join(shareddata.Root(t), "nasbench201", "nb201.csv.gz")
	}
	if _, err := os.Stat(path); err != nil {
		t.Skipf("NB201 table not available: %v", err)
	}
	tb, err := bench201.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// The embedded latency regressors rank the table's latencies.
func TestEmbeddedNB201(t *testing.T) {
	devs := EmbeddedDevices()
	if len(devs) != 3 {
		t.Fatalf("embedded devices %v, want 3", devs)
	}
	tb := nb201Table(t)
	rng := tensor.NewRNG(1)
	idx := rng.Perm(tb.Len())[:1500]
	for _, d := range devs {
		r, err := EmbeddedNB201(d)
		if err != nil {
			t.Fatal(err)
		}
		col, err := NB201DeviceColumn(tb, d)
		if err != nil || r.Cfg.Target != col {
			t.Fatalf("%s: column %s (%v), model target %s", d, col, err, r.Cfg.Target)
		}
		v, _ := tb.Column(col)
		var x [][]float32
		var y []float64
		for _, i := range idx {
			oh := tb.Arch(i).OneHot()
			x = append(x, oh.Slice())
			y = append(y, v[i])
		}
		m := metricsOf(r.PredictClean(x, nil), y)
		t.Logf("%s: %s", d, m)
		if !(m.Spearman > 0.9) {
			t.Errorf("%s: spearman %.3f on table cells, want > 0.9", d, m.Spearman)
		}
	}
	if _, err := EmbeddedNB201("toaster"); err == nil {
		t.Error("unknown device accepted")
	}
}
