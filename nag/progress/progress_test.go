package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestLogLines(t *testing.T) {
	var buf bytes.Buffer
	clk := &fakeClock{t: time.Unix(1000, 0)}
	no := false
	b := New(&buf, "train", 100, 0, Options{TTY: &no, Interval: 10 * time.Second, Now: clk.now})
	clk.t = clk.t.Add(5 * time.Second)
	b.Update(10, "loss", 0.5) // within interval: nothing
	if buf.Len() != 0 {
		t.Fatalf("drew before the interval: %q", buf.String())
	}
	clk.t = clk.t.Add(5 * time.Second)
	b.Update(20, "loss", 0.25)
	got := buf.String()
	for _, want := range []string{"train 20/100 (20.0%)", "loss 0.25", "2.0 it/s", "ETA 40s", "elapsed 10s"} {
		if !strings.Contains(got, want) {
			t.Errorf("line %q lacks %q", got, want)
		}
	}
	if strings.Contains(got, "\r") {
		t.Errorf("log mode wrote a carriage return: %q", got)
	}
	b.Finish(100, "loss", 0.1)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], "100/100") || strings.Contains(lines[1], "ETA") {
		t.Errorf("final lines %q", lines)
	}
	b.Update(100)
	if n := len(strings.Split(strings.TrimSpace(buf.String()), "\n")); n != 2 {
		t.Errorf("update after finish drew (%d lines)", n)
	}
}

func TestFinishAfterLastUpdate(t *testing.T) {
	var buf bytes.Buffer
	clk := &fakeClock{t: time.Unix(0, 0)}
	no := false
	b := New(&buf, "x", 4, 0, Options{TTY: &no, Interval: time.Hour, Now: clk.now})
	b.Update(4) // the last step always draws
	b.Finish(4)
	if n := strings.Count(buf.String(), "\n"); n != 1 {
		t.Errorf("%d lines for one final step: %q", n, buf.String())
	}
}

func TestTTYRedraw(t *testing.T) {
	var buf bytes.Buffer
	clk := &fakeClock{t: time.Unix(0, 0)}
	yes := true
	b := New(&buf, "sample", 10, 0, Options{TTY: &yes, Interval: time.Second, Now: clk.now})
	clk.t = clk.t.Add(2 * time.Second)
	b.Update(5)
	if !strings.HasPrefix(buf.String(), "\rsample 5/10 [##########..........]") {
		t.Errorf("tty line %q", buf.String())
	}
	if !strings.Contains(buf.String(), "2.5 it/s") || !strings.Contains(buf.String(), "ETA 2s") {
		t.Errorf("tty rate/eta %q", buf.String())
	}
	b.Finish(10)
	if !strings.HasSuffix(buf.String(), "\n") {
		t.Errorf("finish did not end the line: %q", buf.String())
	}
}

func TestResumeRate(t *testing.T) {
	var buf bytes.Buffer
	clk := &fakeClock{t: time.Unix(0, 0)}
	no := false
	b := New(&buf, "train", 1000, 900, Options{TTY: &no, Interval: time.Second, Now: clk.now})
	clk.t = clk.t.Add(10 * time.Second)
	b.Update(950)
	if !strings.Contains(buf.String(), "5.0 it/s") || !strings.Contains(buf.String(), "ETA 10s") {
		t.Errorf("resumed rate should count only this run's steps: %q", buf.String())
	}
}

func TestFormatDuration(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{{0, "0s"}, {42 * time.Second, "42s"}, {187 * time.Second, "3m07s"}, {3720 * time.Second, "1h02m"}, {-time.Second, "0s"}} {
		if got := FormatDuration(c.d); got != c.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", c.d, got, c.want)
		}
	}
}
