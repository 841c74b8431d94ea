//go:build cuda

package kernels

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"runtime"
	"sort"
	"strings"
	"sync"
	"unsafe"

	"gorgonia.org/cu"
)

// ptxFS holds the PTX generated from kernels/*.cu by `go generate ./kernels`.
//
//go:embed ptx/*.ptx
var ptxFS embed.FS

// Device is one CUDA device with its (primary) context, one stream on which
// every launch and copy is ordered, the loaded kernel modules and a caching
// allocator. Methods are safe for concurrent use (they serialise on a mutex),
// but the intended use is one goroutine driving one Device: launches are
// asynchronous and ordered on the stream; Sync, downloads and Close wait.
type Device struct {
	mu     sync.Mutex
	dev    cu.Device
	ctx    cu.CUContext
	stream cu.Stream
	mods   []cu.Module
	fns    map[string]cu.Function
	lazy   map[string]string // kernel -> embedded PTX file not loaded yet (lazyModules)
	alloc  *allocator
	closed bool

	// Info describes the device (read-only after Open).
	Info DeviceInfo
	// TF32 selects the tensor-core TF32 GEMM (sgemm_tf32) instead of the exact
	// FP32 kernel (sgemm_tiled) for Gemm and MatMul. Off by default.
	TF32 bool

	vecGemm      bool             // UseVecGemm
	gemmLaunches map[string]int64 // GemmLaunches
	prof         *profiler        // StartProfile / StopProfile
	profOn       bool
	capturing    bool            // inside Capture: launches are recorded, not run
	scratch      *DeviceTensor   // scratchFor
	retired      []*DeviceTensor // earlier scratch buffers (graphs may use them), freed by Close
}

// DeviceInfo describes a device.
type DeviceInfo struct {
	Ordinal        int
	Name           string
	Major, Minor   int   // compute capability
	SMs            int   // multiprocessors
	ClockKHz       int   // SM clock (kHz)
	MemClockKHz    int   // memory clock (kHz)
	MemBusWidth    int   // bits
	TotalMem       int64 // bytes
	DriverVersion  int
	MaxSharedBlock int // bytes of shared memory per block (static limit)
}

// Open creates a Device for GPU ordinal (0 = first). It retains the device's
// primary context, creates a non-blocking stream and loads every embedded PTX
// module but the lazy ones (JIT-compiled by the driver for the device's
// architecture; the driver caches the result on disk). Lazy modules
// (lazyModules) load on the first launch of one of their kernels.
func Open(ordinal int) (*Device, error) {
	n, err := cu.NumDevices()
	if err != nil {
		return nil, fmt.Errorf("kernels: count CUDA devices: %w", err)
	}
	if ordinal < 0 || ordinal >= n {
		return nil, fmt.Errorf("kernels: CUDA device %d requested, %d present", ordinal, n)
	}
	d := &Device{fns: map[string]cu.Function{}, lazy: map[string]string{}, alloc: newAllocator()}
	if d.dev, err = cu.GetDevice(ordinal); err != nil {
		return nil, fmt.Errorf("kernels: get device %d: %w", ordinal, err)
	}
	if err := d.readInfo(ordinal); err != nil {
		return nil, err
	}
	if d.ctx, err = d.dev.RetainPrimaryCtx(); err != nil {
		return nil, fmt.Errorf("kernels: retain primary context of %s: %w", d.Info.Name, err)
	}
	err = d.do(func() error {
		var err error
		if d.stream, err = cu.MakeStream(cu.NonBlocking); err != nil {
			return fmt.Errorf("kernels: create stream: %w", err)
		}
		return d.loadModules()
	})
	if err != nil {
		d.dev.ReleasePrimaryCtx()
		return nil, err
	}
	d.vecGemm = true // UseVecGemm: the float4-load kernels (module loaded on first use)
	if d.scratchFor(scratchFloats) == nil {
		d.Close()
		return nil, fmt.Errorf("kernels: allocate the %d MB scratch buffer on %s", scratchFloats*4>>20, d.Info.Name)
	}
	return d, nil
}

func (d *Device) readInfo(ordinal int) error {
	name, err := d.dev.Name()
	if err != nil {
		return fmt.Errorf("kernels: device %d name: %w", ordinal, err)
	}
	attrs, err := d.dev.Attributes(cu.ComputeCapabilityMajor, cu.ComputeCapabilityMinor, cu.MultiprocessorCount,
		cu.ClockRate, cu.MemoryClockRate, cu.GlobalMemoryBusWidth, cu.MaxSharedMemoryPerBlock)
	if err != nil {
		return fmt.Errorf("kernels: attributes of %s: %w", name, err)
	}
	mem, err := d.dev.TotalMem()
	if err != nil {
		return fmt.Errorf("kernels: memory of %s: %w", name, err)
	}
	d.Info = DeviceInfo{Ordinal: ordinal, Name: name, Major: attrs[0], Minor: attrs[1], SMs: attrs[2],
		ClockKHz: attrs[3], MemClockKHz: attrs[4], MemBusWidth: attrs[5], TotalMem: mem,
		DriverVersion: cu.Version(), MaxSharedBlock: attrs[6]}
	if d.Info.Major < 8 {
		return fmt.Errorf("kernels: %s has compute capability %d.%d; the embedded PTX targets compute_80 (A100, H100 and newer)",
			name, d.Info.Major, d.Info.Minor)
	}
	return nil
}

// do runs f with the device's context current on a locked OS thread (CUDA
// contexts are per thread; goroutines move between threads) and the device
// mutex held.
func (d *Device) do(f func() error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return fmt.Errorf("kernels: device %s is closed", d.Info.Name)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cu.SetCurrentContext(d.ctx); err != nil {
		return fmt.Errorf("kernels: make context current: %w", err)
	}
	return f()
}

// loadModules loads every embedded PTX module but the lazy ones and looks up
// their kernels (every `.entry` in the PTX text); a lazy module's kernels are
// recorded in d.lazy, and launch loads the module on the first use of one.
// Runs with the context current.
func (d *Device) loadModules() error {
	files, err := fs.Glob(ptxFS, "ptx/*.ptx")
	if err != nil || len(files) == 0 {
		return fmt.Errorf("kernels: no embedded PTX (run go generate ./kernels): %v", err)
	}
	sort.Strings(files)
	for _, f := range files {
		if !lazyModules[path.Base(f)] {
			if err := d.loadModule(f); err != nil {
				return err
			}
			continue
		}
		b, err := ptxFS.ReadFile(f)
		if err != nil {
			return fmt.Errorf("kernels: read %s: %w", f, err)
		}
		for _, name := range ptxEntries(string(b)) {
			if err := d.claim(name, f); err != nil {
				return err
			}
			d.lazy[name] = f
		}
	}
	return nil
}

// claim checks that kernel name, defined in PTX file f, is defined by no
// other file (loaded, or lazy and pending).
func (d *Device) claim(name, f string) error {
	_, loaded := d.fns[name]
	other, pending := d.lazy[name]
	if loaded || (pending && other != f) {
		return fmt.Errorf("kernels: kernel %s defined twice (second in %s)", name, path.Base(f))
	}
	return nil
}

// loadModule loads one embedded PTX file (the driver JIT-compiles it for the
// device) and registers its kernels. Runs with the context current.
func (d *Device) loadModule(f string) error {
	b, err := ptxFS.ReadFile(f)
	if err != nil {
		return fmt.Errorf("kernels: read %s: %w", f, err)
	}
	mod, err := cu.LoadData(string(b))
	if err != nil {
		return fmt.Errorf("kernels: load module %s (JIT for sm_%d%d): %w", path.Base(f), d.Info.Major, d.Info.Minor, err)
	}
	d.mods = append(d.mods, mod)
	for _, name := range ptxEntries(string(b)) {
		fn, err := mod.Function(name)
		if err != nil {
			return fmt.Errorf("kernels: function %s in %s: %w", name, path.Base(f), err)
		}
		if err := d.claim(name, f); err != nil {
			return err
		}
		d.fns[name] = fn
		delete(d.lazy, name)
	}
	return nil
}

// ptxEntries lists the kernel names of a PTX module (".visible .entry name(").
func ptxEntries(ptx string) []string {
	var out []string
	for _, line := range strings.Split(ptx, "\n") {
		line = strings.TrimSpace(line)
		i := strings.Index(line, ".entry ")
		if i < 0 || strings.HasPrefix(line, "//") {
			continue
		}
		name := strings.TrimSpace(line[i+len(".entry "):])
		if j := strings.IndexAny(name, "( "); j >= 0 {
			name = name[:j]
		}
		if name != "" {
			out = append(out, name)
		}
	}
	return out
}

// Kernels lists the kernel names, sorted: those loaded and those of lazy
// modules, loaded on their first launch.
func (d *Device) Kernels() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]string, 0, len(d.fns)+len(d.lazy))
	for k := range d.fns {
		out = append(out, k)
	}
	for k := range d.lazy {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Sync waits until all work queued on the device's stream has finished and
// returns the first asynchronous error (e.g. a faulting kernel).
func (d *Device) Sync() error {
	return d.do(func() error {
		if err := d.stream.Synchronize(); err != nil {
			return fmt.Errorf("kernels: synchronize %s: %w", d.Info.Name, err)
		}
		return nil
	})
}

// Close waits for queued work, frees cached and live device memory the
// allocator knows of, unloads the modules and releases the primary context.
// Using the device or its tensors afterwards returns errors.
func (d *Device) Close() error {
	err := d.do(func() error {
		var first error
		keep := func(e error) {
			if e != nil && first == nil {
				first = e
			}
		}
		keep(d.stream.Synchronize())
		d.prof.destroyEvents()
		for _, s := range append(d.retired, d.scratch) {
			if s != nil {
				d.alloc.put(s.ptr, s.class)
			}
		}
		d.scratch, d.retired = nil, nil
		keep(d.alloc.releaseAll())
		for _, m := range d.mods {
			keep(m.Unload())
		}
		keep(d.stream.Destroy())
		return first
	})
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	if e := d.dev.ReleasePrimaryCtx(); err == nil && e != nil {
		err = e
	}
	if err != nil {
		return fmt.Errorf("kernels: close %s: %w", d.Info.Name, err)
	}
	return nil
}

// ---- launching ------------------------------------------------------------------

// maxArgs bounds a kernel's parameter count.
const maxArgs = 20

// kargs packs kernel arguments. gorgonia.org/cu's Function.Launch copies 8
// bytes from every argument pointer, so each argument lives in its own 8-byte
// slot: device pointers and 64-bit integers fill it; int (int32) and float
// (float32) arguments occupy the low 4 bytes (little-endian x86-64/arm64: the
// driver reads exactly the parameter's size from the start of the slot), the
// high 4 bytes are zero. The kernels therefore declare scalar parameters only as
// int, float, long long or unsigned long long, and the helper used for each
// argument must match the kernel's declared type.
type kargs struct {
	slot [maxArgs]uint64
	ptr  [maxArgs]unsafe.Pointer
	n    int
}

func (a *kargs) push(v uint64) *kargs {
	if a.n == maxArgs {
		panic("kernels: too many kernel arguments")
	}
	a.slot[a.n] = v
	a.n++
	return a
}

// p adds a device pointer (a nil tensor is the null pointer).
func (a *kargs) p(t *DeviceTensor) *kargs {
	if t == nil {
		return a.push(0)
	}
	return a.push(uint64(t.ptr))
}

// i adds an int kernel parameter (32-bit); it panics when v does not fit.
func (a *kargs) i(v int) *kargs {
	if v != int(int32(v)) {
		panic(fmt.Sprintf("kernels: int kernel argument %d overflows int32", v))
	}
	return a.push(uint64(uint32(int32(v))))
}

// f adds a float kernel parameter.
func (a *kargs) f(v float32) *kargs { return a.push(uint64(mathFloat32bits(v))) }

// i64 adds a long long kernel parameter.
func (a *kargs) i64(v int64) *kargs { return a.push(uint64(v)) }

// u64 adds an unsigned long long kernel parameter.
func (a *kargs) u64(v uint64) *kargs { return a.push(v) }

// launch queues kernel name on the device's stream.
func (d *Device) launch(name string, grid, block [3]int, shmem int, a *kargs) error {
	return d.launchTagged(name, name, grid, block, shmem, a)
}

// launchTagged is launch with the name the profile records it under.
func (d *Device) launchTagged(tag, name string, grid, block [3]int, shmem int, a *kargs) error {
	return d.do(func() error {
		fn, ok := d.fns[name]
		if !ok {
			f, lazy := d.lazy[name]
			if !lazy {
				return fmt.Errorf("kernels: kernel %s not loaded (stale PTX? run go generate ./kernels)", name)
			}
			if err := d.loadModule(f); err != nil {
				return err
			}
			fn = d.fns[name]
		}
		params := a.ptr[:a.n]
		for i := range params {
			params[i] = unsafe.Pointer(&a.slot[i])
		}
		return d.timed(tag, func() error {
			if err := fn.Launch(grid[0], grid[1], grid[2], block[0], block[1], block[2], shmem, d.stream, params); err != nil {
				return fmt.Errorf("kernels: launch %s grid %v block %v shmem %d: %w", name, grid, block, shmem, err)
			}
			return nil
		})
	})
}

// grid1 returns a 1-D grid of blocks of `threads` covering n work items,
// capped (kernels loop grid-stride) at 32 blocks per SM.
func (d *Device) grid1(n, threads int) [3]int {
	b := (n + threads - 1) / threads
	if lim := 32 * d.Info.SMs; b > lim {
		b = lim
	}
	if b < 1 {
		b = 1
	}
	return [3]int{b, 1, 1}
}
