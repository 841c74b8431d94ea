package predictor

import (
	"context"
	"os"
	"strconv"
	"testing"
)

func TestScratchCond(t *testing.T) {
	if os.Getenv("SCRATCH") == "" {
		t.Skip()
	}
	tab := loadTable(t)
	it, _ := strconv.Atoi(os.Getenv("IT"))
	famMu, _ = strconv.ParseFloat(os.Getenv("MU"), 64)
	hs, _ := strconv.Atoi(os.Getenv("HS"))
	nz, _ := strconv.Atoi(os.Getenv("NZ"))
	lr, _ := strconv.ParseFloat(os.Getenv("LR"), 64)
	tc := TrainConfig{Iters: it, Batch: 64, LR: lr, Warmup: 20, GradClip: 1, Seed: 5, Clean: os.Getenv("CLEAN") != ""}
	for _, feat := range []bool{true, false} {
		d := semiSynthetic(t, tab, feat)
		cfg := smallModelConfig(6)
		cfg.Net.HS, cfg.Net.NZ = hs, nz
		m, _, err := Train(context.Background(), d, cfg, tc, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("feat %v: %v (train fit %v)", feat, familySpearman(m, d), Evaluate(m, d, d.Train, false, 1).MeanTaskSpearman())
	}
}
