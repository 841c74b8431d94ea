//go:build cuda

package kernels

import (
	"fmt"
	"math"
	"math/bits"

	"gorgonia.org/cu"
)

func mathFloat32bits(f float32) uint32 { return math.Float32bits(f) }

// minClass is the smallest size class: 2^minClass bytes (256 B, the CUDA
// allocation granularity that keeps every buffer 256-byte aligned).
const minClass = 8

// allocator is a caching device allocator with power-of-two size classes.
// Freed buffers go to their class's free list and are reused by later
// allocations of the same class, so a training or sampling loop that allocates
// the same shapes every step calls cuMemAlloc only during its first step.
// Reuse is safe without events because all work is ordered on the device's
// single stream: a buffer freed after a kernel was queued is only rewritten by
// work queued later. It is used under Device.mu (Device.do).
type allocator struct {
	free  map[uint][]cu.DevicePtr
	stats AllocStats
}

// AllocStats counts allocator activity.
type AllocStats struct {
	DriverAllocs int64 // cuMemAlloc calls
	CacheHits    int64 // allocations served from a free list
	LiveBytes    int64 // bytes handed out and not yet freed (class sizes)
	CachedBytes  int64 // bytes held in free lists
}

func newAllocator() *allocator { return &allocator{free: map[uint][]cu.DevicePtr{}} }

// sizeClass returns the class c with 2^c >= bytes.
func sizeClass(bytes int64) uint {
	if bytes <= 1<<minClass {
		return minClass
	}
	return uint(bits.Len64(uint64(bytes - 1)))
}

// get returns a buffer of at least bytes bytes and its class. Call under do.
func (a *allocator) get(bytes int64) (cu.DevicePtr, uint, error) {
	c := sizeClass(bytes)
	size := int64(1) << c
	if l := a.free[c]; len(l) > 0 {
		p := l[len(l)-1]
		a.free[c] = l[:len(l)-1]
		a.stats.CacheHits++
		a.stats.CachedBytes -= size
		a.stats.LiveBytes += size
		return p, c, nil
	}
	p, err := cu.MemAlloc(size)
	if err != nil {
		// Out of memory: give the cache back to the driver and retry once.
		if a.stats.CachedBytes > 0 {
			if e := a.trim(); e == nil {
				p, err = cu.MemAlloc(size)
			}
		}
		if err != nil {
			return 0, 0, fmt.Errorf("kernels: cuMemAlloc(%d bytes): %w", size, err)
		}
	}
	a.stats.DriverAllocs++
	a.stats.LiveBytes += size
	return p, c, nil
}

// put returns a buffer to its free list. Call under do.
func (a *allocator) put(p cu.DevicePtr, c uint) {
	a.free[c] = append(a.free[c], p)
	size := int64(1) << c
	a.stats.LiveBytes -= size
	a.stats.CachedBytes += size
}

// trim frees every cached buffer. Call under do with the stream idle.
func (a *allocator) trim() error {
	var first error
	for c, l := range a.free {
		for _, p := range l {
			if err := cu.MemFree(p); err != nil && first == nil {
				first = err
			}
		}
		a.stats.CachedBytes -= int64(len(l)) << c
		delete(a.free, c)
	}
	return first
}

// releaseAll frees the cache (live buffers are freed by their owners or with
// the context).
func (a *allocator) releaseAll() error { return a.trim() }

// AllocStats returns the allocator's counters.
func (d *Device) AllocStats() AllocStats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.alloc.stats
}

// TrimCache waits for the stream and returns all cached (free) device memory
// to the driver.
func (d *Device) TrimCache() error {
	return d.do(func() error {
		if err := d.stream.Synchronize(); err != nil {
			return fmt.Errorf("kernels: trim: %w", err)
		}
		return d.alloc.trim()
	})
}
