package predictor

import (
	"context"
	"math"
	"os"
	"path/filepath"
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

// semiSynthetic builds two task families whose dataset features come from
// clearly different distributions and whose labels come from different
// NB201 columns: family A uses c10_test, family B c100_test. Each task also
// has a difficulty offset o ~ U(−8, 8) accuracy points added to all its
// labels (plus noise σ 0.3), and its features encode the family and the
// offset: every feature vector [3 classes, 5 samples, 6] is drawn from
// N(μ_f + o/4, 1) with μ_A = +famMu, μ_B = −famMu. Per family: 16 training
// and 4 held-out tasks of 40 random cells each. Without features, the
// labels are the same but the offsets cannot be known.
// famMu is the feature mean of family A (B: −famMu).
var famMu = 1.5

func semiSynthetic(t testing.TB, tab *bench201.Table, withFeatures bool) *Data {
	cols := [2][]float64{}
	for f, name := range []string{"c10_test", "c100_test"} {
		c, err := tab.Column(name)
		if err != nil {
			t.Fatal(err)
		}
		cols[f] = c
	}
	rng := tensor.NewRNG(77)
	d := &Data{Source: "semi-synthetic"}
	for fam := 0; fam < 2; fam++ {
		for k := 0; k < 20; k++ {
			off := -8 + 16*rng.Float64()
			task := Task{Name: []string{"A", "B"}[fam]}
			f := tensor.Zeros(3, 5, 6)
			mu := famMu
			if fam == 1 {
				mu = -famMu
			}
			rng.FillNormal(f.Data(), float32(mu+off/4), 1)
			if withFeatures {
				task.Feats = f
			}
			ti := len(d.Tasks)
			d.Tasks = append(d.Tasks, task)
			for _, i := range rng.Perm(tab.Len())[:40] {
				s := Sample{Arch: tab.Arch(i), Acc: cols[fam][i] + off + 0.3*rng.Norm(), Task: ti}
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

// familySpearman is the Spearman correlation over all held-out samples of
// each family (its 4 held-out tasks pooled, so task offsets matter), on
// clean inputs.
func familySpearman(m *Model, d *Data) [2]float64 {
	ev := Evaluate(m, d, d.Eval, false, 1)
	var p, y [2][]float64
	for i, s := range d.Eval {
		f := 0
		if d.Tasks[s.Task].Name == "B" {
			f = 1
		}
		p[f] = append(p[f], ev.Pred[i])
		y[f] = append(y[f], s.Acc)
	}
	return [2]float64{Spearman(p[0], y[0]), Spearman(p[1], y[1])}
}

// The conditioned predictor must rank the held-out tasks of each family
// (pooled per family) better than the unconditioned one, which sees the
// same labels but only the unknown-dataset vector: by a margin of at least
// 0.1 in Spearman correlation on each family.
func TestConditioningMattersSemiSynthetic(t *testing.T) {
	tab := loadTable(t)
	tc := TrainConfig{Iters: 500, Batch: 64, LR: 5e-3, Warmup: 20, GradClip: 1, Seed: 5}
	dc := semiSynthetic(t, tab, true)
	du := semiSynthetic(t, tab, false)
	if len(dc.Train) != len(du.Train) || dc.Train[7] != du.Train[7] || dc.Eval[9] != du.Eval[9] {
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
	t.Logf("held-out Spearman pooled per family: conditioned A %.3f B %.3f; unconditioned A %.3f B %.3f", sc[0], sc[1], su[0], su[1])
	for f := 0; f < 2; f++ {
		if !(sc[f] >= su[f]+0.1) {
			t.Errorf("family %c: conditioned Spearman %.3f, unconditioned %.3f: want a margin >= 0.1", 'A'+f, sc[f], su[f])
		}
	}
}
