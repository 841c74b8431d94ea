package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nagml/nag/nag/ckpt"
	"github.com/nagml/nag/tensor"
)

// writeTestCkpt writes a small checkpoint and returns its path.
func writeTestCkpt(t *testing.T, dir string) string {
	t.Helper()
	c := &ckpt.Checkpoint{
		Kind: "scorenet", Seed: 42, Step: 1000,
		Config: json.RawMessage(`{"layers":4,"sigma_max":5}`),
		RNG:    []byte{1, 2, 3},
		Meta:   map[string]string{"dataset": "nb201"},
	}
	c.AddTensor("params.l1.weight", tensor.Full(1, 3, 2))
	c.AddTensor("params.l1.bias", tensor.Full(1, 3))
	c.AddTensor("optim.ema.l1.weight", tensor.Full(1, 3, 2))
	c.AddInts("train_idx", []int{3, 1, 2})
	path := filepath.Join(dir, "s.ckpt")
	if err := ckpt.WriteFile(path, c); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCkptInspect(t *testing.T) {
	path := writeTestCkpt(t, t.TempDir())
	code, out, errOut := runArgs("ckpt", "inspect", path)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{
		"kind:     scorenet", "format:   nag checkpoint v1", "seed:     42", "step:     1000", "rng:      3 bytes",
		"\"sigma_max\": 5", "dataset = \"nb201\"", "entries:  4",
		"params.l1.weight", "[3 2]", "train_idx", "i64",
		"parameters: 9 ", "float32 values in all entries: 15",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, out)
		}
	}
	if code, _, _ := runArgs("ckpt", "inspect", "-kind", "predictor", path); code != 1 {
		t.Errorf("inspect with the wrong -kind: exit %d, want 1", code)
	}
}

func TestCkptVerify(t *testing.T) {
	dir := t.TempDir()
	path := writeTestCkpt(t, dir)
	good, _ := os.ReadFile(path)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)-3] ^= 0x10
	newer := append([]byte(nil), good...)
	newer[8] = 9
	cases := []struct {
		name string
		args []string
		code int
		msg  string // in stdout for 0, stderr otherwise
	}{
		{"intact", []string{path}, 0, "ok: "},
		{"kind ok", []string{"-kind", "scorenet", path}, 0, "kind scorenet"},
		{"wrong kind", []string{"-kind", "predictor", path}, 1, "wrong checkpoint kind"},
		{"truncated", []string{write("trunc.ckpt", good[:len(good)/2])}, 1, "truncated"},
		{"bit flip", []string{write("flip.ckpt", flipped)}, 1, "checksum mismatch"},
		{"version", []string{write("v9.ckpt", newer)}, 1, "version 9"},
		{"not a checkpoint", []string{write("x.txt", []byte("hello"))}, 1, "not a nag checkpoint"},
		{"missing file", []string{filepath.Join(dir, "nope.ckpt")}, 1, "no such file"},
		{"no file", nil, 2, "missing checkpoint FILE"},
		{"two files", []string{path, path}, 2, "expected one FILE"},
		{"bad flag", []string{"-bogus", path}, 2, "flag provided but not defined"},
	}
	for _, c := range cases {
		code, out, errOut := runArgs(append([]string{"ckpt", "verify"}, c.args...)...)
		if code != c.code {
			t.Errorf("%s: exit %d, want %d (stderr %q)", c.name, code, c.code, errOut)
			continue
		}
		where := errOut
		if c.code == 0 {
			where = out
		}
		if !strings.Contains(where, c.msg) {
			t.Errorf("%s: output %q lacks %q", c.name, where, c.msg)
		}
		if c.code == 1 && strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Errorf("%s: reason is not one line: %q", c.name, errOut)
		}
	}
}

func TestCkptUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"ckpt"}, 2},
		{[]string{"ckpt", "frobnicate"}, 2},
		{[]string{"ckpt", "inspect"}, 2},
		{[]string{"ckpt", "inspect", "-x", "f"}, 2},
		{[]string{"ckpt", "-h"}, 0},
		{[]string{"ckpt", "inspect", "-h"}, 0},
		{[]string{"ckpt", "verify", "-h"}, 0},
	} {
		if code, _, _ := runArgs(c.args...); code != c.code {
			t.Errorf("%v: exit %d, want %d", c.args, code, c.code)
		}
	}
	if _, out, _ := runArgs("help"); !strings.Contains(out, "ckpt") {
		t.Errorf("help does not list ckpt:\n%s", out)
	}
}
