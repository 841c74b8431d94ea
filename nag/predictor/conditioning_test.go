package predictor

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/nag/bench201"
	"github.com/nagml/nag/nag/nb201"
	"github.com/nagml/nag/tensor"
)

func loadTable(t testing.TB) *bench201.Table {
	t.Helper()
	path := os.Getenv(bench201.EnvPath)
	if path == "" {
		path = filepath.Join("..", "..", "..", "shared", "data", "nasbench201", "nb201.csv.gz")
	}
	if _, err := os.Stat(path); err != nil {
		t.Skipf("NB201 table not found at %s (set %s)", path, bench201.EnvPath)
	}
	tab, err := bench201.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// zscores standardises v.
func zscores(v []float64) []float64 {
	var m, s float64
	for _, x := range v {
		m += x
	}
	m /= float64(len(v))
	for _, x := range v {
		s += (x - m) * (x - m)
	}
	s = math.Sqrt(s / float64(len(v)))
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = (x - m) / s
	}
	return out
}

// semiSynthetic builds two task families. Family A: labels from the NB201
// column c10_test; family B: labels from the negated column
// hw_c10_edgegpu_latency (a speed score; rank correlation with c10_test is
// about −0.45). Both are z-scored and mapped to 70 + 5·z, plus per-task
// noise (σ 0.5). Dataset features [3 classes, 5 samples, 6] are drawn from
// N(+1.5, 1) for family A and N(−1.5, 1) for family B. Per family: 16
// training and 4 held-out tasks of 40 random cells each.
var famMu = 1.5

func semiSynthetic(t testing.TB, tab *bench201.Table, withFeatures bool) *Data {
	colA, err := tab.Column("c10_test")
	if err != nil {
		t.Fatal(err)
	}
	colB, err := tab.Column("hw_c10_edgegpu_latency")
	if err != nil {
		t.Fatal(err)
	}
	za := zscores(colA)
	zb := zscores(colB)
	rng := tensor.NewRNG(77)
	d := &Data{Source: "semi-synthetic"}
	for fam := 0; fam < 2; fam++ {
		for k := 0; k < 20; k++ {
			task := Task{Name: []string{"A", "B"}[fam]}
			if withFeatures {
				f := tensor.Zeros(3, 5, 6)
				mu := float32(famMu)
				if fam == 1 {
					mu = -float32(famMu)
				}
				rng.FillNormal(f.Data(), mu, 1)
				task.Feats = f
			} else {
				rng.FillNormal(make([]float32, 90), 0, 1) // same draws either way
			}
			ti := len(d.Tasks)
			d.Tasks = append(d.Tasks, task)
			for _, i := range rng.Perm(tab.Len())[:40] {
				z := za[i]
				if fam == 1 {
					z = -zb[i]
				}
				s := Sample{Arch: tab.Arch(i), Acc: 70 + 5*z + 0.5*rng.Norm(), Task: ti}
				if k < 16 {
					d.Train = append(d.Train, s)
				} else {
					d.Eval = append(d.Eval, s)
				}
			}
		}
	}
	return d
}

func smallModelConfig(featDim int) ModelConfig {
	cfg := DefaultModelConfig(featDim)
	cfg.Net = gnn.PredictorConfig{Nodes: nb201.NumNodes, Vocab: nb201.NumTypes, GCNHidden: 32, GCNLayers: 3,
		LinearHidden: 32, HS: 16, NZ: 8, FeatDim: featDim, SetHeads: 2, Dropout: 0, TimeEmbed: true}
	return cfg
}

// familySpearman is the mean per-task Spearman correlation on the held-out
// tasks of each family (clean inputs).
func familySpearman(m *Model, d *Data) [2]float64 {
	ev := Evaluate(m, d, d.Eval, false, 1)
	var sum [2]float64
	var n [2]int
	keys := make([]int, 0, len(ev.PerTask))
	for ti := range ev.PerTask {
		keys = append(keys, ti)
	}
	sort.Ints(keys)
	for _, ti := range keys {
		f := 0
		if d.Tasks[ti].Name == "B" {
			f = 1
		}
		sum[f] += ev.PerTask[ti].Spearman
		n[f]++
	}
	return [2]float64{sum[0] / float64(n[0]), sum[1] / float64(n[1])}
}

// The conditioned predictor must rank held-out tasks of both families
// better than the unconditioned one (which sees the same labels but only
// the unknown-dataset vector): by at least 0.2 in mean per-task Spearman
// correlation on each family.
func TestConditioningMattersSemiSynthetic(t *testing.T) {
	tab := loadTable(t)
	tc := TrainConfig{Iters: 300, Batch: 64, LR: 3e-3, Warmup: 20, GradClip: 1, Seed: 5}
	dc := semiSynthetic(t, tab, true)
	du := semiSynthetic(t, tab, false)
	if len(dc.Train) != len(du.Train) || dc.Train[7] != du.Train[7] {
		t.Fatal("conditioned and unconditioned data differ in their labels")
	}
	mc, _, err := Train(context.Background(), dc, smallModelConfig(6), tc, nil)
	if err != nil {
		t.Fatal(err)
	}
	mu, _, err := Train(context.Background(), du, smallModelConfig(6), tc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !mc.Cfg.WithFeatures || mu.Cfg.WithFeatures {
		t.Fatalf("WithFeatures: conditioned %v, unconditioned %v", mc.Cfg.WithFeatures, mu.Cfg.WithFeatures)
	}
	sc, su := familySpearman(mc, dc), familySpearman(mu, du)
	t.Logf("held-out mean per-task Spearman: conditioned A %.3f B %.3f; unconditioned A %.3f B %.3f", sc[0], sc[1], su[0], su[1])
	for f := 0; f < 2; f++ {
		if !(sc[f] >= su[f]+0.2) {
			t.Errorf("family %c: conditioned Spearman %.3f, unconditioned %.3f: want a margin >= 0.2", 'A'+f, sc[f], su[f])
		}
	}
}
