package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nagml/nag/nag/ckpt"
	"github.com/nagml/nag/nag/nb201"
)

func runArgs(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(&env{stdout: &o, stderr: &e, stdin: strings.NewReader("")}, args)
	return code, o.String(), e.String()
}

// readSamples parses nag sample's JSON Lines output.
func readSamples(t *testing.T, text string) []sampleLine {
	t.Helper()
	var out []sampleLine
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
			t.Fatalf("bad JSON line %q: %v", sc.Text(), err)
		}
		if _, ok := raw["arch"]; !ok {
			t.Fatalf("line %q has no arch field", sc.Text())
		}
		var l sampleLine
		json.Unmarshal(sc.Bytes(), &l)
		if l.Valid != (l.Arch != nil) {
			t.Fatalf("line %q: valid and arch disagree", sc.Text())
		}
		if l.Arch != nil {
			if _, err := nb201.Parse(*l.Arch); err != nil {
				t.Fatalf("line %q: %v", sc.Text(), err)
			}
		}
		out = append(out, l)
	}
	return out
}

func TestTrainScoreAndSample(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "run.ckpt")
	code, stdout, stderr := runArgs("train-score", "--iters", "2", "--batch", "4", "--split", "0.5", "--seed", "3", "--out", out, "--ckpt-every", "1")
	if code != 0 {
		t.Fatalf("train-score exit %d: %s", code, stderr)
	}
	for _, want := range []string{"parameters: 64263", "7812 of 15625 architectures for training (split 0.5, split seed 3)", `"layers":3`, "done: 2 iterations"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("train-score output lacks %q:\n%s", want, stdout)
		}
	}
	code, stdout, stderr = runArgs("train-score", "--resume", out, "--iters", "3", "--lr", "1", "--out", out)
	if code != 0 || !strings.Contains(stdout, "resuming from") || !strings.Contains(stderr, "--lr is ignored") {
		t.Fatalf("resume exit %d:\n%s\n%s", code, stdout, stderr)
	}
	if c, err := ckpt.ReadFile(out, "scorenet"); err != nil || c.Step != 3 {
		t.Fatalf("resumed checkpoint: %v", err)
	}
	small := filepath.Join(dir, "small.ckpt")
	if code, _, stderr = runArgs("train-score", "--export-from", out, "--out", small); code != 0 {
		t.Fatalf("export exit %d: %s", code, stderr)
	}

	jsonl := filepath.Join(dir, "s.jsonl")
	trainList := filepath.Join(dir, "train.txt")
	code, _, stderr = runArgs("sample", "--ckpt", small, "--n", "5", "--steps", "2", "--batch", "2", "--seed", "1", "--out", jsonl, "--train-set-out", trainList)
	if code != 0 {
		t.Fatalf("sample exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "sampled 5 in ") || !strings.Contains(stderr, "vs 7812 training archs") {
		t.Errorf("summary line: %s", stderr)
	}
	b, _ := os.ReadFile(jsonl)
	if got := readSamples(t, string(b)); len(got) != 5 {
		t.Errorf("%d lines, want 5", len(got))
	}
	tl, _ := os.ReadFile(trainList)
	if n := strings.Count(string(tl), "\n"); n != 7812 {
		t.Errorf("training list has %d lines", n)
	}
	// Same seed, same output; the ODE sampler also runs.
	code, stdout, _ = runArgs("sample", "--ckpt", small, "--n", "5", "--steps", "2", "--batch", "2", "--seed", "1")
	if code != 0 || stdout != string(b) {
		t.Errorf("stdout run differs from the file run (exit %d)", code)
	}
	if code, _, stderr = runArgs("sample", "--ckpt", out, "--n", "3", "--steps", "2", "--sampler", "ode"); code != 0 {
		t.Errorf("ode exit %d: %s", code, stderr)
	}
}

func TestSampleDefaultCheckpoint(t *testing.T) {
	code, stdout, stderr := runArgs("sample", "--n", "3", "--steps", "3", "--seed", "2")
	if code != 0 {
		t.Fatalf("sample exit %d: %s", code, stderr)
	}
	if got := readSamples(t, stdout); len(got) != 3 {
		t.Errorf("%d lines, want 3", len(got))
	}
	if !strings.Contains(stderr, "ema weights") {
		t.Errorf("summary: %s", stderr)
	}
}

// TestSampleSNR: --snr reaches the Langevin corrector (another ratio gives
// other samples; the default is the reference's 0.16).
func TestSampleSNR(t *testing.T) {
	run := func(extra ...string) string {
		t.Helper()
		args := append([]string{"sample", "--n", "8", "--steps", "30", "--seed", "2"}, extra...)
		code, stdout, stderr := runArgs(args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		return stdout
	}
	def, ref, strong := run(), run("--snr", "0.16"), run("--snr", "1")
	if def != ref {
		t.Errorf("default and --snr 0.16 differ:\n%s\n%s", def, ref)
	}
	if strong == def {
		t.Errorf("--snr 1 gives the same samples as 0.16:\n%s", strong)
	}
}

func TestTrainScoreSampleUsage(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"train-score", "--iters", "1"}, 2, "--out is required"},
		{[]string{"train-score", "--config", "huge", "--out", filepath.Join(dir, "x")}, 2, "huge"},
		{[]string{"train-score", "--split", "1.5", "--out", filepath.Join(dir, "x")}, 2, "split"},
		{[]string{"train-score", "--space", "nb101", "--out", filepath.Join(dir, "x")}, 2, "nb101"},
		{[]string{"train-score", "--mask", "floyed", "--out", filepath.Join(dir, "x")}, 2, "floyed"},
		{[]string{"train-score", "--resume", filepath.Join(dir, "missing"), "--out", filepath.Join(dir, "x")}, 1, "missing"},
		{[]string{"sample", "--sampler", "ddim"}, 2, "ddim"},
		{[]string{"sample", "--n", "0"}, 2, "--n"},
		{[]string{"sample", "--steps", "-1"}, 2, "--steps"},
		{[]string{"sample", "--ckpt", filepath.Join(dir, "missing.ckpt"), "--n", "1"}, 1, "missing.ckpt"},
		{[]string{"sample", "--mask", "floyed", "--n", "1", "--steps", "1"}, 2, "floyed"},
		{[]string{"sample", "--snr", "0"}, 2, "--snr"},
		{[]string{"sample", "--snr", "-0.1"}, 2, "--snr"},
		{[]string{"mbv3-sample", "--snr", "NaN"}, 2, "--snr"},
		{[]string{"mbv3-sample", "--sampler", "ddim"}, 2, "ddim"},
	} {
		code, _, stderr := runArgs(c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q", c.args, code, stderr, c.code, c.want)
		}
	}
}
