package evaluate

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nagml/nag/nag/bench201"
	"github.com/nagml/nag/nag/nb201"
)

func TestParseAccuracy(t *testing.T) {
	cases := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"93.12\n", 93.12, true},
		{"epoch 1 loss 2.3\nacc 93.5\n\n", 93.5, true},
		{"accuracy=71.25", 71.25, true},
		{"test acc: 1e1", 10, true},
		{"done\n", 0, false},
		{"", 0, false},
		{"93.1\nfinished", 0, false},
	}
	for _, c := range cases {
		got, err := ParseAccuracy(c.in)
		if (err == nil) != c.ok || (c.ok && got != c.want) {
			t.Errorf("ParseAccuracy(%q) = %v, %v; want %v ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
}

const arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"

func TestCommandPassesArchAndReadsAccuracy(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "eval.sh")
	// Prints the number of 3x3 convs in the arch (its argument) + 90.
	os.WriteFile(script, []byte("#!/bin/sh\nn=$(printf '%s' \"$1\" | grep -o nor_conv_3x3 | wc -l)\necho training...\necho \"acc $((90 + n))\"\n"), 0o755)
	e := &Command{Cmd: "sh " + script, Concurrency: 2}
	archs := []string{arch, "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"}
	res, err := e.Evaluate(context.Background(), archs)
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].OK || res[0].Acc != 95 || res[0].Arch != arch || res[0].Attempts != 1 {
		t.Fatalf("result 0 = %+v", res[0])
	}
	if !res[1].OK || res[1].Acc != 90 {
		t.Fatalf("result 1 = %+v", res[1])
	}
}

func TestCommandConcurrencyLimit(t *testing.T) {
	dir := t.TempDir()
	// Each run registers itself in a directory, records how many runs are
	// present, sleeps, and leaves.
	script := "d=" + dir + "; f=$d/run.$$; touch $f; ls $d | grep -c '^run\\.' >> $d/counts; sleep 0.2; rm $f; echo 1 #"
	e := &Command{Cmd: script, Concurrency: 2}
	archs := make([]string, 6)
	for i := range archs {
		archs[i] = arch
	}
	res, err := e.Evaluate(context.Background(), archs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if !r.OK {
			t.Fatalf("run %d failed: %s", i, r.Err)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "counts"))
	peak := 0
	for _, l := range strings.Fields(string(b)) {
		if n := int(l[0] - '0'); n > peak {
			peak = n
		}
	}
	if peak < 1 || peak > 2 {
		t.Fatalf("peak concurrent runs %d (counts %q), want <= 2", peak, b)
	}
}

func TestCommandRetriesAndRecordsFailures(t *testing.T) {
	dir := t.TempDir()
	// Fails on the first attempt, succeeds on the second.
	flaky := "f=" + dir + "/seen; if [ -e $f ]; then echo 77.5; else touch $f; echo boom >&2; exit 3; fi #"
	res, err := (&Command{Cmd: flaky, Retries: 1}).Evaluate(context.Background(), []string{arch})
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].OK || res[0].Acc != 77.5 || res[0].Attempts != 2 {
		t.Fatalf("flaky: %+v", res[0])
	}
	// Always failing: recorded with the error and stderr, not dropped.
	res, err = (&Command{Cmd: "echo nope >&2; exit 1 #", Retries: 2}).Evaluate(context.Background(), []string{arch, arch})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 {
		t.Fatalf("%d results for 2 archs", len(res))
	}
	for _, r := range res {
		if r.OK || r.Attempts != 3 || !strings.Contains(r.Err, "nope") {
			t.Fatalf("failing: %+v", r)
		}
	}
	// No number printed.
	res, _ = (&Command{Cmd: "echo done #"}).Evaluate(context.Background(), []string{arch})
	if res[0].OK || !strings.Contains(res[0].Err, "no number") {
		t.Fatalf("no number: %+v", res[0])
	}
	// Timeout.
	res, _ = (&Command{Cmd: "sleep 5; echo 1 #", Timeout: 100 * time.Millisecond}).Evaluate(context.Background(), []string{arch})
	if res[0].OK || !strings.Contains(res[0].Err, "timed out") || res[0].Duration > 3*time.Second {
		t.Fatalf("timeout: %+v", res[0])
	}
	if _, err := (&Command{Cmd: "  "}).Evaluate(context.Background(), []string{arch}); err == nil {
		t.Fatal("empty command accepted")
	}
}

func TestTable(t *testing.T) {
	path := os.Getenv(bench201.EnvPath)
	if path == "" {
		path = "../../../shared/data/nasbench201/nb201.csv.gz"
	}
	if _, err := os.Stat(path); err != nil {
		t.Skipf("NB201 table not found at %s (set %s)", path, bench201.EnvPath)
	}
	tab, err := bench201.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewTable(tab, "no_such_column"); err == nil {
		t.Fatal("unknown column accepted")
	}
	e, err := NewTable(tab, "c10_test")
	if err != nil {
		t.Fatal(err)
	}
	a := nb201.MustParse(arch)
	want, _ := tab.Query(a, "c10_test")
	res, err := e.Evaluate(context.Background(), []string{arch, "|bogus|"})
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].OK || res[0].Acc != want || want < 90 {
		t.Fatalf("table result %+v, want %g", res[0], want)
	}
	if res[1].OK || res[1].Err == "" {
		t.Fatalf("bad arch: %+v", res[1])
	}
	if e.Name() != "table:c10_test" {
		t.Fatalf("name %q", e.Name())
	}
}
