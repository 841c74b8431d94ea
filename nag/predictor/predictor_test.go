package predictor

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/nag/encoder"
	"github.com/nagml/nag/nag/metatrain"
	"github.com/nagml/nag/nag/nb201"
	"github.com/nagml/nag/tensor"
)

func TestCorrelations(t *testing.T) {
	cases := []struct {
		name         string
		x, y         []float64
		p, s, k, tol float64
	}{
		{"swaps", []float64{1, 2, 3, 4, 5}, []float64{2, 1, 4, 3, 5}, 0.8, 0.8, 0.6, 1e-12},
		{"reversed", []float64{1, 2, 3}, []float64{3, 2, 1}, -1, -1, -1, 1e-12},
		// Ties: tau-b = 2/sqrt(3·2); Spearman on average ranks [1.5 1.5 3] vs [1 2 3].
		{"ties", []float64{1, 1, 2}, []float64{1, 2, 3}, 0.8660254037844386, 0.8660254037844386, 0.816496580927726, 1e-12},
	}
	for _, c := range cases {
		if got := Pearson(c.x, c.y); math.Abs(got-c.p) > c.tol {
			t.Errorf("%s: Pearson %v, want %v", c.name, got, c.p)
		}
		if got := Spearman(c.x, c.y); math.Abs(got-c.s) > c.tol {
			t.Errorf("%s: Spearman %v, want %v", c.name, got, c.s)
		}
		if got := KendallTau(c.x, c.y); math.Abs(got-c.k) > c.tol {
			t.Errorf("%s: Kendall %v, want %v", c.name, got, c.k)
		}
	}
	if !math.IsNaN(Pearson([]float64{1, 1}, []float64{1, 2})) || !math.IsNaN(KendallTau([]float64{1}, []float64{1})) {
		t.Error("degenerate inputs must give NaN")
	}
}

func TestNormRoundTrip(t *testing.T) {
	s := []Sample{{Acc: 70}, {Acc: 74}, {Acc: 72}}
	n := ComputeNorm(s)
	if math.Abs(n.Mean-72) > 1e-12 || math.Abs(n.Std-math.Sqrt(8.0/3)) > 1e-12 {
		t.Fatalf("norm %+v", n)
	}
	if y := n.Target(74); math.Abs(float64(y)-2/math.Sqrt(8.0/3)/100) > 1e-7 {
		t.Fatalf("target %v", y)
	}
	for _, acc := range []float64{40, 72, 93.5} {
		if got := n.Acc(n.Target(acc)); math.Abs(got-acc) > 1e-4 {
			t.Fatalf("Acc(Target(%v)) = %v", acc, got)
		}
	}
}

const (
	archA = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
	archB = "|none~0|+|avg_pool_3x3~0|none~1|+|skip_connect~0|none~1|nor_conv_1x1~2|"
	archC = "|nor_conv_1x1~0|+|skip_connect~0|nor_conv_3x3~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_1x1~2|"
)

func features(rng *tensor.RNG, dim int, mean float32) *encoder.DatasetFeatures {
	f := &encoder.DatasetFeatures{Format: encoder.DatasetFeaturesFormat, Dataset: "synthetic", Model: "none",
		FeatureDim: dim, PerClass: 2}
	for c := 0; c < 3; c++ {
		cf := encoder.ClassFeatures{Name: string(rune('a' + c))}
		for s := 0; s < 2; s++ {
			row := make([]float32, dim)
			rng.FillNormal(row, mean, 1)
			cf.Features = append(cf.Features, row)
		}
		f.Classes = append(f.Classes, cf)
	}
	return f
}

func TestTaskFile(t *testing.T) {
	dir := t.TempDir()
	rng := tensor.NewRNG(1)
	if err := encoder.WriteDatasetFeatures(filepath.Join(dir, "f.json.gz"), features(rng, 4, 1)); err != nil {
		t.Fatal(err)
	}
	tf := &TaskFile{Format: TaskFileFormat, Tasks: []TaskEntry{
		{Name: "t0", FeaturesFile: "f.json.gz", Archs: []ArchAcc{{archA, 90}, {archB, 60}}},
		{Name: "t1", Features: features(rng, 4, -1), Archs: []ArchAcc{{archC, 80}, {archA, 85}}},
		{Name: "t2", Split: "eval", Archs: []ArchAcc{{archB, 50}, {archC, 70}, {archA, 88}}},
	}}
	path := filepath.Join(dir, "tasks.json.gz")
	if err := WriteTaskFile(path, tf); err != nil {
		t.Fatal(err)
	}
	d, err := ReadTaskFile(path, 0.5, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Tasks) != 3 || len(d.Train) != 4 || len(d.Eval) != 3 {
		t.Fatalf("tasks %d train %d eval %d", len(d.Tasks), len(d.Train), len(d.Eval))
	}
	if d.Tasks[0].Feats == nil || d.Tasks[1].Feats == nil || d.Tasks[2].Feats != nil {
		t.Fatal("features not attached as written")
	}
	if got := d.Tasks[0].Feats.Shape(); got[0] != 3 || got[1] != 2 || got[2] != 4 {
		t.Fatalf("features shape %v", got)
	}
	if fd, _ := d.FeatDim(); fd != 4 || d.TasksWithFeatures() != 2 {
		t.Fatalf("feat dim %d, with features %d", fd, d.TasksWithFeatures())
	}
	if d.Train[1].Arch != nb201.MustParse(archB) || d.Train[1].Acc != 60 || d.Eval[2].Task != 2 {
		t.Fatalf("samples %+v / %+v", d.Train[1], d.Eval[2])
	}
	// Without an eval task, a fraction is held out at random.
	tf.Tasks = tf.Tasks[:2]
	WriteTaskFile(path, tf)
	if d, err = ReadTaskFile(path, 0.5, 1); err != nil || len(d.Train) != 2 || len(d.Eval) != 2 {
		t.Fatalf("random hold-out: %v, %d/%d", err, len(d.Train), len(d.Eval))
	}
	bad := []struct{ name, body, want string }{
		{"format", `{"format":"x","tasks":[]}`, "format"},
		{"no tasks", `{"format":"nag-predictor-tasks/1","tasks":[]}`, "no tasks"},
		{"unknown field", `{"format":"nag-predictor-tasks/1","tasks":[{"name":"a","acc":1}]}`, "unknown field"},
		{"bad arch", `{"format":"nag-predictor-tasks/1","tasks":[{"name":"a","archs":[{"arch":"|x~0|","acc":1}]}]}`, "arch 0"},
		{"split", `{"format":"nag-predictor-tasks/1","tasks":[{"name":"a","split":"test","archs":[{"arch":"` + archA + `","acc":1}]}]}`, "split"},
		{"no archs", `{"format":"nag-predictor-tasks/1","tasks":[{"name":"a"}]}`, "no archs"},
		{"missing features", `{"format":"nag-predictor-tasks/1","tasks":[{"name":"a","features_file":"nope.json","archs":[{"arch":"` + archA + `","acc":1}]}]}`, "nope.json"},
		{"constant", `{"format":"nag-predictor-tasks/1","tasks":[{"name":"a","archs":[{"arch":"` + archA + `","acc":1},{"arch":"` + archB + `","acc":1}]}]}`, "all training accuracies are equal"},
		{"json", `{"format":`, "JSON"},
	}
	for _, b := range bad {
		p := filepath.Join(dir, "bad.json")
		os.WriteFile(p, []byte(b.body), 0o644)
		_, err := ReadTaskFile(p, 0, 1)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: error %v, want it to mention %q", b.name, err, b.want)
		}
	}
	// Different feature widths are rejected.
	tf.Tasks[1].Features = features(rng, 5, 0)
	WriteTaskFile(path, tf)
	if _, err := ReadTaskFile(path, 0.5, 1); err == nil || !strings.Contains(err.Error(), "feature widths") {
		t.Fatalf("mixed widths: %v", err)
	}
}

func tinyData(t *testing.T) *Data {
	rng := tensor.NewRNG(3)
	d := &Data{Source: "tiny", Tasks: []Task{{Name: "f", Feats: tensor.RandN(rng, 2, 3, 4)}, {Name: "u"}}}
	for i, a := range nb201.RandomN(rng, 60) {
		s := Sample{Arch: a, Acc: 60 + float64(a.Count(nb201.Conv3x3))*5 + rng.Norm(), Task: i % 2}
		if i < 48 {
			d.Train = append(d.Train, s)
		} else {
			d.Eval = append(d.Eval, s)
		}
	}
	return d
}

func tinyConfig() ModelConfig {
	cfg := DefaultModelConfig(4)
	cfg.Net = gnn.PredictorConfig{Nodes: 8, Vocab: 7, GCNHidden: 16, GCNLayers: 2, LinearHidden: 8, HS: 8, NZ: 4,
		FeatDim: 4, SetHeads: 2, Dropout: 0.1, TimeEmbed: true}
	return cfg
}

func TestCheckpointRoundTrip(t *testing.T) {
	d := tinyData(t)
	m, rep, err := Train(context.Background(), d, tinyConfig(), TrainConfig{Iters: 5, Batch: 16, LR: 1e-3, Warmup: 2, GradClip: 1, Seed: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Steps != 5 || rep.Clean.N != 12 || !m.Cfg.WithFeatures || m.Cfg.Norm.Std <= 0 {
		t.Fatalf("report %+v, cfg %+v", rep, m.Cfg)
	}
	path := filepath.Join(t.TempDir(), "p.ckpt")
	if err := m.Save(path, 5, 1); err != nil {
		t.Fatal(err)
	}
	m2, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if m2.Cfg.Norm != m.Cfg.Norm || m2.Cfg.Graph != m.Cfg.Graph || !m2.Cfg.WithFeatures || m2.Cfg.Source != "tiny" {
		t.Fatalf("config not restored: %+v", m2.Cfg)
	}
	archs := []nb201.Arch{nb201.MustParse(archA), nb201.MustParse(archB)}
	for _, feats := range []*tensor.Tensor{nil, d.Tasks[0].Feats} {
		ds1, _ := m.DatasetVector(gnn.Ctx{}, feats)
		ds2, _ := m2.DatasetVector(gnn.Ctx{}, feats)
		p1, p2 := m.PredictClean(archs, ds1), m2.PredictClean(archs, ds2)
		for i := range p1 {
			if p1[i] != p2[i] {
				t.Fatalf("prediction %d: %v before save, %v after load", i, p1[i], p2[i])
			}
		}
	}
	if _, err := m.DatasetVector(gnn.Ctx{}, tensor.Zeros(2, 3, 5)); err == nil {
		t.Fatal("wrong feature width accepted")
	}
	b, _ := os.ReadFile(path)
	if _, err := LoadBytes(b[:len(b)-3]); err == nil {
		t.Fatal("truncated checkpoint accepted")
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.ckpt")); err == nil {
		t.Fatal("missing file accepted")
	}
}

// Noise-aware training on an NB201 column learns to rank held-out cells.
func TestTrainLearnsTableColumn(t *testing.T) {
	tab := loadTable(t)
	d, err := LoadTable(tab, "c10_test", 0.05, 3000, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Eval) != 781 || len(d.Train) != 3000 || len(d.Tasks) != 1 {
		t.Fatalf("split %d/%d", len(d.Train), len(d.Eval))
	}
	cfg := DefaultModelConfig(8)
	cfg.Net = gnn.PredictorConfig{Nodes: 8, Vocab: 7, GCNHidden: 32, GCNLayers: 3, LinearHidden: 32, HS: 16, NZ: 8,
		FeatDim: 8, SetHeads: 2, Dropout: 0, TimeEmbed: true}
	m, rep, err := Train(context.Background(), d, cfg, TrainConfig{Iters: 150, Batch: 128, LR: 3e-3, Warmup: 10, GradClip: 1, Seed: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("clean: %s\nnoisy: %s", rep.Clean, rep.Noisy)
	if rep.Clean.Spearman < 0.5 || rep.Clean.Kendall < 0.35 {
		t.Errorf("clean held-out Spearman %.3f / Kendall %.3f, want >= 0.5 / 0.35 (chance: about 0 ± 0.04)", rep.Clean.Spearman, rep.Clean.Kendall)
	}
	if !(rep.Noisy.Spearman < rep.Clean.Spearman) {
		t.Errorf("noisy Spearman %.3f should be below clean %.3f", rep.Noisy.Spearman, rep.Clean.Spearman)
	}
	if m.Cfg.WithFeatures {
		t.Error("table data has no features")
	}
}

func TestLoadOfficial(t *testing.T) {
	dir := os.Getenv("NAG_DATA")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "data")
	}
	dir = filepath.Join(dir, "diffusionnag-official")
	if _, err := os.Stat(filepath.Join(dir, metatrain.EntriesFile)); err != nil {
		t.Skipf("official meta-training data not found in %s", dir)
	}
	d, err := LoadOfficial(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Train) != 4230 || len(d.Eval) != 400 || len(d.Tasks) != 3031 || d.TasksWithFeatures() != 0 {
		t.Fatalf("train %d eval %d tasks %d", len(d.Train), len(d.Eval), len(d.Tasks))
	}
	n := ComputeNorm(append(append([]Sample{}, d.Train...), d.Eval...))
	if math.Abs(n.Mean-71.59) > 0.01 || math.Abs(n.Std-6.69) > 0.01 {
		t.Fatalf("accuracy mean %.3f std %.3f, want 71.59 / 6.69 (reference §7.3)", n.Mean, n.Std)
	}
}

func TestEncodeTasksMatchesOneByOne(t *testing.T) {
	cfg := tinyConfig()
	m, err := NewModel(cfg, tensor.NewRNG(4))
	if err != nil {
		t.Fatal(err)
	}
	rng := tensor.NewRNG(5)
	feats := []*tensor.Tensor{tensor.RandN(rng, 2, 3, 4), tensor.RandN(rng, 3, 2, 4), tensor.RandN(rng, 2, 3, 4)}
	enc, err := m.EncodeTasks(gnn.Ctx{}, feats)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range feats {
		one, _ := m.DatasetVector(gnn.Ctx{}, f)
		for j, v := range one.Value.Data() {
			if got := enc.Value.Data()[i*cfg.Net.NZ+j]; math.Abs(float64(got-v)) > 1e-5 {
				t.Fatalf("task %d element %d: batched %v, alone %v", i, j, got, v)
			}
		}
	}
	if _, err := m.EncodeTasks(gnn.Ctx{}, []*tensor.Tensor{tensor.Zeros(2, 3, 9)}); err == nil {
		t.Fatal("wrong width accepted")
	}
}

func TestBatchDatasetsRows(t *testing.T) {
	d := tinyData(t)
	d.Tasks = append(d.Tasks, Task{Name: "g", Feats: tensor.RandN(tensor.NewRNG(8), 3, 2, 4)})
	d.Train[5].Task = 2
	m, err := NewModel(tinyConfig(), tensor.NewRNG(4))
	if err != nil {
		t.Fatal(err)
	}
	batch := d.Train[:12]
	ds, err := batchDatasets(m, gnn.Ctx{}, d, batch)
	if err != nil {
		t.Fatal(err)
	}
	nz := m.Cfg.Net.NZ
	for i, s := range batch {
		want, _ := m.DatasetVector(gnn.Ctx{}, d.Tasks[s.Task].Feats)
		for j, v := range want.Value.Data() {
			if got := ds.Value.Data()[i*nz+j]; math.Abs(float64(got-v)) > 1e-5 {
				t.Fatalf("item %d (task %d) element %d: %v, want %v", i, s.Task, j, got, v)
			}
		}
	}
}
