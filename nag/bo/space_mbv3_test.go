package bo

import (
	"context"
	"math"
	"testing"

	"github.com/nagml/nag/nag/ofa"
	"github.com/nagml/nag/tensor"
)

func TestMBV3SpaceOperators(t *testing.T) {
	sp := MBV3Space{}
	rng := tensor.NewRNG(1)
	for i := 0; i < 300; i++ {
		a := sp.Random(rng)
		if err := a.Validate(); err != nil {
			t.Fatalf("Random gave an invalid network %v: %v", a, err)
		}
		m := sp.Mutate(a, rng)
		if err := m.Validate(); err != nil || m == a {
			t.Fatalf("Mutate(%v) = %v (err %v): must be a different valid network", a, m, err)
		}
		nb := sp.Neighbours(a)
		active := 0
		for _, d := range a.D {
			active += d
		}
		if want := 8*active + 2*ofa.NumStages; len(nb) != want {
			t.Fatalf("%d neighbours of %v, want %d", len(nb), a, want)
		}
		seen := map[ofa.Arch]bool{}
		for _, b := range nb {
			if err := b.Validate(); err != nil || b == a || seen[b] {
				t.Fatalf("neighbour %v of %v: invalid (%v), equal or repeated", b, a, err)
			}
			seen[b] = true
		}
		// Features: one-hot rows of the active layers plus one depth per stage.
		f := sp.Features(a)
		var sum float32
		for _, v := range f {
			sum += v
		}
		if len(f) != sp.FeatureDim() || int(sum) != active+ofa.NumStages {
			t.Fatalf("features of %v: %d values summing to %v", a, len(f), sum)
		}
		if p, err := sp.Parse(a.String()); err != nil || p != a {
			t.Fatalf("Parse(String(%v)) = %v, %v", a, p, err)
		}
	}
}

// Project maps clean one-hot matrices back to their networks and any sample
// to a valid network.
func TestMBV3Project(t *testing.T) {
	sp := MBV3Space{}
	rng := tensor.NewRNG(2)
	archs := make([]ofa.Arch, 50)
	for i := range archs {
		archs[i] = sp.Random(rng)
	}
	got := sp.Project(sp.OneHot(archs))
	for i := range archs {
		if got[i] != archs[i] {
			t.Fatalf("Project(OneHot(%v)) = %v", archs[i], got[i])
		}
	}
	noisy := tensor.RandN(rng, 64, ofa.NumLayers, ofa.NumTypes)
	for i, a := range sp.Project(noisy) {
		if err := a.Validate(); err != nil {
			t.Fatalf("projection %d of a noise sample is invalid: %v", i, err)
		}
	}
}

// mbv3Synth is a deterministic synthetic objective over MobileNetV3 networks:
// larger kernels and expansions in the later stages score higher.
type mbv3Synth struct{}

func (mbv3Synth) Evaluate(_ context.Context, a ofa.Arch) (Outcome, error) {
	v := 0.0
	for i := range a.KS {
		w := float64(1 + i/ofa.LayersPerStage)
		v += w * float64(a.KS[i]+a.E[i])
	}
	return Outcome{Value: v, Test: v + 0.5}, nil
}

func TestRunInMBV3Space(t *testing.T) {
	o := fastOptions()
	for _, name := range []string{"random", "rea", "ls", "bananas", "gnn-mutation"} {
		m, _, err := NewMethod[ofa.Arch](MBV3Space{}, name, o, 4)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := Run[ofa.Arch](context.Background(), MBV3Space{}, m, mbv3Synth{}, MBV3Task(), Config{Budget: 20, Batch: 4, Seed: 4})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		seen := map[string]bool{}
		for _, e := range rec.Evals {
			if seen[e.Arch] {
				t.Fatalf("%s evaluated %s twice", name, e.Arch)
			}
			seen[e.Arch] = true
		}
		if len(rec.Evals) != 20 || rec.Space != "mbv3" || math.IsNaN(float64(rec.IncumbentTest)) {
			t.Fatalf("%s: %d evaluations, space %q, incumbent %v", name, len(rec.Evals), rec.Space, rec.IncumbentTest)
		}
		// The incumbent is the best of the evaluated values.
		best := math.Inf(-1)
		for _, e := range rec.Evals {
			best = math.Max(best, e.Value)
		}
		if float64(rec.IncumbentVal) != best {
			t.Fatalf("%s: incumbent value %v, best evaluated %v", name, rec.IncumbentVal, best)
		}
	}
}
