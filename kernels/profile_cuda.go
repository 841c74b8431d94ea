//go:build cuda

package kernels

import (
	"fmt"
	"sort"

	"gorgonia.org/cu"
)

// KernelTime is the device time one kernel (or, for GEMMs, one kernel at
// one shape) took over a profiled span: Calls launches, Seconds in all.
type KernelTime struct {
	Name    string
	Calls   int
	Seconds float64
}

// profiler brackets every launch with a pair of CUDA events on the stream.
type profiler struct {
	free  []cu.Event // recorded and read, reusable
	spans []profSpan
}

type profSpan struct {
	tag        string
	start, end cu.Event
}

// StartProfile begins recording the device time of every kernel launch and
// graph replay (not of the launches a Capture records: their replays are
// timed as a whole, as "graph(N nodes)"). Each launch gets an event before
// and after it on the stream, so a span also holds any time the GPU waited
// for the host to queue the kernel: with the stream kept full the spans are
// the kernels' own times. Profiling adds two event records per launch.
func (d *Device) StartProfile() error {
	return d.do(func() error {
		if d.prof == nil {
			d.prof = &profiler{}
		}
		d.profOn = true
		return nil
	})
}

// StopProfile waits for the stream, ends the recording StartProfile began and
// returns the time per kernel, largest first. GEMM launches are named
// "kernel MxNxK[/batch][ tA][ tB]" so that each product shape gets a row.
func (d *Device) StopProfile() ([]KernelTime, error) {
	var out []KernelTime
	err := d.do(func() error {
		p := d.prof
		d.profOn = false
		if p == nil {
			return nil
		}
		defer func() {
			for _, s := range p.spans {
				p.free = append(p.free, s.start, s.end)
			}
			p.spans = p.spans[:0]
		}()
		if err := d.stream.Synchronize(); err != nil {
			return fmt.Errorf("kernels: profile: synchronize: %w", err)
		}
		byTag := map[string]*KernelTime{}
		for _, s := range p.spans {
			ms, err := s.start.Elapsed(s.end)
			if err != nil {
				return fmt.Errorf("kernels: profile: elapsed time of %s: %w", s.tag, err)
			}
			k := byTag[s.tag]
			if k == nil {
				k = &KernelTime{Name: s.tag}
				byTag[s.tag] = k
			}
			k.Calls++
			k.Seconds += ms / 1e3
		}
		for _, k := range byTag {
			out = append(out, *k)
		}
		sort.Slice(out, func(i, j int) bool {
			if out[i].Seconds != out[j].Seconds {
				return out[i].Seconds > out[j].Seconds
			}
			return out[i].Name < out[j].Name
		})
		return nil
	})
	return out, err
}

// event returns a reusable event (context current).
func (p *profiler) event() (cu.Event, error) {
	if n := len(p.free); n > 0 {
		e := p.free[n-1]
		p.free = p.free[:n-1]
		return e, nil
	}
	return cu.MakeEvent(cu.DefaultEvent)
}

// timed runs the launch f between two recorded events when profiling (and
// not capturing a graph). Runs with the context current.
func (d *Device) timed(tag string, f func() error) error {
	if !d.profOn || d.capturing {
		return f()
	}
	p := d.prof
	s, err := p.event()
	if err != nil {
		return fmt.Errorf("kernels: profile: create event: %w", err)
	}
	e, err := p.event()
	if err != nil {
		return fmt.Errorf("kernels: profile: create event: %w", err)
	}
	if err := s.Record(d.stream); err != nil {
		return fmt.Errorf("kernels: profile: record event: %w", err)
	}
	if err := f(); err != nil {
		p.free = append(p.free, s, e)
		return err
	}
	if err := e.Record(d.stream); err != nil {
		return fmt.Errorf("kernels: profile: record event: %w", err)
	}
	p.spans = append(p.spans, profSpan{tag: tag, start: s, end: e})
	return nil
}

// destroyEvents frees the profiler's events (Close; context current).
func (p *profiler) destroyEvents() {
	if p == nil {
		return
	}
	for _, s := range p.spans {
		p.free = append(p.free, s.start, s.end)
	}
	for i := range p.free {
		cu.DestroyEvent(&p.free[i])
	}
	p.free, p.spans = nil, nil
}

// gemmTag names a GEMM launch for the profile.
func gemmTag(name string, g GemmArgs) string {
	s := fmt.Sprintf("%s %dx%dx%d", name, g.M, g.N, g.K)
	if g.Batch > 1 {
		s += fmt.Sprintf("/%d", g.Batch)
	}
	if g.TransA {
		s += " tA"
	}
	if g.TransB {
		s += " tB"
	}
	return s
}

// profiling reports whether StartProfile is in effect.
func (d *Device) profiling() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.profOn
}
