package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/nagml/nag/nag/assets"
	"github.com/nagml/nag/nag/ckpt"
	"github.com/nagml/nag/nag/diffusion"
	"github.com/nagml/nag/nag/mbv3"
	"github.com/nagml/nag/nag/metrics"
	"github.com/nagml/nag/nag/progress"
)

// sampleLine is one line of nag sample's JSON Lines output.
type sampleLine struct {
	Arch  *string `json:"arch"`
	Valid bool    `json:"valid"`
}

// loadScoreModel loads a score-network checkpoint file, or the embedded
// default when path is "" or "default".
func loadScoreModel(path string) (*diffusion.Model, error) {
	if path == "" || path == "default" {
		return assets.ScoreModelNB201()
	}
	c, err := ckpt.ReadFile(path, diffusion.CheckpointKind)
	if err != nil {
		return nil, err
	}
	var head struct {
		Space string `json:"space"`
	}
	if err := json.Unmarshal(c.Config, &head); err != nil {
		return nil, fmt.Errorf("%s: score-network config: %w", path, err)
	}
	if head.Space == "mbv3" {
		m, err := mbv3.ScoreModel(c)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return m, nil
	}
	m, err := diffusion.LoadModel(c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// metricsSpace returns the generation-metrics view of a score model's space.
func metricsSpace(m *diffusion.Model) metrics.Space {
	if m.Space.Name == "mbv3" {
		return metrics.MBV3{}
	}
	return metrics.NB201{}
}

// addSamplerFlags registers --sampler and --snr (the Langevin corrector's
// signal-to-noise ratio, reference 0.16).
func addSamplerFlags(fs *flag.FlagSet) (sampler *string, snr *float64) {
	sampler = fs.String("sampler", "pc", "pc (Euler-Maruyama predictor + Langevin corrector) or ode (probability flow)")
	snr = fs.Float64("snr", 0.16, "pc: the Langevin corrector's signal-to-noise ratio (reference 0.16; larger = stronger correction)")
	return sampler, snr
}

// checkSamplerFlags validates --sampler and --snr.
func checkSamplerFlags(sampler string, snr float64) error {
	if sampler != diffusion.SamplerPC && sampler != diffusion.SamplerODE {
		return usageError("--sampler %q: want pc or ode", sampler)
	}
	return checkSNR(snr)
}

// checkSNR validates an --snr flag (a usage error before any loading; the
// sampler would refuse it too, but only after the model is read).
func checkSNR(snr float64) error {
	if !(snr > 0) || math.IsInf(snr, 0) {
		return usageError("--snr %v: want a positive number", snr)
	}
	return nil
}

func runSample(e *env, args []string) error {
	fs := newFlags(e, "sample", "[--ckpt FILE|default] --n 1000 --steps 1000 --sampler pc|ode [--snr 0.16] --seed S --out FILE.jsonl")
	ckptPath := fs.String("ckpt", "default", "score-network checkpoint (default: the embedded NB201 checkpoint)")
	n := fs.Int("n", 1000, "number of architectures to sample")
	steps := fs.Int("steps", 1000, "sampler timesteps")
	sampler, snr := addSamplerFlags(fs)
	seed := fs.Uint64("seed", 0, "sampling seed")
	batch := fs.Int("batch", 256, "samples per sampler batch")
	mask := fs.String("mask", "", "attention mask for sampling: raw or closure (default: the training mask)")
	out := fs.String("out", "-", "output JSON Lines file (- = stdout)")
	device := addDeviceFlag(fs)
	trainOut := fs.String("train-set-out", "", "also write the checkpoint's training architectures (one per line) to this file, for nag eval --train-set")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *n < 1 {
		return usageError("--n %d must be >= 1", *n)
	}
	if *steps < 1 {
		return usageError("--steps %d must be >= 1", *steps)
	}
	if *batch < 1 {
		return usageError("--batch %d must be >= 1", *batch)
	}
	if err := checkSamplerFlags(*sampler, *snr); err != nil {
		return err
	}
	m, err := loadScoreModel(*ckptPath)
	if err != nil {
		return err
	}
	opt := diffusion.SampleOptions{N: *n, Batch: *batch, Steps: *steps, Sampler: *sampler, SNR: *snr, Seed: *seed}
	if *mask != "" {
		sp, err := diffusion.SpaceByName(m.Space.Name, *mask)
		if err != nil {
			return usageError("--mask: %v", err)
		}
		opt.Mask = sp.Mask
	}
	dv, err := openDevice(*device)
	if err != nil {
		return err
	}
	if dv != nil {
		defer dv.Close()
		mk := opt.Mask
		if mk == nil {
			mk = m.Space.Mask
		}
		sc := dv.Scorer(m.Net, mk)
		defer sc.Free()
		opt.Score = sc.ScoreFn()
		fmt.Fprintf(e.stderr, "device: %s\n", dv.Name())
	}
	if *trainOut != "" {
		if err := writeLines(*trainOut, m.TrainingArchs()); err != nil {
			return err
		}
	}
	var w io.Writer = e.stdout
	var f *os.File
	if *out != "-" {
		if f, err = os.Create(*out); err != nil {
			return fmt.Errorf("sample: %w", err)
		}
		defer f.Close()
		w = f
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	nb := (*n + *batch - 1) / *batch
	bar := progress.New(e.stderr, "sample", nb**steps, 0, progress.Options{})
	opt.Progress = func(done, total int) {
		bar.Update(done, "batch", fmt.Sprintf("%d/%d", (done-1)/(*steps)+1, nb))
	}
	start := time.Now()
	res, err := m.Sample(ctx, opt)
	if err != nil {
		return err
	}
	bar.Finish(nb * *steps)
	elapsed := time.Since(start)
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for i := range res.Archs {
		l := sampleLine{Valid: res.Valid[i]}
		if res.Valid[i] {
			l.Arch = &res.Archs[i]
		}
		if err := enc.Encode(l); err != nil {
			return fmt.Errorf("sample: write: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("sample: write: %w", err)
	}
	if f != nil {
		if err := f.Close(); err != nil {
			return fmt.Errorf("sample: %w", err)
		}
	}
	fmt.Fprintln(e.stderr, sampleSummary(m, res, elapsed))
	return nil
}

// sampleSummary is the one-line report: validity, uniqueness by string and
// by isomorphism class, novelty against the checkpoint's training set, time.
func sampleSummary(m *diffusion.Model, res *diffusion.Samples, elapsed time.Duration) string {
	sp := metricsSpace(m)
	items := make([]metrics.Item, len(res.Archs))
	for i, a := range res.Archs {
		if res.Valid[i] {
			items[i] = metrics.ParseOne(sp, a)
		} else {
			items[i] = metrics.Invalid(i+1, fmt.Errorf("invalid sample"))
		}
	}
	train := metrics.NewTrainSet(metrics.Parse(sp, m.TrainingArchs()))
	s := metrics.Summarize(sp, items, train, nil, "")
	novel := "n/a"
	if s.Novel != nil {
		novel = fmt.Sprintf("%.1f%%", 100**s.Novel)
	}
	return fmt.Sprintf("sampled %d in %s: valid %.1f%%, unique %.1f%% (iso %.1f%%), novel %s (vs %d training archs; %s weights, step %d)",
		s.N, elapsed.Round(time.Millisecond), 100*s.Valid, 100*s.Unique, 100*s.UniqueIso, novel, s.NumTrain, m.Weights, m.Step)
}

// writeLines writes one string per line.
func writeLines(path string, lines []string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	for _, l := range lines {
		fmt.Fprintln(bw, l)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
