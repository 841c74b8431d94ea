package assets_test

import (
	"context"
	"strings"
	"testing"

	"github.com/nagml/nag/nag/assets"
	"github.com/nagml/nag/nag/diffusion"
	"github.com/nagml/nag/nag/nb201"
	"github.com/nagml/nag/tensor"
)

// TestScoreNetNB201 checks that the embedded default score network decodes
// into a sampling model with the documented configuration.
func TestScoreNetNB201(t *testing.T) {
	c, err := assets.ScoreNetNB201()
	if err != nil {
		t.Fatal(err)
	}
	m, err := diffusion.LoadModel(c)
	if err != nil {
		t.Fatal(err)
	}
	if m.Space.Name != "nb201" || m.Weights != "ema" || m.Config.Preset != "small" || m.Config.Split != 0.5 {
		t.Errorf("space %s, weights %s, preset %s, split %g", m.Space.Name, m.Weights, m.Config.Preset, m.Config.Split)
	}
	if n := m.Net.NumParams(); n != 64263 {
		t.Errorf("%d parameters, want 64263", n)
	}
	if len(m.TrainIndices) != 7812 {
		t.Errorf("%d training indices, want 7812", len(m.TrainIndices))
	}
	if want := diffusion.SplitIndices(15625, 0.5, m.Config.SplitSeed); len(want) != len(m.TrainIndices) || want[0] != m.TrainIndices[0] || want[7811] != m.TrainIndices[7811] {
		t.Error("stored training indices do not match the split seed")
	}
	if _, ok := c.Entry("optim.counters"); ok {
		t.Error("the embedded checkpoint carries optimiser state")
	}
	if len(assets.ScoreNetNB201Bytes()) > 2<<20 {
		t.Errorf("embedded checkpoint is %d bytes, want < 2 MiB", len(assets.ScoreNetNB201Bytes()))
	}
}

// TestSDEditStartsStayNear: sampling the embedded network from architectures
// perturbed to an early time (Start 0.05) returns mostly those
// architectures, from Start 1 (as far as the prior) mostly others.
func TestSDEditStartsStayNear(t *testing.T) {
	m, err := assets.ScoreModelNB201()
	if err != nil {
		t.Fatal(err)
	}
	rng := tensor.NewRNG(5)
	const n = 64
	archs := nb201.RandomN(rng, n)
	init := nb201.OneHotBatch(archs)
	same := func(start float64) float64 {
		res, err := m.Sample(context.Background(), diffusion.SampleOptions{N: n, Batch: n, Steps: 100, Seed: 1, Init: init, Start: start})
		if err != nil {
			t.Fatal(err)
		}
		k := 0
		for i, a := range archs {
			if res.Valid[i] && res.Archs[i] == a.String() {
				k++
			}
		}
		return float64(k) / n
	}
	near, far := same(0.05), same(1)
	t.Logf("kept the starting architecture: %.2f from t0 0.05, %.2f from t0 1", near, far)
	if near < 0.8 || far > 0.2 {
		t.Errorf("kept %.2f from t0 0.05 (want >= 0.8) and %.2f from t0 1 (want <= 0.2)", near, far)
	}
	if _, err := m.Sample(context.Background(), diffusion.SampleOptions{N: n, Init: tensor.Zeros(2, 8, 7), Start: 0.5}); err == nil || !strings.Contains(err.Error(), "initial architectures") {
		t.Errorf("wrong Init shape: %v", err)
	}
}
