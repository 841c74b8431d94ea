package mbv3

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/nagml/nag/nag/ckpt"
	"github.com/nagml/nag/nag/diffusion"
	"github.com/nagml/nag/nag/ofa"
	"github.com/nagml/nag/tensor"
)

// UniformArchs draws n distinct sub-networks uniformly from the valid space
// (ofa.RandomUniform: each distinct network equally likely, so 90 % of
// stages have depth 4), seeded by seed.
func UniformArchs(n int, seed uint64) ([]ofa.Arch, error) {
	return drawArchs(n, seed, ofa.RandomUniform)
}

// OFAArchs draws n distinct sub-networks with OFA's own sampler
// (sample_active_subnet, ofa.Random: each stage depth 2/3/4 with
// probability 1/3, then kernels and expands uniform), seeded by seed.
func OFAArchs(n int, seed uint64) ([]ofa.Arch, error) {
	return drawArchs(n, seed, ofa.Random)
}

func drawArchs(n int, seed uint64, draw func(*tensor.RNG) ofa.Arch) ([]ofa.Arch, error) {
	if n < 1 {
		return nil, fmt.Errorf("OFA dataset: size %d must be positive", n)
	}
	rng := tensor.NewRNG(seed)
	seen := make(map[ofa.Arch]bool, n)
	out := make([]ofa.Arch, 0, n)
	for len(out) < n {
		a := draw(rng)
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out, nil
}

// ReadArchs reads architecture strings, one per line ('#' starts a
// comment, blank lines are skipped; a JSON string literal is accepted
// too); errors name the line.
func ReadArchs(r io.Reader, name string) ([]ofa.Arch, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	var out []ofa.Arch
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if i := strings.IndexByte(s, '#'); i >= 0 {
			s = strings.TrimSpace(s[:i])
		}
		if s == "" {
			continue
		}
		if s[0] == '"' {
			var u string
			if err := json.Unmarshal([]byte(s), &u); err != nil {
				return nil, fmt.Errorf("%s line %d: %w", name, line, err)
			}
			s = u
		}
		a, err := ofa.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", name, line, err)
		}
		out = append(out, a)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no architectures", name)
	}
	return out, nil
}

// ReadArchFile reads ReadArchs' format from a file.
func ReadArchFile(path string) ([]ofa.Arch, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("OFA architectures: %w", err)
	}
	defer f.Close()
	return ReadArchs(f, path)
}

// Samplers accepted by DatasetSpec.Sampler.
const (
	SamplerOFA     = "ofa"     // OFAArchs
	SamplerUniform = "uniform" // UniformArchs
)

// DatasetSpec says where the score network's training architectures come
// from: Size distinct draws of Sampler ("ofa" or "uniform") with Seed, or
// the strings in File. Its String form is stored in checkpoints
// (diffusion.Config.Mask, after "chain/"), so a checkpoint can rebuild its
// dataset.
type DatasetSpec struct {
	Sampler string
	Size    int
	Seed    uint64
	File    string
}

// String returns "SAMPLER-SIZE-seedSEED" or "file:PATH".
func (d DatasetSpec) String() string {
	if d.File != "" {
		return "file:" + d.File
	}
	return fmt.Sprintf("%s-%d-seed%d", d.Sampler, d.Size, d.Seed)
}

// ParseDatasetSpec reads DatasetSpec.String's form.
func ParseDatasetSpec(s string) (DatasetSpec, error) {
	if f, ok := strings.CutPrefix(s, "file:"); ok {
		if f == "" {
			return DatasetSpec{}, fmt.Errorf("OFA dataset %q: empty file name", s)
		}
		return DatasetSpec{File: f}, nil
	}
	for _, smp := range []string{SamplerOFA, SamplerUniform} {
		rest, ok := strings.CutPrefix(s, smp+"-")
		if !ok {
			continue
		}
		n, seed, ok2 := strings.Cut(rest, "-seed")
		size, err1 := strconv.Atoi(n)
		sd, err2 := strconv.ParseUint(seed, 10, 64)
		if ok2 && err1 == nil && err2 == nil && size > 0 {
			return DatasetSpec{Sampler: smp, Size: size, Seed: sd}, nil
		}
	}
	return DatasetSpec{}, fmt.Errorf("OFA dataset %q: want ofa-SIZE-seedSEED, uniform-SIZE-seedSEED or file:PATH", s)
}

// Archs materialises the dataset.
func (d DatasetSpec) Archs() ([]ofa.Arch, error) {
	switch {
	case d.File != "":
		return ReadArchFile(d.File)
	case d.Sampler == SamplerOFA:
		return OFAArchs(d.Size, d.Seed)
	case d.Sampler == SamplerUniform:
		return UniformArchs(d.Size, d.Seed)
	}
	return nil, fmt.Errorf("OFA dataset: unknown sampler %q (want ofa or uniform)", d.Sampler)
}

// Attention masks of the OFA score network (the part of the space
// description before the "/").
const (
	// MaskChain is the reference's mask (mask algorithm 'none' on the
	// chain adjacency): node i attends only to node i+1, the last node to
	// all. Information flows only forward, so the score of a layer cannot
	// depend on earlier layers except through the last node; the
	// reference's 12-layer network reaches it, a 3-layer one mostly cannot.
	MaskChain = "chain"
	// MaskStage lets every node attend to all four slots of its own stage
	// (itself included). With the stage-wise positional encoding this is
	// exactly the dependency structure of the space (depth and the "no gap"
	// rule are per stage); the default for the small network.
	MaskStage = "stage"
)

// MaskTensor returns the [20, 20] 0/1 attention mask called name.
func MaskTensor(name string) (*tensor.Tensor, error) {
	switch name {
	case MaskChain:
		return ofa.AdjacencyTensor(), nil
	case MaskStage:
		m := tensor.Zeros(ofa.NumLayers, ofa.NumLayers)
		d := m.Data()
		for i := 0; i < ofa.NumLayers; i++ {
			for j := 0; j < ofa.NumLayers; j++ {
				if i/ofa.LayersPerStage == j/ofa.LayersPerStage {
					d[i*ofa.NumLayers+j] = 1
				}
			}
		}
		return m, nil
	}
	return nil, fmt.Errorf("OFA attention mask %q: want %s or %s", name, MaskChain, MaskStage)
}

// DiffusionSpace returns the OFA MobileNetV3 space for the score network
// (reference §1.3): 20x9 node matrices with zero rows for skipped layers,
// stage-wise positional encoding (period 4), the attention mask called
// mask (MaskChain or MaskStage), the given training architectures, and
// the reference decoder (per-element threshold at 0.5, then
// is_valid_OFA_x). The space's MaskName is "MASK/DATASET".
func DiffusionSpace(spec DatasetSpec, archs []ofa.Arch, mask string) (diffusion.Space, error) {
	mt, err := MaskTensor(mask)
	if err != nil {
		return diffusion.Space{}, err
	}
	return diffusion.Space{
		Name: "mbv3", Nodes: ofa.NumLayers, Vocab: ofa.NumTypes, PosEnc: "stagewise", StageLen: ofa.LayersPerStage,
		Mask: mt, MaskName: mask + "/" + spec.String(),
		Size: len(archs),
		Data: func(i int) []float32 {
			x := archs[i].OneHot()
			return x.Slice()
		},
		Decode: func(v []float32) (string, bool) {
			x, err := ofa.XFromSlice(v)
			if err != nil {
				return "", false
			}
			a, err := ofa.Decode(x, ofa.DecodeThreshold)
			if err != nil {
				return "", false
			}
			return a.String(), true
		},
		ArchString: func(i int) string { return archs[i].String() },
	}, nil
}

// NewScoreConfig returns the score-network training configuration for the
// OFA space: the named CATE preset ("small", "medium" or "paper") with the stage-wise
// encoding, and the OFA VE-SDE σ 0.1..1 (reference §3).
func NewScoreConfig(sp diffusion.Space, preset string) (diffusion.Config, error) {
	cfg, err := diffusion.NewConfig(sp, preset)
	if err != nil {
		return cfg, err
	}
	cfg.SDE.SigmaMax = 1
	return cfg, nil
}

// SpaceFromConfig rebuilds the space of a checkpoint's configuration.
func SpaceFromConfig(cfg diffusion.Config) (diffusion.Space, error) {
	if cfg.Space != "mbv3" {
		return diffusion.Space{}, fmt.Errorf("score network is for space %q, not mbv3", cfg.Space)
	}
	mask, s, ok := strings.Cut(cfg.Mask, "/")
	if !ok {
		return diffusion.Space{}, fmt.Errorf("mbv3 mask %q: want MASK/DATASET (e.g. stage/ofa-100000-seed1)", cfg.Mask)
	}
	spec, err := ParseDatasetSpec(s)
	if err != nil {
		return diffusion.Space{}, err
	}
	archs, err := spec.Archs()
	if err != nil {
		return diffusion.Space{}, err
	}
	return DiffusionSpace(spec, archs, mask)
}

// LoadScoreModel reads an OFA score-network checkpoint written by
// diffusion.Train (or exported by diffusion.Model.Export). It is the mbv3
// counterpart of diffusion.LoadModelFile, whose space table only knows
// nb201.
func LoadScoreModel(path string) (*diffusion.Model, error) {
	c, err := ckpt.ReadFile(path, diffusion.CheckpointKind)
	if err != nil {
		return nil, err
	}
	m, err := ScoreModel(c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// ScoreModel builds the sampling model of a decoded OFA score-network
// checkpoint: it rebuilds the space (SpaceFromConfig), the network from
// its config, and loads the EMA weights when present.
func ScoreModel(c *ckpt.Checkpoint) (*diffusion.Model, error) {
	return diffusion.LoadModelIn(c, SpaceFromConfig)
}

// Train trains the OFA score network (diffusion.Train on DiffusionSpace
// with the given mask); sigmaMax > 0 overrides the VE-SDE's σ_max (1.0).
func Train(ctx context.Context, spec DatasetSpec, mask, preset string, sigmaMax float64, iters, batch int, opt diffusion.TrainOptions) (*diffusion.TrainResult, error) {
	archs, err := spec.Archs()
	if err != nil {
		return nil, err
	}
	sp, err := DiffusionSpace(spec, archs, mask)
	if err != nil {
		return nil, err
	}
	cfg, err := NewScoreConfig(sp, preset)
	if err != nil {
		return nil, err
	}
	if sigmaMax > 0 {
		cfg.SDE.SigmaMax = sigmaMax
	}
	if iters > 0 {
		cfg.Iters = iters
	}
	if batch > 0 {
		cfg.Batch = batch
	}
	return diffusion.Train(ctx, cfg, sp, opt)
}
