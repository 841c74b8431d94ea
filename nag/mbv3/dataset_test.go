package mbv3

import (
	"bytes"
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nagml/nag/nag/diffusion"
	"github.com/nagml/nag/nag/ofa"
)

func TestDatasetSpec(t *testing.T) {
	for _, s := range []DatasetSpec{{Sampler: SamplerOFA, Size: 100, Seed: 3}, {Sampler: SamplerUniform, Size: 7, Seed: 0}, {File: "/tmp/a b.txt"}} {
		got, err := ParseDatasetSpec(s.String())
		if err != nil || got != s {
			t.Fatalf("round trip of %+v: %+v, %v", s, got, err)
		}
	}
	for _, bad := range []string{"", "ofa-0-seed1", "ofa-10", "uniform-x-seed1", "file:", "grid-10-seed1"} {
		if _, err := ParseDatasetSpec(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	a, err := DatasetSpec{Sampler: SamplerOFA, Size: 500, Seed: 9}.Archs()
	if err != nil || len(a) != 500 {
		t.Fatalf("ofa draw: %d archs, %v", len(a), err)
	}
	b, _ := DatasetSpec{Sampler: SamplerOFA, Size: 500, Seed: 9}.Archs()
	seen := map[ofa.Arch]bool{}
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("same seed, different draw")
		}
		if err := a[i].Validate(); err != nil {
			t.Fatal(err)
		}
		if seen[a[i]] {
			t.Fatal("duplicate architecture")
		}
		seen[a[i]] = true
	}
	// OFA's sampler: depths equally likely; uniform: depth 4 with
	// probability 6561/7371 = 0.89.
	d := NewDistribution(a)
	u, _ := UniformArchs(500, 9)
	du := NewDistribution(u)
	for k := 0; k < 3; k++ {
		if math.Abs(d.DepthAll[k]-1.0/3) > 0.04 {
			t.Errorf("ofa sampler depth %d frequency %.3f, want ~1/3", k+2, d.DepthAll[k])
		}
	}
	if math.Abs(du.DepthAll[2]-6561.0/7371) > 0.03 {
		t.Errorf("uniform sampler depth-4 frequency %.3f, want ~0.89", du.DepthAll[2])
	}
	if _, err := (DatasetSpec{Sampler: "grid", Size: 3}).Archs(); err == nil {
		t.Error("unknown sampler accepted")
	}
}

func TestDistribution(t *testing.T) {
	a, _ := ofa.Parse("2-3-3_2-5-4_0-0-0_0-0-0_3-7-6_3-7-6_3-7-6_0-0-0_4-3-3_4-3-3_4-3-3_4-3-3_2-3-3_2-3-3_0-0-0_0-0-0_2-3-3_2-3-3_0-0-0_0-0-0")
	d := NewDistribution([]ofa.Arch{a})
	// depths 2,3,4,2,2; 13 active layers: kernels 3 x 9, 5 x 1, 7 x 3;
	// expands 3 x 9, 4 x 1, 6 x 3.
	want := [3]float64{3.0 / 5, 1.0 / 5, 1.0 / 5}
	for k := range want {
		if math.Abs(d.DepthAll[k]-want[k]) > 1e-12 {
			t.Fatalf("depth frequencies %v, want %v", d.DepthAll, want)
		}
	}
	if d.Kernel != [3]float64{9.0 / 13, 1.0 / 13, 3.0 / 13} || d.Expand != [3]float64{9.0 / 13, 1.0 / 13, 3.0 / 13} || d.ActiveLayer != 13 {
		t.Fatalf("kernel %v expand %v layers %g", d.Kernel, d.Expand, d.ActiveLayer)
	}
	if d.Depth[2] != [3]float64{0, 0, 1} {
		t.Fatalf("stage 2 depth %v", d.Depth[2])
	}
	var buf bytes.Buffer
	WriteDistributionTable(&buf, d, d)
	if !strings.Contains(buf.String(), "| kernel 7 | 0.231 | 0.231 |") {
		t.Fatalf("table:\n%s", buf.String())
	}
}

func TestReadArchs(t *testing.T) {
	good := "# header\n2-3-3_2-3-3_0-0-0_0-0-0_2-3-3_2-3-3_0-0-0_0-0-0_2-3-3_2-3-3_0-0-0_0-0-0_2-3-3_2-3-3_0-0-0_0-0-0_2-3-3_2-3-3_0-0-0_0-0-0\n\n" +
		`"2-3-3_2-3-3_0-0-0_0-0-0_2-3-3_2-3-3_0-0-0_0-0-0_2-3-3_2-3-3_0-0-0_0-0-0_2-3-3_2-3-3_0-0-0_0-0-0_2-3-4_2-3-3_0-0-0_0-0-0"` + "\n"
	a, err := ReadArchs(strings.NewReader(good), "good")
	if err != nil || len(a) != 2 || a[1].E[16] != 4 {
		t.Fatalf("%v %v", a, err)
	}
	for _, c := range []struct{ text, want string }{
		{"", "no architectures"},
		{"# only\n", "no architectures"},
		{"2-3-3\n", "line 1"},
		{"# x\n\"unterminated\n", "line 2"},
	} {
		if _, err := ReadArchs(strings.NewReader(c.text), "f"); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.text, err, c.want)
		}
	}
	if _, err := ReadArchFile(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("missing file accepted")
	}
}

// The space decodes its own training data, and a trained checkpoint loads
// back with its space, dataset and weights.
func TestDiffusionSpaceAndCheckpoint(t *testing.T) {
	spec := DatasetSpec{Sampler: SamplerOFA, Size: 64, Seed: 5}
	archs, _ := spec.Archs()
	if _, err := DiffusionSpace(spec, archs, "full"); err == nil {
		t.Fatal("unknown mask accepted")
	}
	chain, err := DiffusionSpace(spec, archs, MaskChain)
	if err != nil || chain.Mask.At(0, 1) != 1 || chain.Mask.At(1, 0) != 0 || chain.MaskName != "chain/ofa-64-seed5" {
		t.Fatalf("chain space: %v %s", err, chain.MaskName)
	}
	sp, err := DiffusionSpace(spec, archs, MaskStage)
	if err != nil {
		t.Fatal(err)
	}
	// Stage mask: block diagonal 4x4 blocks of ones.
	for i := 0; i < 20; i++ {
		for j := 0; j < 20; j++ {
			want := float32(0)
			if i/4 == j/4 {
				want = 1
			}
			if sp.Mask.At(i, j) != want {
				t.Fatalf("stage mask [%d][%d] = %g", i, j, sp.Mask.At(i, j))
			}
		}
	}
	if sp.Size != 64 || sp.Nodes != 20 || sp.Vocab != 9 || sp.PosEnc != "stagewise" || sp.StageLen != 4 {
		t.Fatalf("space %+v", sp)
	}
	for i := 0; i < sp.Size; i++ {
		s, ok := sp.Decode(sp.Data(i))
		if !ok || s != archs[i].String() || sp.ArchString(i) != s {
			t.Fatalf("entry %d decodes to %q (%v), want %q", i, s, ok, archs[i].String())
		}
	}
	bad := sp.Data(0)
	bad[0*9+0], bad[0*9+1] = 1, 1 // two types in one row
	if _, ok := sp.Decode(bad); ok {
		t.Fatal("a row with two types decoded as valid")
	}
	cfg, err := NewScoreConfig(sp, "small")
	if err != nil || cfg.SDE.SigmaMax != 1 || cfg.Model.PosEnc != "stagewise" {
		t.Fatalf("config %+v, %v", cfg, err)
	}
	path := filepath.Join(t.TempDir(), "s.ckpt")
	res, err := Train(context.Background(), spec, MaskStage, "small", 0, 2, 8, diffusion.TrainOptions{Out: path, Seed: 1})
	if err != nil || res.Step != 2 || res.TrainSize != 64 {
		t.Fatalf("train: %+v %v", res, err)
	}
	m, err := LoadScoreModel(path)
	if err != nil {
		t.Fatal(err)
	}
	if m.Space.MaskName != "stage/ofa-64-seed5" || m.Space.Mask.At(0, 3) != 1 {
		t.Fatalf("loaded mask %s", m.Space.MaskName)
	}
	if m.Space.Name != "mbv3" || m.Space.Size != 64 || len(m.TrainIndices) != 64 || m.Weights != "ema" || m.SDE.String() != "VE-SDE(sigma 0.1..1, N=1000)" {
		t.Fatalf("loaded model: space %s size %d, %d indices, %s weights, %s", m.Space.Name, m.Space.Size, len(m.TrainIndices), m.Weights, m.SDE)
	}
	s, err := m.Sample(context.Background(), diffusion.SampleOptions{N: 3, Steps: 3, Seed: 1})
	if err != nil || len(s.Archs) != 3 {
		t.Fatalf("sample: %v", err)
	}
	if _, err := LoadScoreModel(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing checkpoint accepted")
	}
}

func TestDefaultScoreModel(t *testing.T) {
	m, err := LoadScoreModelOrDefault("default")
	if err != nil {
		t.Fatal(err)
	}
	if m.Step != 80000 || m.Weights != "ema" || m.Space.MaskName != "stage/ofa-100000-seed1" || len(m.TrainIndices) != 100000 || m.Config.SDE.SigmaMax != 1 {
		t.Fatalf("default model: step %d, %s weights, mask %s, %d indices, σ_max %g", m.Step, m.Weights, m.Space.MaskName, len(m.TrainIndices), m.Config.SDE.SigmaMax)
	}
}
