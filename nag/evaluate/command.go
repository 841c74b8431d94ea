package evaluate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Command runs an external program once per architecture:
//
//	sh -c 'CMD "$1"' nag ARCH
//
// i.e. CMD is a shell command line and the architecture string is appended
// as its last argument (quoted, so the '|' and '~' of NB201 strings are
// safe). The accuracy is the last number on the last non-empty line of the
// program's standard output (so "93.12", "acc 93.12" and "accuracy=93.12"
// all work). A run fails on a non-zero exit status, a missing number, or
// the timeout; failed runs are retried up to Retries more times, and the
// final failure is recorded in the Result with the error and the end of
// standard error.
type Command struct {
	Cmd         string
	Concurrency int           // parallel runs (default 1)
	Retries     int           // extra attempts after a failure (default 0)
	Timeout     time.Duration // per attempt (0 = none)
	Shell       string        // default "sh"
	// Env holds extra environment variables ("NAME=value") for the
	// program, added to nag's own environment.
	Env []string
}

// Name implements Evaluator.
func (c *Command) Name() string { return "cmd:" + c.Cmd }

// Evaluate implements Evaluator.
func (c *Command) Evaluate(ctx context.Context, archs []string) ([]Result, error) {
	if strings.TrimSpace(c.Cmd) == "" {
		return nil, fmt.Errorf("evaluate: empty command")
	}
	if c.Concurrency < 0 || c.Retries < 0 {
		return nil, fmt.Errorf("evaluate: concurrency %d and retries %d must not be negative", c.Concurrency, c.Retries)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	conc := max(c.Concurrency, 1)
	out := make([]Result, len(archs))
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	for i, a := range archs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i] = c.one(ctx, a)
		}()
	}
	wg.Wait()
	return out, nil
}

func (c *Command) one(ctx context.Context, arch string) Result {
	r := Result{Arch: arch}
	start := time.Now()
	defer func() { r.Duration = time.Since(start) }()
	var last error
	for attempt := 0; attempt <= c.Retries; attempt++ {
		if err := ctx.Err(); err != nil {
			last = err
			break
		}
		r.Attempts++
		acc, err := c.run(ctx, arch)
		if err == nil {
			r.Acc, r.OK, r.Err = acc, true, ""
			r.Duration = time.Since(start)
			return r
		}
		last = err
	}
	r.Err = last.Error()
	return r
}

func (c *Command) run(ctx context.Context, arch string) (float64, error) {
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	shell := c.Shell
	if shell == "" {
		shell = "sh"
	}
	cmd := exec.CommandContext(ctx, shell, "-c", c.Cmd+` "$1"`, "nag", arch)
	cmd.WaitDelay = time.Second
	if len(c.Env) > 0 {
		cmd.Env = append(os.Environ(), c.Env...)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return 0, fmt.Errorf("timed out after %v", c.Timeout)
	}
	if err != nil {
		return 0, fmt.Errorf("%v%s", err, tail(stderr.String()))
	}
	acc, err := ParseAccuracy(stdout.String())
	if err != nil {
		return 0, fmt.Errorf("%v%s", err, tail(stderr.String()))
	}
	return acc, nil
}

// tail returns ": <last 200 bytes of s>" or "".
func tail(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if len(s) > 200 {
		s = "..." + s[len(s)-200:]
	}
	return " (stderr: " + s + ")"
}

// ParseAccuracy returns the last number on the last non-empty line of s.
func ParseAccuracy(s string) (float64, error) {
	lines := strings.Split(strings.TrimRight(s, " \t\r\n"), "\n")
	line := strings.TrimSpace(lines[len(lines)-1])
	if line == "" {
		return 0, fmt.Errorf("command printed no accuracy")
	}
	fields := strings.FieldsFunc(line, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r == '.' || r == '-' || r == '+' || r == 'e' || r == 'E')
	})
	for i := len(fields) - 1; i >= 0; i-- {
		v, err := strconv.ParseFloat(fields[i], 64)
		if err == nil && v == v && v < 1e300 && v > -1e300 {
			return v, nil
		}
	}
	return 0, fmt.Errorf("no number in the last output line %q", line)
}
