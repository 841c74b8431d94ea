package metrics

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/nagml/nag/nag/nb201"
)

const (
	a1 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
	// a2 and a3 are isomorphic (node 2 is unused: edge 2->3 is none).
	a2 = "|skip_connect~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|nor_conv_1x1~0|skip_connect~1|none~2|"
	a3 = "|skip_connect~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|nor_conv_1x1~0|skip_connect~1|none~2|"
	a4 = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
)

// fakeBench scores by a fixed map.
type fakeBench map[string]float64

func (f fakeBench) Lookup(key string) (float64, int, bool) {
	v, ok := f[key]
	if !ok {
		return 0, -1, false
	}
	a, _ := nb201.Parse(key)
	return v, a.Key(), true
}

func approx(p *float64, want float64) bool { return p != nil && math.Abs(*p-want) < 1e-12 }

func TestSummarize(t *testing.T) {
	sp := NB201{}
	if a := nb201.MustParse(a2); a.Canonical() != nb201.MustParse(a3).Canonical() {
		t.Fatal("test premise: a2 and a3 should be isomorphic")
	}
	gen := []string{a2, a1, "garbage", a3, a2, a4, "|none~0|+|none~0|none~1|+|none~0|none~1|none~3|"}
	items := Parse(sp, gen)
	items = append(items, Invalid(9, nil))
	train := NewTrainSet(Parse(sp, []string{a1, a4}))
	bench := fakeBench{a1: 94.0, a2: 80.0, a3: 82.0} // a4 not in the benchmark
	s := Summarize(sp, items, train, bench, "c10_test")
	// n 8, valid 5 (a2 a1 a3 a2 a4), distinct strings 4, iso classes 3.
	if s.N != 8 || s.NumValid != 5 || s.NumUnique != 4 {
		t.Fatalf("counts n %d valid %d unique %d", s.N, s.NumValid, s.NumUnique)
	}
	if s.Valid != 5.0/8 || s.Unique != 4.0/5 || s.UniqueIso != 3.0/5 {
		t.Errorf("valid %v unique %v unique_iso %v", s.Valid, s.Unique, s.UniqueIso)
	}
	// Novel: strings {a2, a1, a3, a4} minus train {a1, a4} = 2 of 4; iso classes
	// {a2~a3, a1, a4} minus {a1, a4} = 1 of 3.
	if !approx(s.Novel, 0.5) || !approx(s.NovelIso, 1.0/3) || s.NumTrain != 2 {
		t.Errorf("novel %v novel_iso %v n_train %d", *s.Novel, *s.NovelIso, s.NumTrain)
	}
	// Scored: a2 80, a1 94, a3 82, a2 80 (a4 missing).
	if s.NumScored != 4 || !approx(s.AccMean, 84) || !approx(s.AccMax, 94) || !approx(s.AccTop1ByOrder, 80) {
		t.Errorf("scored %d mean %v max %v top1 %v", s.NumScored, *s.AccMean, *s.AccMax, *s.AccTop1ByOrder)
	}
	if !approx(s.AccStd, math.Sqrt((16+100+4+16)/4.0)) {
		t.Errorf("std %v", *s.AccStd)
	}
	if s.BestIndex == nil || *s.BestIndex != nb201.MustParse(a1).Key() || s.BestArch != a1 {
		t.Errorf("best %v %s", s.BestIndex, s.BestArch)
	}
	js, _ := json.Marshal(s)
	for _, k := range []string{`"n":8`, `"valid":0.625`, `"unique":0.8`, `"unique_iso":0.6`, `"novel":0.5`, `"acc_mean":84`, `"acc_max":94`, `"acc_top1_by_order":80`, `"best_index":`} {
		if !strings.Contains(string(js), k) {
			t.Errorf("JSON lacks %s: %s", k, js)
		}
	}
}

func TestSummarizeEdgeCases(t *testing.T) {
	s := Summarize(NB201{}, nil, nil, nil, "")
	if s.N != 0 || s.Valid != 0 || s.Unique != 0 || s.Novel != nil {
		t.Errorf("empty: %+v", s)
	}
	js, _ := json.Marshal(s)
	if !strings.Contains(string(js), `"novel":null`) || strings.Contains(string(js), "acc_mean") {
		t.Errorf("empty JSON: %s", js)
	}
	// All invalid.
	s = Summarize(NB201{}, Parse(NB201{}, []string{"x", "y"}), nil, fakeBench{}, "m")
	if s.N != 2 || s.Valid != 0 || s.Unique != 0 || s.AccMean != nil || s.NumScored != 0 {
		t.Errorf("all invalid: %+v", s)
	}
}

func TestMBV3Space(t *testing.T) {
	good := "2-7-6_2-5-4_0-0-0_0-0-0_2-7-6_2-7-3_0-0-0_0-0-0_2-5-3_2-7-6_0-0-0_0-0-0_2-5-3_2-3-6_0-0-0_0-0-0_3-5-6_3-3-4_3-5-3_0-0-0"
	other := strings.Replace(good, "3-5-3_0-0-0", "3-7-3_0-0-0", 1)
	items := Parse(MBV3{}, []string{good, other, good, "1-2-3"})
	s := Summarize(MBV3{}, items, NewTrainSet(Parse(MBV3{}, []string{good})), nil, "")
	if s.N != 4 || s.NumValid != 3 || s.Unique != 2.0/3 || s.UniqueIso != 2.0/3 || !approx(s.Novel, 0.5) {
		t.Errorf("mbv3: %+v", s)
	}
	if items[3].Err == nil {
		t.Error("bad mbv3 string accepted")
	}
}
