// Package progress reports the progress of long jobs (training, sampling):
// a single redrawn status line with the loss, iterations per second and the
// estimated time left when the output is a terminal, and plain periodic log
// lines otherwise (files, pipes, CI logs).
package progress

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// Bar is a progress reporter for a job of a known number of steps. Create it
// with New; it is safe for use from one goroutine plus Finish from another.
type Bar struct {
	mu       sync.Mutex
	w        io.Writer
	label    string
	total    int
	tty      bool
	width    int
	start    time.Time
	startAt  int
	last     time.Time
	interval time.Duration
	now      func() time.Time
	done     bool
	// drawnStep is the step of the last line drawn (-1: none yet).
	drawnStep int
}

// Options configures a Bar.
type Options struct {
	// Interval between redraws on a terminal (default 200 ms) or between log
	// lines otherwise (default 10 s).
	Interval time.Duration
	// TTY forces terminal (true) or log-line (false) mode; nil detects it
	// from the writer (an *os.File connected to a terminal).
	TTY *bool
	// Now replaces the clock (tests).
	Now func() time.Time
}

// New returns a bar for total steps (total <= 0: unknown, no ETA) writing to w.
// startAt is the step the job starts from (a resumed training run), so the
// rate and ETA count only the steps done in this process.
func New(w io.Writer, label string, total, startAt int, opt Options) *Bar {
	b := &Bar{w: w, label: label, total: total, startAt: startAt, now: opt.Now, width: 80, drawnStep: -1}
	if b.now == nil {
		b.now = time.Now
	}
	if opt.TTY != nil {
		b.tty = *opt.TTY
	} else if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		b.tty = true
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 20 {
			b.width = cols
		}
	}
	b.interval = opt.Interval
	if b.interval == 0 {
		if b.tty {
			b.interval = 200 * time.Millisecond
		} else {
			b.interval = 10 * time.Second
		}
	}
	b.start = b.now()
	b.last = b.start
	return b
}

// IsTTY reports whether the bar redraws a terminal line.
func (b *Bar) IsTTY() bool { return b.tty }

// Update reports that step steps are done; metrics are extra "name value"
// pairs shown on the line (e.g. "loss", 0.123). It draws at most once per
// interval, and always at the last step.
func (b *Bar) Update(step int, metrics ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return
	}
	now := b.now()
	if now.Sub(b.last) < b.interval && (b.total <= 0 || step < b.total) {
		return
	}
	b.last = now
	b.draw(step, now, metrics)
}

// Finish draws the final state and ends the line (in log-line mode it
// prints nothing when the last line already showed step). Further Updates
// are ignored.
func (b *Bar) Finish(step int, metrics ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return
	}
	if b.tty || b.drawnStep != step {
		b.draw(step, b.now(), metrics)
	}
	if b.tty {
		fmt.Fprintln(b.w)
	}
	b.done = true
}

// line returns the status text for step at time now (without drawing).
func (b *Bar) line(step int, now time.Time, metrics []any) string {
	var sb strings.Builder
	sb.WriteString(b.label)
	if b.total > 0 {
		fmt.Fprintf(&sb, " %d/%d", step, b.total)
		if b.tty {
			pct := float64(step) / float64(b.total)
			const cells = 20
			n := int(math.Round(pct * cells))
			if n > cells {
				n = cells
			}
			if n < 0 {
				n = 0
			}
			fmt.Fprintf(&sb, " [%s%s]", strings.Repeat("#", n), strings.Repeat(".", cells-n))
		} else {
			fmt.Fprintf(&sb, " (%.1f%%)", 100*float64(step)/float64(b.total))
		}
	} else {
		fmt.Fprintf(&sb, " %d", step)
	}
	for i := 0; i+1 < len(metrics); i += 2 {
		switch v := metrics[i+1].(type) {
		case float64:
			fmt.Fprintf(&sb, " %v %.4g", metrics[i], v)
		case float32:
			fmt.Fprintf(&sb, " %v %.4g", metrics[i], v)
		default:
			fmt.Fprintf(&sb, " %v %v", metrics[i], v)
		}
	}
	el := now.Sub(b.start).Seconds()
	done := step - b.startAt
	if el > 0 && done > 0 {
		rate := float64(done) / el
		if rate >= 1 {
			fmt.Fprintf(&sb, " %.1f it/s", rate)
		} else {
			fmt.Fprintf(&sb, " %.2f s/it", 1/rate)
		}
		if b.total > 0 && step < b.total {
			left := time.Duration(float64(b.total-step) / rate * float64(time.Second))
			fmt.Fprintf(&sb, " ETA %s", FormatDuration(left))
		}
	}
	fmt.Fprintf(&sb, " elapsed %s", FormatDuration(now.Sub(b.start)))
	return sb.String()
}

func (b *Bar) draw(step int, now time.Time, metrics []any) {
	s := b.line(step, now, metrics)
	b.drawnStep = step
	if b.tty {
		if len(s) > b.width-1 {
			s = s[:b.width-1]
		}
		fmt.Fprintf(b.w, "\r%s\x1b[K", s)
		return
	}
	fmt.Fprintln(b.w, s)
}

// FormatDuration renders d compactly: "42s", "3m07s", "1h02m".
func FormatDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int(d.Round(time.Second).Seconds())
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	default:
		return fmt.Sprintf("%dh%02dm", s/3600, (s%3600)/60)
	}
}
