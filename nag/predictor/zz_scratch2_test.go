package predictor

import (
	"context"
	"os"
	"testing"

	"github.com/nagml/nag/gnn"
)

func TestScratchDS(t *testing.T) {
	if os.Getenv("SCRATCH2") == "" {
		t.Skip()
	}
	tab := loadTable(t)
	d := semiSynthetic(t, tab, true)
	cfg := smallModelConfig(6)
	for _, it := range []int{1, 200} {
		tc := TrainConfig{Iters: it, Batch: 64, LR: 3e-3, Warmup: 20, GradClip: 1, Seed: 5}
		m, _, err := Train(context.Background(), d, cfg, tc, nil)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := m.DatasetVector(gnn.Ctx{}, d.Tasks[0].Feats)
		b, _ := m.DatasetVector(gnn.Ctx{}, d.Tasks[25].Feats)
		t.Logf("it %d dsA %v\n dsB %v", it, a.Value.Data(), b.Value.Data())
		archs := []Sample{d.Train[0], d.Train[1], d.Train[2]}
		_ = archs
		for _, p := range m.Net.Params() {
			if p.Name == "pred_fc.0.weight" {
				t.Logf("head w row0 %v", p.Value.Data()[:40])
			}
		}
	}
}
