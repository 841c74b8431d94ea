package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nagml/nag/nag/nb201"
)

func TestGuidedCommandsUsageErrors(t *testing.T) {
	cases := [][]string{
		{"transfer", "--target", "mnist"},
		{"transfer", "--top-k", "0"},
		{"transfer", "--evaluate", "cmd"},
		{"transfer", "--evaluate", "slurm"},
		{"transfer", "--target", "cifar10,cifar100", "--dataset", "x.json"},
		{"transfer", "--dedup", "fuzzy"},
		{"generate", "--steps", "0"},
		{"generate", "--scale", "0"},
		{"generate", "--target", "svhn"},
		{"train-predictor", "--source", "official"},
		{"train-predictor", "--source", "magic", "--out", "x"},
		{"train-predictor", "--source", "taskfile", "--out", "x"},
		{"train-predictor", "--graph", "sideways/raw", "--source", "taskfile", "--tasks", "t", "--out", "x"},
	}
	for _, c := range cases {
		code, _, stderr := runArgs(c...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", c, code, stderr)
		}
	}
}

// train-predictor on a small task file, then generate and transfer (cmd
// evaluator) with that checkpoint and the embedded score network, all at
// toy sizes.
func TestTrainGenerateTransferCommands(t *testing.T) {
	dir := t.TempDir()
	var archs []string
	for i, a := range nb201.All()[:60] {
		archs = append(archs, `{"arch":"`+a.String()+`","acc":`+itoa(60+a.Count(nb201.Conv3x3)*5+i%3)+`}`)
	}
	tasks := writeFile(t, dir, "tasks.json", `{"format":"nag-predictor-tasks/1","tasks":[{"name":"t","archs":[`+strings.Join(archs, ",")+`]}]}`)
	ck := filepath.Join(dir, "p.ckpt")
	code, out, stderr := runArgs("train-predictor", "--source", "taskfile", "--tasks", tasks, "--iters", "3", "--batch", "16", "--warmup", "1", "--out", ck)
	if code != 0 {
		t.Fatalf("train-predictor exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "unknown-dataset vector") || !strings.Contains(out, "held-out clean") {
		t.Fatalf("train-predictor output:\n%s", out)
	}
	gen := filepath.Join(dir, "gen.jsonl")
	code, _, stderr = runArgs("generate", "--pred-ckpt", ck, "--steps", "40", "--batch", "8", "--rounds", "1", "--n", "1", "--target", "cifar100", "--out", gen)
	if code != 0 {
		t.Fatalf("generate exit %d: %s", code, stderr)
	}
	f, err := os.Open(gen)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	prev := 1e9
	n := 0
	for sc.Scan() {
		var c struct {
			Arch          string
			Pred          float64
			Params, FLOPs int64
		}
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		a, err := nb201.Parse(c.Arch)
		if err != nil || c.Pred > prev || c.Params != a.Params(nb201.CIFAR100) || c.FLOPs != a.FLOPs(nb201.CIFAR100) {
			t.Fatalf("line %d: %s (%v)", n, sc.Text(), err)
		}
		prev = c.Pred
		n++
	}
	if !strings.Contains(stderr, "8 samples in 1 rounds") {
		t.Fatalf("generate stderr: %s", stderr)
	}
	rep := filepath.Join(dir, "rep.json")
	code, out, stderr = runArgs("transfer", "--pred-ckpt", ck, "--steps", "40", "--batch", "16", "--rounds", "1", "--n", "3",
		"--top-k", "3", "--evaluate", "cmd", "--evaluate-cmd", `echo "$NAG_TARGET 42.5" #`, "--json", rep)
	if code != 0 {
		t.Fatalf("transfer exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(rep)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Target  string
		Entries []struct {
			Evaluated, OK bool
			Acc           float64
		}
		BestOfTop map[string]float64 `json:"best_of_top"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	ev := 0
	for _, e := range r.Entries {
		if e.Evaluated {
			ev++
			if !e.OK || e.Acc != 42.5 {
				t.Fatalf("entry %+v", e)
			}
		}
	}
	if r.Target != "cifar10" || ev != min(3, len(r.Entries)) || r.BestOfTop["1"] != 42.5 {
		t.Fatalf("report %s", b)
	}
	if !strings.Contains(out, "best c10_test among top 1: 42.50") {
		t.Fatalf("transfer output:\n%s", out)
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
