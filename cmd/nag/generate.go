package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"

	"github.com/nagml/nag/autograd"
	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/nag/assets"
	"github.com/nagml/nag/nag/diffusion"
	"github.com/nagml/nag/nag/encoder"
	"github.com/nagml/nag/nag/guide"
	"github.com/nagml/nag/nag/hwaware"
	"github.com/nagml/nag/nag/images"
	"github.com/nagml/nag/nag/nb201"
	"github.com/nagml/nag/nag/predictor"
	"github.com/nagml/nag/nag/transfer"
	"github.com/nagml/nag/sde"
	"github.com/nagml/nag/tensor"
)

// loadScoreNet loads a score-network checkpoint; "default" or "" is the
// embedded NB201 one.
func loadScoreNet(path string) (*diffusion.Model, error) {
	if path == "" || path == "default" {
		return assets.ScoreModelNB201()
	}
	return diffusion.LoadModelFile(path)
}

// loadPredictorCkpt loads a predictor checkpoint; "default" or "" is the
// embedded one.
func loadPredictorCkpt(path string) (*predictor.Model, error) {
	if path == "" || path == "default" {
		m, err := predictor.LoadBytes(assets.PredictorNB201Bytes())
		if err != nil {
			return nil, fmt.Errorf("embedded predictor: %w", err)
		}
		return m, nil
	}
	return predictor.Load(path)
}

// datasetFeatures reads a features file (nag encode-dataset output) and
// checks it against the predictor. It returns nil features (and prints a
// note) when the predictor was trained without features.
func datasetFeatures(w io.Writer, path string, pm *predictor.Model) (*tensor.Tensor, error) {
	if path == "" {
		fmt.Fprintf(w, "note: no --dataset given; the predictor uses its learned unknown-dataset vector\n")
		return nil, nil
	}
	f, err := encoder.ReadDatasetFeatures(path)
	if err != nil {
		return nil, err
	}
	if !pm.Cfg.WithFeatures {
		fmt.Fprintf(w, "note: the predictor was trained without dataset features (%s); --dataset is ignored and the learned unknown-dataset vector is used\n", pm.Cfg.Source)
		return nil, nil
	}
	t := f.Tensor()
	if _, err := pm.DatasetVector(gnn.Ctx{}, t); err != nil {
		return nil, fmt.Errorf("--dataset %s: %w", path, err)
	}
	fmt.Fprintf(w, "conditioning on %s: %d classes x %d samples x %d features\n", path, t.Dim(0), t.Dim(1), t.Dim(2))
	return t, nil
}

// genFlags are the generation flags shared by generate and transfer.
type genFlags struct {
	scoreCkpt, predCkpt, dataset *string
	// Encoding the target dataset from its images on the fly.
	images, encModel, encWeights *string
	encSize, perClass            *int
	scale, scaleStep             *float64
	n, rounds, batch, steps      *int
	snr                          *float64
	seed                         *uint64
	noGuide                      *bool
}

func addGenFlags(fs interface {
	String(string, string, string) *string
	Float64(string, float64, string) *float64
	Int(string, int, string) *int
	Uint64(string, uint64, string) *uint64
	Bool(string, bool, string) *bool
}) genFlags {
	return genFlags{
		scoreCkpt:  fs.String("score-ckpt", "default", "score-network checkpoint (default: the embedded NB201 one)"),
		predCkpt:   fs.String("pred-ckpt", "default", "predictor checkpoint (default: the embedded one, meta-trained on the official ImageNet-32 labels)"),
		dataset:    fs.String("dataset", "", "target dataset features (nag encode-dataset output); empty: unknown-dataset vector"),
		images:     fs.String("dataset-images", "", "encode the target dataset from these images instead of --dataset (a U8IMG1 file or DIR/class_name/*.png|jpg)"),
		encModel:   fs.String("encoder", "resnet20", "feature extractor for --dataset-images: "+strings.Join(encoder.Models, ", ")+" (its feature width must match the predictor's)"),
		encWeights: fs.String("encoder-weights", "", "weights of --encoder (default: $NAG_DATA/weights/<model folder>)"),
		encSize:    fs.Int("encoder-size", 0, "input resolution for --encoder (0: the model's default)"),
		perClass:   fs.Int("per-class", 20, "images per class for --dataset-images"),
		scale:      fs.Float64("scale", 10000, "guidance scale of the first round (reference 10000)"),
		scaleStep:  fs.Float64("scale-step", 300, "scale decrease after every round (reference 300)"),
		n:          fs.Int("n", 10, "stop after the round that reaches this many unique valid architectures"),
		rounds:     fs.Int("rounds", 20, "maximum number of rounds"),
		batch:      fs.Int("batch", 256, "samples per round"),
		steps:      fs.Int("steps", 1000, "sampler timesteps per round (reference 1000)"),
		snr:        fs.Float64("snr", 0.16, "the Langevin corrector's signal-to-noise ratio (reference 0.16)"),
		seed:       fs.Uint64("seed", 444, "random seed (reference 444)"),
		noGuide:    fs.Bool("no-guidance", false, "sample without the predictor gradient (ranking still uses the predictor)"),
	}
}

func (g genFlags) options(target transfer.Target, progress func(round, step, total int)) guide.Options {
	return guide.Options{Scale: *g.scale, ScaleStep: *g.scaleStep, NoGuidance: *g.noGuide, Want: *g.n,
		MaxRounds: *g.rounds, Batch: *g.batch, Sampler: sde.Options{Steps: *g.steps, SNR: *g.snr}, Seed: *g.seed,
		Cost: target.Cost, Progress: progress}
}

func (g genFlags) validate() error {
	switch {
	case *g.n < 1:
		return usageError("--n %d must be positive", *g.n)
	case *g.rounds < 1:
		return usageError("--rounds %d must be positive", *g.rounds)
	case *g.batch < 1:
		return usageError("--batch %d must be positive", *g.batch)
	case *g.steps < 1:
		return usageError("--steps %d must be positive", *g.steps)
	case math.IsNaN(*g.scale) || math.IsInf(*g.scale, 0) || math.IsNaN(*g.scaleStep) || math.IsInf(*g.scaleStep, 0):
		return usageError("--scale %g and --scale-step %g must be finite", *g.scale, *g.scaleStep)
	case *g.scale == 0 && !*g.noGuide:
		return usageError("--scale 0: use --no-guidance to sample without guidance")
	case *g.images != "" && *g.dataset != "":
		return usageError("--dataset and --dataset-images both give the target dataset; use one")
	case *g.perClass < 1:
		return usageError("--per-class %d must be positive", *g.perClass)
	}
	return checkSNR(*g.snr)
}

// features returns the target dataset's per-class features: from --dataset,
// or computed from --dataset-images with the chosen CNN, or nil (unknown
// dataset).
func (g genFlags) features(w io.Writer, pm *predictor.Model) (*tensor.Tensor, error) {
	if *g.images == "" {
		return datasetFeatures(w, *g.dataset, pm)
	}
	if !pm.Cfg.WithFeatures {
		fmt.Fprintf(w, "note: the predictor was trained without dataset features (%s); --dataset-images is ignored and the learned unknown-dataset vector is used\n", pm.Cfg.Source)
		return nil, nil
	}
	set, err := images.Read(*g.images)
	if err != nil {
		return nil, err
	}
	wpath := *g.encWeights
	if wpath == "" {
		folder := "resnet-cifar10"
		if *g.encModel == "mobilenetv2" {
			folder = "mobilenetv2-imagenet"
		}
		wpath = filepath.Join(dataRoot(), "weights", folder)
	}
	m, err := encoder.Load(*g.encModel, wpath)
	if err != nil {
		return nil, err
	}
	d, err := encoder.EncodeDataset(m, set, encoder.SampleOptions{PerClass: *g.perClass, Seed: *g.seed,
		Preprocess: encoder.Preprocess{Size: *g.encSize, Progress: encodeProgress(w, "encode "+m.Name())}})
	if err != nil {
		return nil, err
	}
	t := d.Tensor()
	if _, err := pm.DatasetVector(gnn.Ctx{}, t); err != nil {
		return nil, fmt.Errorf("--dataset-images %s: %w", *g.images, err)
	}
	fmt.Fprintf(w, "conditioning on %s encoded by %s: %d classes x %d samples x %d features\n", *g.images, m.Name(), t.Dim(0), t.Dim(1), t.Dim(2))
	return t, nil
}

// roundProgress prints one line per finished round to w.
func roundProgress(w io.Writer) func(round, step, total int) {
	return func(round, step, total int) {
		if step == total {
			fmt.Fprintf(w, "round %d done (%d steps)\n", round+1, total)
		}
	}
}

// runGenerate samples architectures with predictor guidance.
func runGenerate(e *env, args []string) error {
	fs := newFlags(e, "generate", "[--score-ckpt default] [--pred-ckpt default] [--dataset FEATURES.json] [--scale 10000] [--n 10] --out FILE.jsonl")
	g := addGenFlags(fs)
	target := fs.String("target", "cifar10", "dataset whose params/FLOPs are reported (cifar10, cifar100, imagenet16-120)")
	out := fs.String("out", "", "output JSONL file (default: standard output)")
	latDevice := fs.String("latency-device", "", "hardware-aware guidance: latency device (edgegpu, raspi4, pixel3 have embedded regressors; other NB201 table columns need --latency-model)")
	latBudget := fs.Float64("latency-budget", 0, "latency budget in ms on --latency-device")
	latModel := fs.String("latency-model", "", "latency regressor checkpoint (default: the embedded one for the device)")
	maxFLOPs := fs.Float64("max-flops", 0, "FLOPs budget in millions (NB201 convention, on --target; 0 = none)")
	maxParams := fs.Float64("max-params", 0, "parameter budget in millions (on --target; 0 = none)")
	device := addDeviceFlag(fs)
	hwScale := fs.Float64("hw-scale", 0, "weight of each relative budget violation in the guidance (0 = default 1000; 100 keeps validity at tight budgets)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := g.validate(); err != nil {
		return err
	}
	tgt, err := transfer.TargetByName(*target)
	if err != nil {
		return usageError("--target: %v", err)
	}
	var cons []hwaware.Constraint
	if *latDevice != "" || *latBudget != 0 || *maxFLOPs != 0 || *maxParams != 0 {
		cons, err = hwaware.NB201Constraints(hwaware.Limits{Device: *latDevice, LatencyMS: *latBudget,
			LatencyModel: *latModel, MaxFLOPs: *maxFLOPs, MaxParams: *maxParams, Cost: tgt.Cost, Scale: *hwScale})
		if err != nil {
			return usageError("%v", err)
		}
	}
	sm, err := loadScoreNet(*g.scoreCkpt)
	if err != nil {
		return err
	}
	pm, err := loadPredictorCkpt(*g.predCkpt)
	if err != nil {
		return err
	}
	feats, err := g.features(e.stderr, pm)
	if err != nil {
		return err
	}
	ds, err := pm.DatasetVector(gnn.Ctx{}, feats)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	gopt := g.options(tgt, roundProgress(e.stderr))
	dv, err := openDevice(*device)
	if err != nil {
		return err
	}
	// On a device the score network and the predictor's guidance run there,
	// and the host-side hardware constraints wrap its hook like the CPU score.
	scoreFn, round := sm.ScoreFn(nil), (func(float64))(nil)
	if dv != nil {
		defer dv.Close()
		fmt.Fprintf(e.stderr, "device: %s\n", dv.Name())
		var free func()
		scoreFn, round, free = deviceGuidance(dv, sm, pm, ds)
		defer free()
	}
	base, restore, err := hwaware.ConstraintHook(scoreFn, cons)
	if err != nil {
		return err
	}
	defer restore()
	if round != nil {
		gopt.Guided = func(scale float64) sde.ScoreFn { round(scale); return base }
	}
	res, err := guide.Generate(ctx, sm.SDE, base, pm, ds, gopt)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "%d samples in %d rounds: %d valid (%.1f%%), %d unique\n",
		res.Sampled, res.Rounds, res.Valid, 100*res.Validity(), len(res.Archs))
	if len(cons) == 0 {
		return writeCandidates(e.stdout, *out, res.Archs)
	}
	// Hardware-aware: report which candidates meet every budget (latency
	// by the regressor, FLOPs and params exactly), those first.
	hw := make([]hwCandidate, 0, len(res.Archs))
	meet := 0
	for _, c := range res.Archs {
		a, err := nb201.Parse(c.Arch)
		if err != nil {
			return err
		}
		ok, lat := hwaware.Check(cons, a)
		h := hwCandidate{Candidate: c, WithinBudget: ok}
		if !math.IsNaN(lat) {
			h.LatencyMS = &lat
		}
		if ok {
			meet++
		}
		hw = append(hw, h)
	}
	sort.SliceStable(hw, func(i, j int) bool { return hw[i].WithinBudget && !hw[j].WithinBudget })
	fmt.Fprintf(e.stderr, "%d of %d unique architectures meet the budget\n", meet, len(hw))
	return writeJSONLines(e.stdout, *out, hw)
}

// deviceGuidance puts the score network of sm and the guidance of predictor
// pm (dataset vector ds, nil for its unknown-dataset vector) on dv. It returns
// the score hook to sample with, round(scale), which points that hook at the
// device's guided score of a round's scale (for guide.Options.Guided), and
// free, which releases the device buffers.
func deviceGuidance(dv accel, sm *diffusion.Model, pm *predictor.Model, ds *autograd.Var) (score sde.ScoreFn, round func(scale float64), free func()) {
	sc := dv.Scorer(sm.Net, sm.Space.Mask)
	dsv := pm.Net.Unknown.Value
	if ds != nil {
		dsv = ds.Value
	}
	sc.SetPredictor(pm.Net, dsv, pm.Fwd, pm.Bwd)
	cur := sc.ScoreFn()
	score = func(x *tensor.Tensor, t float64, cond []float32) (*tensor.Tensor, error) { return cur(x, t, cond) }
	round = func(scale float64) { cur = sc.Guided(scale, nil) }
	return score, round, sc.Free
}

// hwCandidate is a generated architecture with its hardware check.
type hwCandidate struct {
	guide.Candidate
	LatencyMS    *float64 `json:"latency_ms,omitempty"` // predicted by the latency regressor
	WithinBudget bool     `json:"within_budget"`
}

// writeCandidates writes one JSON object per line to path (stdout if "").
func writeCandidates(stdout io.Writer, path string, cands []guide.Candidate) error {
	return writeJSONLines(stdout, path, cands)
}

// writeJSONLines writes the items as JSON Lines to path (stdout if "").
func writeJSONLines[T any](stdout io.Writer, path string, cands []T) error {
	var w io.Writer = stdout
	var f *os.File
	if path != "" {
		var err error
		if f, err = os.Create(path); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
		w = f
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for _, c := range cands {
		if err := enc.Encode(c); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	if f != nil {
		if err := f.Close(); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
	}
	return nil
}
