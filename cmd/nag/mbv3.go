package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/nagml/nag/nag/ckpt"
	"github.com/nagml/nag/nag/diffusion"
	"github.com/nagml/nag/nag/mbv3"
	"github.com/nagml/nag/nag/ofa"
	"github.com/nagml/nag/sde"
)

// runMBV3TrainScore trains the CATE score network on the OFA MobileNetV3
// space.
func runMBV3TrainScore(e *env, args []string) error {
	fs := newFlags(e, "mbv3-train-score", "[--uniform N --sampler ofa|uniform --data-seed S | --archs FILE] --out FILE.ckpt [flags]")
	uniform := fs.Int("uniform", 100000, "train on this many distinct sub-networks drawn by --sampler")
	sampler := fs.String("sampler", "ofa", "how the training networks are drawn: ofa (OFA's sample_active_subnet: depth 2/3/4 equally likely) or uniform (every distinct network equally likely: 90 % of stages at depth 4)")
	dataSeed := fs.Uint64("data-seed", 1, "seed of the draw")
	archs := fs.String("archs", "", "train on the architecture strings in this file instead (one per line)")
	mask := fs.String("mask", mbv3.MaskStage, "attention mask: stage (each layer attends to its stage) or chain (the reference's; needs a deep network)")
	preset := fs.String("config", "small", "score-network preset: small, medium or paper")
	sigmaMax := fs.Float64("sigma-max", 1, "σ_max of the VE-SDE (reference: 1.0 for this space)")
	iters := fs.Int("iters", 4000, "total training iterations")
	batch := fs.Int("batch", 256, "batch size")
	seed := fs.Uint64("seed", 42, "training seed")
	every := fs.Int("ckpt-every", 500, "checkpoint every N iterations (0 = only at the end)")
	resume := fs.String("resume", "", "resume from this checkpoint")
	export := fs.String("export-from", "", "instead of training, write a compact sampling checkpoint (EMA weights, no optimiser state) of this training checkpoint to --out")
	out := fs.String("out", "", "output checkpoint (required)")
	device := addDeviceFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usageError("--out is required")
	}
	if *export != "" {
		m, err := mbv3.LoadScoreModel(*export)
		if err != nil {
			return err
		}
		if err := ckpt.WriteFile(*out, m.Export()); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "exported %s (step %d, %s weights) to %s\n", *export, m.Step, m.Weights, *out)
		return nil
	}
	spec := mbv3.DatasetSpec{Sampler: *sampler, Size: *uniform, Seed: *dataSeed, File: *archs}
	if *sampler != mbv3.SamplerOFA && *sampler != mbv3.SamplerUniform {
		return usageError("--sampler %q: want ofa or uniform", *sampler)
	}
	if *archs == "" && *uniform < 1 {
		return usageError("--uniform %d must be positive", *uniform)
	}
	dv, err := openDevice(*device)
	if err != nil {
		return err
	}
	topt := diffusion.TrainOptions{Out: *out, CkptEvery: *every, Seed: *seed,
		Resume: *resume, Log: e.stdout, Progress: e.stderr, ProgressInterval: 10 * time.Second}
	if dv != nil {
		defer dv.Close()
		fmt.Fprintf(e.stdout, "device: %s\n", dv.Name())
		topt.Accel = dv.Trainer(*seed)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := mbv3.Train(ctx, spec, *mask, *preset, *sigmaMax, *iters, *batch, topt)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "done: step %d, loss %.4f, %d parameters, %d training architectures, %.0fs, wrote %s\n",
		res.Step, res.Loss, res.NumParams, res.TrainSize, res.Elapsed.Seconds(), *out)
	return nil
}

// runMBV3Sample draws unconditional samples from an OFA score network and
// reports validity, uniqueness, novelty and the choice distribution
// against the training set.
func runMBV3Sample(e *env, args []string) error {
	fs := newFlags(e, "mbv3-sample", "--ckpt FILE [--sampler pc|ode] [--snr 0.16] [flags]")
	ck := fs.String("ckpt", "default", "OFA score-network checkpoint (nag mbv3-train-score; default: the embedded one)")
	n := fs.Int("n", 1000, "number of samples")
	steps := fs.Int("steps", 1000, "sampler timesteps (reference 1000)")
	batch := fs.Int("batch", 250, "sampler batch")
	sampler, snr := addSamplerFlags(fs)
	seed := fs.Uint64("seed", 1, "sampling seed")
	outArchs := fs.String("out", "", "write the valid generated strings here (one per line)")
	outMD := fs.String("out-md", "", "write the report (Markdown) here")
	device := addDeviceFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := checkSamplerFlags(*sampler, *snr); err != nil {
		return err
	}
	m, err := mbv3.LoadScoreModelOrDefault(*ck)
	if err != nil {
		return err
	}
	var devScore sde.ScoreFn
	dv, err := openDevice(*device)
	if err != nil {
		return err
	}
	if dv != nil {
		defer dv.Close()
		sc := dv.Scorer(m.Net, m.Space.Mask)
		defer sc.Free()
		devScore = sc.ScoreFn()
		fmt.Fprintf(e.stderr, "device: %s\n", dv.Name())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	t0 := time.Now()
	res, err := m.Sample(ctx, diffusion.SampleOptions{N: *n, Batch: *batch, Steps: *steps, Sampler: *sampler, SNR: *snr,
		Seed: *seed, Score: devScore})
	if err != nil {
		return err
	}
	secs := time.Since(t0).Seconds()
	train := map[string]bool{}
	var trainArchs []ofa.Arch
	for _, i := range m.TrainIndices {
		s := m.Space.ArchString(i)
		train[s] = true
		a, _ := ofa.Parse(s)
		trainArchs = append(trainArchs, a)
	}
	var gen []ofa.Arch
	uniq := map[string]bool{}
	novel := 0
	var lines []byte
	for i, ok := range res.Valid {
		if !ok {
			continue
		}
		a, err := ofa.Parse(res.Archs[i])
		if err != nil {
			return fmt.Errorf("decoded string %q does not parse: %w", res.Archs[i], err)
		}
		gen = append(gen, a)
		lines = append(lines, res.Archs[i]+"\n"...)
		if !uniq[res.Archs[i]] {
			uniq[res.Archs[i]] = true
			if !train[res.Archs[i]] {
				novel++
			}
		}
	}
	valid := len(gen)
	w, cl := e.stdout, func() error { return nil }
	if *outMD != "" {
		f, err := os.Create(*outMD)
		if err != nil {
			return err
		}
		w, cl = f, f.Close
	}
	how := fmt.Sprintf("%d PC steps (snr %g)", *steps, *snr)
	if *sampler == diffusion.SamplerODE {
		how = fmt.Sprintf("%d probability-flow ODE steps", *steps)
	}
	fmt.Fprintf(w, "OFA MobileNetV3 score network %s (step %d, %s weights, %d training architectures %s); %d samples, %s, seed %d, %.0fs\n\n",
		*ck, m.Step, m.Weights, len(m.TrainIndices), m.Config.Mask, *n, how, *seed, secs)
	fmt.Fprintf(w, "validity %.2f %% (%d/%d), uniqueness %.2f %% (%d/%d), novelty %.2f %% of unique not in the training set\n\n",
		100*float64(valid)/float64(*n), valid, *n, 100*float64(len(uniq))/float64(max(valid, 1)), len(uniq), valid, 100*float64(novel)/float64(max(len(uniq), 1)))
	mbv3.WriteDistributionTable(w, mbv3.NewDistribution(gen), mbv3.NewDistribution(trainArchs))
	if err := cl(); err != nil {
		return err
	}
	if *outMD != "" {
		fmt.Fprintf(e.stdout, "validity %d/%d, unique %d; report in %s\n", valid, *n, len(uniq), *outMD)
	}
	if *outArchs != "" {
		if err := os.WriteFile(*outArchs, lines, 0o644); err != nil {
			return err
		}
	}
	return nil
}
