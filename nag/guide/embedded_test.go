package guide

import (
	"context"
	"testing"

	"github.com/nagml/nag/nag/assets"
	"github.com/nagml/nag/nag/predictor"
	"github.com/nagml/nag/sde"
)

// Guided samples from the embedded score network and predictor at the
// reference scale 10000 stay valid: >= 95 % of 128 samples (100 sampler
// steps, as in the no-argument default run).
func TestEmbeddedGuidedValidity(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	sm, err := assets.ScoreModelNB201()
	if err != nil {
		t.Fatal(err)
	}
	pm, err := predictor.LoadBytes(assets.PredictorNB201Bytes())
	if err != nil {
		t.Fatal(err)
	}
	res, err := Generate(context.Background(), sm.SDE, sm.ScoreFn(nil), pm, nil, Options{
		Scale: 10000, Want: 1, MaxRounds: 1, Batch: 128, Sampler: sde.Options{Steps: 100}, Seed: 444})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("validity %.3f (%d/%d), %d unique", res.Validity(), res.Valid, res.Sampled, len(res.Archs))
	if res.Validity() < 0.95 {
		t.Fatalf("validity %.3f at scale 10000, want >= 0.95", res.Validity())
	}
}
