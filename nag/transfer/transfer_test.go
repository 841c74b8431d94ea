package transfer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/nagml/nag/gnn"
	"github.com/nagml/nag/nag/evaluate"
	"github.com/nagml/nag/nag/guide"
	"github.com/nagml/nag/nag/nb201"
	"github.com/nagml/nag/nag/predictor"
	"github.com/nagml/nag/sde"
	"github.com/nagml/nag/tensor"
)

// convEval scores an arch by its number of 3x3 convolutions and fails on
// cells without any.
type convEval struct{ calls [][]string }

func (c *convEval) Name() string { return "conv-count" }
func (c *convEval) Evaluate(_ context.Context, archs []string) ([]evaluate.Result, error) {
	c.calls = append(c.calls, archs)
	out := make([]evaluate.Result, len(archs))
	for i, s := range archs {
		a := nb201.MustParse(s)
		n := a.Count(nb201.Conv3x3)
		out[i] = evaluate.Result{Arch: s, Attempts: 1}
		if n == 0 {
			out[i].Err = "no conv"
			continue
		}
		out[i].Acc, out[i].OK = float64(90+n), true
	}
	return out, nil
}

func tinyModel(t *testing.T) *predictor.Model {
	cfg := predictor.DefaultModelConfig(4)
	cfg.Net = gnn.PredictorConfig{Nodes: 8, Vocab: 7, GCNHidden: 8, GCNLayers: 2, LinearHidden: 6, HS: 5, NZ: 4,
		FeatDim: 4, SetHeads: 2, TimeEmbed: true}
	cfg.Norm = predictor.Norm{Mean: 70, Std: 5}
	m, err := predictor.NewModel(cfg, tensor.NewRNG(2))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRunRanksEvaluatesTopKAndReports(t *testing.T) {
	m := tinyModel(t)
	ev := &convEval{}
	tgt, err := TargetByName("cifar100")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Target: tgt, TopK: 5, Gen: guide.Options{Scale: 20, Want: 12, Batch: 32, Sampler: sde.Options{Steps: 20}, Seed: 3}}
	rep, err := Run(context.Background(), sde.DefaultVE(), guide.UniformScore, m, ev, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.calls) != 1 || len(ev.calls[0]) != 5 {
		t.Fatalf("evaluator calls %v, want one call with 5 archs", ev.calls)
	}
	if rep.Unique < 12 || len(rep.Entries) != rep.Unique {
		t.Fatalf("unique %d entries %d", rep.Unique, len(rep.Entries))
	}
	best := map[int]float64{}
	cur := -1.0
	failed := 0
	for i, e := range rep.Entries {
		if e.Rank != i+1 || (i > 0 && e.Pred > rep.Entries[i-1].Pred) {
			t.Fatalf("entry %d not ranked: %+v", i, e)
		}
		if e.Evaluated != (i < 5) {
			t.Fatalf("entry %d evaluated=%v", i, e.Evaluated)
		}
		if i < 5 {
			if ev.calls[0][i] != e.Arch {
				t.Fatalf("evaluated %s at %d, entry %s", ev.calls[0][i], i, e.Arch)
			}
			if e.OK && e.Acc > cur {
				cur = e.Acc
			}
			if !e.OK {
				failed++
			}
			best[i+1] = cur
		}
		a := nb201.MustParse(e.Arch)
		if e.Params != a.Params(nb201.CIFAR100) {
			t.Fatalf("params for the wrong dataset: %d", e.Params)
		}
	}
	if rep.FailedEvals != failed {
		t.Fatalf("failed %d, counted %d", rep.FailedEvals, failed)
	}
	for _, k := range []int{1, 2, 5} {
		got, ok := rep.BestOfTop[fmt.Sprint(k)]
		if best[k] < 0 {
			if ok {
				t.Fatalf("best of top %d reported although all failed", k)
			}
			continue
		}
		if !ok || got != best[k] {
			t.Fatalf("best of top %d = %v, want %v", k, got, best[k])
		}
	}
	if _, ok := rep.BestOfTop["10"]; ok {
		t.Fatal("best of top 10 reported with top-k 5")
	}
	var buf bytes.Buffer
	rep.WriteTable(&buf)
	if !strings.Contains(buf.String(), "unknown-dataset vector") || !strings.Contains(buf.String(), "c100_test") {
		t.Fatalf("table:\n%s", buf.String())
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Fatal(err)
	}
}

func TestDedup(t *testing.T) {
	// Two isomorphic cells: with the edge 0→1 = none, ops on 1→2 and 1→3 do
	// not matter... use the NB201 canonical form to find one.
	a := nb201.MustParse("|none~0|+|skip_connect~0|nor_conv_3x3~1|+|avg_pool_3x3~0|nor_conv_1x1~1|nor_conv_3x3~2|")
	b := nb201.MustParse("|none~0|+|skip_connect~0|avg_pool_3x3~1|+|avg_pool_3x3~0|skip_connect~1|nor_conv_3x3~2|")
	if a.Canonical() != b.Canonical() {
		t.Skip("example cells are not isomorphic under nb201.Canonical")
	}
	c := nb201.MustParse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|")
	in := []guide.Candidate{{Arch: a.String(), Pred: 3, Count: 1}, {Arch: c.String(), Pred: 2, Count: 2}, {Arch: b.String(), Pred: 1, Count: 4}}
	s, err := Dedup(in, "string")
	if err != nil || len(s) != 3 {
		t.Fatalf("string dedup: %v %v", s, err)
	}
	iso, err := Dedup(in, "iso")
	if err != nil || len(iso) != 2 || iso[0].Arch != a.String() || iso[0].Count != 5 || iso[1].Arch != c.String() {
		t.Fatalf("iso dedup: %+v %v", iso, err)
	}
	if _, err := Dedup(in, "bogus"); err == nil {
		t.Fatal("bad mode accepted")
	}
	if _, err := TargetByName("mnist"); err == nil {
		t.Fatal("unknown target accepted")
	}
}
