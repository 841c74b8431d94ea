//go:build cuda

package kernels

// CUDA graphs through the driver API (stream capture is not wrapped by
// gorgonia.org/cu v0.9.6): a fixed launch sequence (the eval forward of a
// model for one batch shape) is recorded once and replayed with a single
// cuGraphLaunch, so the per-kernel launch cost of the host is paid once.

// #cgo LDFLAGS: -lcuda
// #cgo linux LDFLAGS: -L/usr/local/cuda/lib64 -L/usr/local/cuda/lib64/stubs -L/usr/lib/x86_64-linux-gnu
// #cgo linux CFLAGS: -I/usr/local/cuda/include
// #include <cuda.h>
import "C"

import (
	"fmt"
	"unsafe"
)

// Graph is an instantiated CUDA graph bound to its device's stream.
type Graph struct {
	d     *Device
	graph C.CUgraph
	exec  C.CUgraphExec
	nodes int
}

func cuErr(what string, r C.CUresult) error {
	if r == C.CUDA_SUCCESS {
		return nil
	}
	var s *C.char
	C.cuGetErrorString(r, &s)
	msg := "unknown error"
	if s != nil {
		msg = C.GoString(s)
	}
	return fmt.Errorf("kernels: %s: CUDA error %d (%s)", what, int(r), msg)
}

func (d *Device) rawStream() C.CUstream { return C.CUstream(unsafe.Pointer(d.stream.C())) }

// Capture records the work f queues on the device's stream (kernel launches
// and device-to-device copies; no allocation, host copy or synchronisation)
// into a graph and instantiates it. Nothing runs during capture: Launch runs
// it. The pointers and scalar arguments of every launch are frozen, so f must
// only touch buffers that outlive the graph.
func (d *Device) Capture(f func() error) (*Graph, error) {
	if err := d.do(func() error {
		if err := cuErr("begin stream capture", C.cuStreamBeginCapture(d.rawStream(), C.CU_STREAM_CAPTURE_MODE_RELAXED)); err != nil {
			return err
		}
		d.capturing = true
		return nil
	}); err != nil {
		return nil, err
	}
	ferr := f()
	g := &Graph{d: d}
	eerr := d.do(func() error {
		d.capturing = false
		return cuErr("end stream capture", C.cuStreamEndCapture(d.rawStream(), &g.graph))
	})
	if ferr != nil || eerr != nil {
		if g.graph != nil {
			C.cuGraphDestroy(g.graph)
		}
		if ferr != nil {
			return nil, fmt.Errorf("kernels: capture: %w", ferr)
		}
		return nil, eerr
	}
	err := d.do(func() error {
		var n C.size_t
		if err := cuErr("graph nodes", C.cuGraphGetNodes(g.graph, nil, &n)); err != nil {
			return err
		}
		g.nodes = int(n)
		return cuErr("instantiate graph", C.cuGraphInstantiateWithFlags(&g.exec, g.graph, 0))
	})
	if err != nil {
		C.cuGraphDestroy(g.graph)
		return nil, err
	}
	return g, nil
}

// Nodes is the number of operations the graph holds.
func (g *Graph) Nodes() int { return g.nodes }

// Launch queues one replay of the graph on the device's stream.
func (g *Graph) Launch() error {
	return g.d.do(func() error {
		return g.d.timed(fmt.Sprintf("graph(%d nodes)", g.nodes), func() error {
			return cuErr("launch graph", C.cuGraphLaunch(g.exec, g.d.rawStream()))
		})
	})
}

// Destroy releases the graph (nil-safe).
func (g *Graph) Destroy() {
	if g == nil || g.exec == nil {
		return
	}
	g.d.do(func() error {
		C.cuGraphExecDestroy(g.exec)
		C.cuGraphDestroy(g.graph)
		return nil
	})
	g.exec, g.graph = nil, nil
}
