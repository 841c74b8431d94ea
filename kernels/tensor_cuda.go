//go:build cuda

package kernels

import (
	"fmt"
	"unsafe"

	"github.com/nagml/nag/tensor"
	"gorgonia.org/cu"
)

// DeviceTensor is a dense row-major float32 array in device memory. It is the
// unit the device-resident launchers work on; a model runner keeps weights,
// activations and optimiser state as DeviceTensors and only moves inputs and
// results across PCIe. Free returns the memory to the device's cache.
type DeviceTensor struct {
	dev   *Device
	ptr   cu.DevicePtr
	class uint
	shape []int
	n     int
	owner bool // false for views (Reshape, Slice): Free is a no-op
}

// Empty allocates an uninitialised tensor of the given shape.
func (d *Device) Empty(shape ...int) (*DeviceTensor, error) {
	n := 1
	for _, s := range shape {
		if s < 0 {
			return nil, fmt.Errorf("kernels: negative dimension in shape %v", shape)
		}
		n *= s
	}
	t := &DeviceTensor{dev: d, shape: append([]int(nil), shape...), n: n, owner: true}
	err := d.do(func() error {
		p, c, err := d.alloc.get(int64(max(n, 1)) * 4)
		t.ptr, t.class = p, c
		return err
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// Zeros allocates a zero-filled tensor.
func (d *Device) Zeros(shape ...int) (*DeviceTensor, error) {
	t, err := d.Empty(shape...)
	if err != nil {
		return nil, err
	}
	if err := d.Fill(t, 0); err != nil {
		t.Free()
		return nil, err
	}
	return t, nil
}

// Upload copies a host tensor (any layout; strided views are made contiguous)
// to a new device tensor.
func (d *Device) Upload(t *tensor.Tensor) (*DeviceTensor, error) {
	return d.UploadSlice(t.Contiguous().Data(), t.Shape()...)
}

// UploadSlice copies data (len = product of shape) to a new device tensor.
func (d *Device) UploadSlice(data []float32, shape ...int) (*DeviceTensor, error) {
	x, err := d.Empty(shape...)
	if err != nil {
		return nil, err
	}
	if err := x.CopyFrom(data); err != nil {
		x.Free()
		return nil, err
	}
	return x, nil
}

// CopyFrom copies len(x) host values into x (queued on the stream; the host
// slice may be reused when CopyFrom returns).
func (x *DeviceTensor) CopyFrom(data []float32) error {
	if len(data) != x.n {
		return fmt.Errorf("kernels: copy %d values into a device tensor of shape %v", len(data), x.shape)
	}
	if x.n == 0 {
		return nil
	}
	return x.dev.do(func() error {
		if err := cu.MemcpyHtoDAsync(x.ptr, unsafe.Pointer(&data[0]), int64(4*x.n), x.dev.stream); err != nil {
			return fmt.Errorf("kernels: upload %v: %w", x.shape, err)
		}
		return nil
	})
}

// CopyTo waits for the queued work that writes x and copies it into dst
// (len(dst) = x.Len()).
func (x *DeviceTensor) CopyTo(dst []float32) error {
	if len(dst) != x.n {
		return fmt.Errorf("kernels: copy a device tensor of shape %v into %d values", x.shape, len(dst))
	}
	if x.n == 0 {
		return nil
	}
	return x.dev.do(func() error {
		if err := cu.MemcpyDtoHAsync(unsafe.Pointer(&dst[0]), x.ptr, int64(4*x.n), x.dev.stream); err != nil {
			return fmt.Errorf("kernels: download %v: %w", x.shape, err)
		}
		if err := x.dev.stream.Synchronize(); err != nil {
			return fmt.Errorf("kernels: download %v: %w", x.shape, err)
		}
		return nil
	})
}

// copyToRaw waits for x and copies its first nbytes bytes to host memory dst.
func (x *DeviceTensor) copyToRaw(dst unsafe.Pointer, nbytes int) error {
	if nbytes > 4*x.n {
		return fmt.Errorf("kernels: copy %d bytes out of a device tensor of shape %v", nbytes, x.shape)
	}
	return x.dev.do(func() error {
		if err := cu.MemcpyDtoHAsync(dst, x.ptr, int64(nbytes), x.dev.stream); err != nil {
			return fmt.Errorf("kernels: download %v: %w", x.shape, err)
		}
		return x.dev.stream.Synchronize()
	})
}

// Download returns x as a new host tensor.
func (x *DeviceTensor) Download() (*tensor.Tensor, error) {
	t := tensor.Zeros(x.shape...)
	if err := x.CopyTo(t.Data()); err != nil {
		return nil, err
	}
	return t, nil
}

// CopyDevice queues a device-to-device copy of src into x (same length).
func (x *DeviceTensor) CopyDevice(src *DeviceTensor) error {
	if src.n != x.n {
		return fmt.Errorf("kernels: copy device tensor %v into %v", src.shape, x.shape)
	}
	if x.n == 0 {
		return nil
	}
	return x.dev.do(func() error {
		if err := cu.MemcpyDtoDAsync(x.ptr, src.ptr, int64(4*x.n), x.dev.stream); err != nil {
			return fmt.Errorf("kernels: device copy %v: %w", x.shape, err)
		}
		return nil
	})
}

// Free returns x's memory to the device's cache (views: no-op). x must not be
// used afterwards; work already queued that reads x is unaffected (stream order).
func (x *DeviceTensor) Free() {
	if x == nil || !x.owner || x.ptr == 0 {
		return
	}
	x.dev.mu.Lock()
	x.dev.alloc.put(x.ptr, x.class)
	x.dev.mu.Unlock()
	x.ptr = 0
}

// Shape returns the dimensions (do not modify).
func (x *DeviceTensor) Shape() []int { return x.shape }

// Len returns the number of elements.
func (x *DeviceTensor) Len() int { return x.n }

// Dim returns dimension i (negative counts from the end).
func (x *DeviceTensor) Dim(i int) int {
	if i < 0 {
		i += len(x.shape)
	}
	return x.shape[i]
}

// Device returns the device holding x.
func (x *DeviceTensor) Device() *Device { return x.dev }

// Reshape returns a view of x with another shape of the same size.
func (x *DeviceTensor) Reshape(shape ...int) *DeviceTensor {
	n := 1
	for _, s := range shape {
		n *= s
	}
	if n != x.n {
		panic(fmt.Sprintf("kernels: reshape %v to %v", x.shape, shape))
	}
	return &DeviceTensor{dev: x.dev, ptr: x.ptr, shape: append([]int(nil), shape...), n: n}
}

// Rows returns a view of rows [lo, hi) along the first axis.
func (x *DeviceTensor) Rows(lo, hi int) *DeviceTensor {
	if len(x.shape) == 0 || lo < 0 || hi > x.shape[0] || lo > hi {
		panic(fmt.Sprintf("kernels: rows [%d, %d) of %v", lo, hi, x.shape))
	}
	per := 1
	if x.shape[0] > 0 {
		per = x.n / x.shape[0]
	}
	shape := append([]int{hi - lo}, x.shape[1:]...)
	return &DeviceTensor{dev: x.dev, ptr: x.ptr + cu.DevicePtr(4*lo*per), shape: shape, n: (hi - lo) * per}
}

// offset returns a flat view of n elements of x starting at element off.
func (x *DeviceTensor) offset(off, n int) *DeviceTensor {
	if off < 0 || n < 0 || off+n > x.n {
		panic(fmt.Sprintf("kernels: view [%d, %d) of %d elements", off, off+n, x.n))
	}
	return &DeviceTensor{dev: x.dev, ptr: x.ptr + cu.DevicePtr(4*off), shape: []int{n}, n: n}
}

// scratchFloats is the scratch buffer a Device allocates when it opens (4
// MB): enough for the split reductions and split-K products of the models at
// batch 256, so that a Capture, which cannot grow it, takes the same path as
// direct launches (graph replays stay bit-identical to them).
const scratchFloats = 1 << 20

// scratchFor returns a view of n floats of the device's scratch buffer (the
// partial results of split reductions and split-K GEMMs; its contents live
// until the next split operation), growing it when needed. A grown-out buffer
// is kept until Close, so graphs captured with it stay valid. Inside a Capture
// it cannot grow and returns nil when too small, as it does when the buffer
// cannot be allocated: the caller then takes its unsplit path.
func (d *Device) scratchFor(n int) *DeviceTensor {
	d.mu.Lock()
	s, capturing := d.scratch, d.capturing
	d.mu.Unlock()
	if s != nil && s.n >= n {
		return s.offset(0, n)
	}
	if capturing {
		return nil
	}
	size := max(n, scratchFloats)
	if s != nil {
		size = max(size, 2*s.n)
	}
	t, err := d.Empty(size)
	if err != nil {
		return nil
	}
	d.mu.Lock()
	if s != nil {
		d.retired = append(d.retired, s)
	}
	d.scratch = t
	d.mu.Unlock()
	return t.offset(0, n)
}
