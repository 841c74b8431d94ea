package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nagml/nag/nag/ofa"
	"github.com/nagml/nag/tensor"
)

// TestMBV3OFA: strings from stdin or a file become OFA's lists; the lists
// rebuild the same architecture, skipped slots hold valid choices, and a
// malformed line is an error naming the line.
func TestMBV3OFA(t *testing.T) {
	rng := tensor.NewRNG(3)
	var in strings.Builder
	var want []ofa.Arch
	in.WriteString("# generated\n\n")
	for i := 0; i < 5; i++ {
		a := ofa.Random(rng)
		want = append(want, a)
		in.WriteString(a.String() + "\n")
	}
	path := filepath.Join(t.TempDir(), "archs.txt")
	if err := os.WriteFile(path, []byte(in.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"mbv3-ofa"}, {"mbv3-ofa", "-"}, {"mbv3-ofa", path}} {
		var o, e bytes.Buffer
		code := run(&env{stdout: &o, stderr: &e, stdin: strings.NewReader(in.String())}, args)
		if code != 0 {
			t.Fatalf("%v: exit %d, %s", args, code, e.String())
		}
		sc := bufio.NewScanner(&o)
		n := 0
		for sc.Scan() {
			var s ofaSubnet
			if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
				t.Fatal(err)
			}
			if len(s.KS) != 20 || len(s.E) != 20 || len(s.D) != 5 {
				t.Fatalf("lists of lengths %d, %d, %d", len(s.KS), len(s.E), len(s.D))
			}
			for i := range s.KS {
				if (s.KS[i] != 3 && s.KS[i] != 5 && s.KS[i] != 7) || (s.E[i] != 3 && s.E[i] != 4 && s.E[i] != 6) {
					t.Fatalf("slot %d: kernel %d expand %d, not an OFA choice", i, s.KS[i], s.E[i])
				}
			}
			a, err := ofa.FromLists(s.KS, s.E, s.D)
			if err != nil || a != want[n] || s.Arch != want[n].String() {
				t.Fatalf("line %d: lists give %v (%v), want %v", n, a, err, want[n])
			}
			n++
		}
		if n != len(want) {
			t.Fatalf("%v: %d lines, want %d", args, n, len(want))
		}
	}
	var o, e bytes.Buffer
	code := run(&env{stdout: &o, stderr: &e, stdin: strings.NewReader(want[0].String() + "\n4-5-6_bad\n")}, []string{"mbv3-ofa"})
	if code != 1 || !strings.Contains(e.String(), "stdin line 2") {
		t.Fatalf("bad line: exit %d, stderr %q", code, e.String())
	}
	if code, _, stderr := runArgs("mbv3-ofa", "a.txt", "b.txt"); code != 2 || !strings.Contains(stderr, `unexpected argument "b.txt"`) {
		t.Fatalf("two files: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr := runArgs("mbv3-ofa", filepath.Join(t.TempDir(), "missing.txt")); code != 1 || !strings.Contains(stderr, "missing.txt") {
		t.Fatalf("missing file: exit %d, stderr %q", code, stderr)
	}
}
