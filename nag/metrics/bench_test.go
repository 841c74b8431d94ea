package metrics

import (
	"github.com/nagml/nag/internal/shareddata"
	"os"
	"path/filepath"
	"testing"

	"github.com/nagml/nag/nag/bench201"
)

// dataRoot finds the shared data: $NAG_DATA, else ../shared/data next to
// the directory holding go.mod.
func dataRoot(t testing.TB) string { return shareddata.Root(t) }

func TestNB201Bench(t *testing.T) {
	path := filepath.Join(dataRoot(t), "nasbench201", "nb201.csv.gz")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("benchmark table not available: %v", err)
	}
	tb, err := bench201.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewNB201Bench(tb, "c10_test")
	if err != nil {
		t.Fatal(err)
	}
	best := "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
	if v, i, ok := b.Lookup(best); !ok || i != 6111 || v != 94.37333333333332 {
		t.Errorf("Lookup(best) = %v, %d, %v", v, i, ok)
	}
	if _, _, ok := b.Lookup("nope"); ok {
		t.Error("Lookup(nope) ok")
	}
	if _, err := NewNB201Bench(tb, "c10_valid"); err == nil {
		t.Error("unknown metric accepted")
	}
	s := Summarize(NB201{}, Parse(NB201{}, []string{tb.Arch(1).String(), best}), nil, b, "c10_test")
	if !approx(s.AccTop1ByOrder, 93.66) || !approx(s.AccMax, 94.37333333333332) || *s.BestIndex != 6111 {
		t.Errorf("summary %+v", s)
	}
}
