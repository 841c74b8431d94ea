package assets_test

import (
	"testing"

	"github.com/nagml/nag/nag/assets"
	"github.com/nagml/nag/nag/diffusion"
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
