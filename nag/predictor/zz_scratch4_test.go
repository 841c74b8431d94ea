package predictor

import (
	"context"
	"os"
	"testing"

	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/nag/nb201"
	"github.com/nagml/nag/tensor"
)

func TestScratchFlip(t *testing.T) {
	if os.Getenv("SCRATCH4") == "" {
		t.Skip()
	}
	rng := tensor.NewRNG(1)
	d := &Data{Source: "flip"}
	for fam := 0; fam < 2; fam++ {
		for k := 0; k < 20; k++ {
			f := tensor.Zeros(3, 5, 6)
			mu := float32(3)
			if fam == 1 {
				mu = -3
			}
			rng.FillNormal(f.Data(), mu, 1)
			ti := len(d.Tasks)
			d.Tasks = append(d.Tasks, Task{Name: []string{"A", "B"}[fam], Feats: f})
			for _, a := range nb201.RandomN(rng, 40) {
				z := float64(a.Count(nb201.Conv3x3))
				if fam == 1 && os.Getenv("SAME") == "" {
					z = -z
				}
				s := Sample{Arch: a, Acc: 70 + 3*z + 0.3*rng.Norm(), Task: ti}
				if k < 16 {
					d.Train = append(d.Train, s)
				} else {
					d.Eval = append(d.Eval, s)
				}
			}
		}
	}
	cfg := smallModelConfig(6)
	cfg.Net.HS, cfg.Net.NZ = 32, 16
	m, _, err := Train(context.Background(), d, cfg, TrainConfig{Iters: 600, Batch: 64, LR: 2e-2, Warmup: 20, GradClip: 1, Seed: 5, Clean: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("flip: %v", familySpearman(m, d))
	a, _ := m.DatasetVector(gnn.Ctx{}, d.Tasks[0].Feats)
	b, _ := m.DatasetVector(gnn.Ctx{}, d.Tasks[25].Feats)
	t.Logf("dsA %v\ndsB %v", a.Value.Data(), b.Value.Data())
}
