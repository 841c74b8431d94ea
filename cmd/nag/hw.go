package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/nagml/nag/nag/bench201"
	"github.com/nagml/nag/nag/hwaware"
	"github.com/nagml/nag/nag/mbv3"
	"github.com/nagml/nag/nag/nb201"
	"github.com/nagml/nag/nag/ofa"
)

// runHWTrain trains a noise-aware cost regressor (latency, or any table
// column) for hardware-aware guidance.
func runHWTrain(e *env, args []string) error {
	fs := newFlags(e, "hw-train", "--space nb201|mbv3 --target DEVICE|COLUMN --out FILE.ckpt [flags]")
	space := fs.String("space", "nb201", "search space: nb201 or mbv3")
	target := fs.String("target", "edgegpu", "nb201: a device (edgegpu, raspi4, pixel3) or any table column (e.g. hw_c10_fpga_latency, c10v_valid); mbv3: a HELP latency column (titan_rtx_b1, v100_b64, ...) or moofa_top1 (measured w1.0 ImageNet top-1)")
	bench := fs.String("bench", defaultNB201(), "NB201 table nb201.csv.gz "+nb201FlagHelp)
	ofaDir := fs.String("ofa-dir", mbv3.DefaultDir(), "folder with ofa_mbv3.jsonl.gz (default $NAG_DATA/ofa-mbv3)")
	logT := fs.String("log-target", "auto", "fit log(target): auto (yes for latencies), yes or no")
	r := fs.Int("r", 224, "mbv3: the resolution the regressor predicts for when guiding")
	iters := fs.Int("iters", 3000, "optimiser steps")
	batch := fs.Int("batch", 128, "batch size")
	lr := fs.Float64("lr", 1e-3, "peak learning rate (Adam)")
	warmup := fs.Int64("warmup", 200, "linear warm-up steps")
	evalFrac := fs.Float64("eval-frac", 0.2, "held-out fraction")
	hidden := fs.Int("hidden", 64, "GCN width")
	layers := fs.Int("layers", 3, "GCN layers")
	seed := fs.Uint64("seed", 1, "random seed")
	out := fs.String("out", "", "output checkpoint (required)")
	report := fs.String("report", "", "also write the training report as JSON here")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usageError("--out is required")
	}
	var (
		d   *hwaware.Data
		cfg hwaware.RegressorConfig
		err error
	)
	isLat := false
	switch *space {
	case hwaware.SpaceNB201:
		if *bench == "" {
			return usageError("--space nb201 needs --bench or $%s", bench201.EnvPath)
		}
		t, lerr := bench201.Load(*bench)
		if lerr != nil {
			return lerr
		}
		col, cerr := hwaware.NB201DeviceColumn(t, *target)
		if cerr != nil {
			return usageError("--target: %v", cerr)
		}
		isLat = col != *target || strings.Contains(col, "latency") || strings.HasPrefix(col, "help_lat")
		d, err = hwaware.NB201Data(t, col, isLat)
		cfg = hwaware.RegressorConfig{Space: *space, Target: col, Unit: map[bool]string{true: "ms", false: ""}[isLat],
			Net: hwaware.SmallNetConfig(nb201.NumNodes, nb201.NumTypes)}
	case hwaware.SpaceMBV3:
		if *ofaDir == "" {
			return usageError("--space mbv3 needs --ofa-dir or $NAG_DATA")
		}
		t, lerr := mbv3.LoadTable(filepath.Join(*ofaDir, mbv3.TableFile))
		if lerr != nil {
			return lerr
		}
		if *target == "moofa_top1" {
			d, err = hwaware.MBV3AccuracyData(t)
			cfg = hwaware.RegressorConfig{Space: *space, Target: "moofa_top1_pct_w10", Unit: "%"}
		} else {
			isLat = true
			d, err = hwaware.MBV3LatencyData(t, *target)
			cfg = hwaware.RegressorConfig{Space: *space, Target: "help_lat_ms_" + *target, Unit: "ms"}
		}
		cfg.Net = hwaware.SmallNetConfig(ofa.NumLayers, ofa.NumTypes)
		cfg.CondResolution, cfg.R = true, *r
	default:
		return usageError("--space %q: want nb201 or mbv3", *space)
	}
	if err != nil {
		return err
	}
	switch *logT {
	case "auto":
		cfg.Log = isLat
	case "yes":
		cfg.Log = true
	case "no":
	default:
		return usageError("--log-target %q: want auto, yes or no", *logT)
	}
	cfg.SDE = hwaware.DefaultSDE(*space)
	cfg.Net.GCNHidden, cfg.Net.GCNLayers = *hidden, *layers
	if err := cfg.Net.Validate(); err != nil {
		return usageError("%v", err)
	}
	tc := hwaware.TrainConfig{Iters: *iters, Batch: *batch, LR: *lr, Warmup: *warmup, Seed: *seed, EvalFrac: *evalFrac}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	reg, rep, err := hwaware.Train(ctx, cfg, d, tc, e.stdout)
	if err != nil {
		return err
	}
	if err := reg.Save(*out); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %s (%.1fs)\n", *out, rep.Elapsed.Seconds())
	if *report != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(*report, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	}
	return nil
}
