// cuda_emu.h - a small CPU emulator of the CUDA execution model, enough to run
// nag's kernels (kernels/*.cu) on the host for logic checks without a GPU:
// every block of a launch runs in turn, its threads as std::threads;
// __syncthreads is a block barrier, __shfl_xor_sync exchanges through a
// per-warp buffer with a warp barrier, __shared__ variables are function
// statics (blocks never run concurrently), dynamic shared memory is one static
// pool. Math is the host's libm (not bit-identical to the device), and tensor
// cores (inline PTX) are not modelled. Used by emu_test.cpp (go test ./kernels).
#pragma once
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
};

inline thread_local dim3 threadIdx, blockIdx;
inline dim3 blockDim, gridDim;

// CUDA's integer min/max device functions.
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }

namespace emu {
using Barrier = std::barrier<>;
inline thread_local Barrier* block_bar;
inline thread_local Barrier* warp_bar;
inline thread_local int lane, warp;
inline double xchg[32][32];
alignas(16) inline float dyn_shared[1 << 16];
}  // namespace emu

#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __launch_bounds__(...)
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))
struct alignas(16) float4 {
  float x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }
// A vector load from an address the hardware would fault on stops the test.
#define NAG_EMU_CHECK_ALIGN16(p)                                                        \
  do {                                                                                  \
    if (reinterpret_cast<uintptr_t>(p) % 16 != 0) {                                     \
      fprintf(stderr, "misaligned float4 load at %p (%s:%d)\n", (const void*)(p), __FILE__, \
              __LINE__);                                                                \
      abort();                                                                          \
    }                                                                                   \
  } while (0)
#define NAG_EMU_TF32(x) emu::tf32(x)
#define NAG_EMU_MMA_TF32(acc, a, b) emu::mma_m16n8k8_tf32(acc, a, b)
#define NAG_DYNAMIC_SHARED(type, name) type* name = reinterpret_cast<type*>(emu::dyn_shared)

inline void __syncthreads() { emu::block_bar->arrive_and_wait(); }

template <class T>
inline T __shfl_xor_sync(unsigned, T v, int o) {
  emu::xchg[emu::warp][emu::lane] = (double)v;
  emu::warp_bar->arrive_and_wait();
  T r = (T)emu::xchg[emu::warp][emu::lane ^ o];
  emu::warp_bar->arrive_and_wait();
  return r;
}

inline float atomicAdd(float* p, float v) {
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  float old = *p;
  *p = old + v;
  return old;
}

inline unsigned int __umulhi(unsigned int a, unsigned int b) { return (unsigned int)(((uint64_t)a * b) >> 32); }
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline void sincospif(float x, float* s, float* c) {
  double a = M_PI * (double)x;
  *s = (float)sin(a);
  *c = (float)cos(a);
}

namespace emu {
// tf32 rounds to TF32 like cvt.rna.tf32.f32 (nearest, ties away from zero: keep
// 10 mantissa bits) and returns the bit pattern.
inline unsigned int tf32(float x) {
  unsigned int u;
  memcpy(&u, &x, 4);
  if ((u & 0x7f800000u) != 0x7f800000u) u = (u + 0x1000u) & 0xffffe000u;
  return u;
}
inline float bits2f(unsigned int u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}
struct MmaLane {
  unsigned int a[4], b[2];
};
inline MmaLane mma_buf[32][32];
// mma_m16n8k8_tf32 is mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 for the
// calling warp: every lane publishes its fragments, the full A (16x8) and B
// (8x8) are rebuilt with the PTX ISA layout (g = lane/4, t = lane%4):
//   A: a0 (g, t), a1 (g+8, t), a2 (g, t+4), a3 (g+8, t+4)
//   B: b0 (k=t, n=g), b1 (k=t+4, n=g)
//   C: c0 (g, 2t), c1 (g, 2t+1), c2 (g+8, 2t), c3 (g+8, 2t+1)
inline void mma_m16n8k8_tf32(float* acc, const unsigned int* a, const unsigned int* b) {
  MmaLane* W = mma_buf[warp];
  for (int r = 0; r < 4; r++) W[lane].a[r] = a[r];
  for (int r = 0; r < 2; r++) W[lane].b[r] = b[r];
  warp_bar->arrive_and_wait();
  float A[16][8], B[8][8];
  for (int l = 0; l < 32; l++) {
    int g = l / 4, t = l % 4;
    A[g][t] = bits2f(W[l].a[0]);
    A[g + 8][t] = bits2f(W[l].a[1]);
    A[g][t + 4] = bits2f(W[l].a[2]);
    A[g + 8][t + 4] = bits2f(W[l].a[3]);
    B[t][g] = bits2f(W[l].b[0]);
    B[t + 4][g] = bits2f(W[l].b[1]);
  }
  warp_bar->arrive_and_wait();
  int g = lane / 4, t = lane % 4;
  for (int r = 0; r < 4; r++) {
    int row = g + (r >= 2 ? 8 : 0), col = 2 * t + (r & 1);
    float s = 0;
    for (int k = 0; k < 8; k++) s += A[row][k] * B[k][col];
    acc[r] += s;
  }
}

// launch runs kernel f on grid x block threads (shmem bytes of dynamic shared
// memory). One std::thread per CUDA thread of a block, reused for every block;
// blocks run one after another (a barrier separates them), so __shared__
// statics are private to the running block.
template <class F, class... A>
void launch(dim3 grid, dim3 block, size_t shmem, F f, A... args) {
  if (shmem > sizeof(dyn_shared)) {
    fprintf(stderr, "emu: %zu bytes of dynamic shared memory requested\n", shmem);
    exit(2);
  }
  int nt = block.x * block.y * block.z;
  if (nt > 1024 || nt <= 0) {
    fprintf(stderr, "emu: %d threads per block\n", nt);
    exit(2);
  }
  gridDim = grid;
  blockDim = block;
  int nb = grid.x * grid.y * grid.z, nw = (nt + 31) / 32;
  std::vector<std::unique_ptr<Barrier>> bars;
  std::vector<std::unique_ptr<Barrier>> wbars;  // nb * nw
  for (int b = 0; b < nb; b++) {
    bars.emplace_back(new Barrier(nt));
    for (int w = 0; w < nw; w++) wbars.emplace_back(new Barrier(std::min(32, nt - 32 * w)));
  }
  Barrier between(nt);
  std::vector<std::thread> th;
  th.reserve(nt);
  for (int t = 0; t < nt; t++) {
    th.emplace_back([&, t] {
      threadIdx = dim3{t % block.x, (t / block.x) % block.y, t / (block.x * block.y)};
      lane = t % 32;
      warp = t / 32;
      for (int b = 0; b < nb; b++) {
        blockIdx = dim3{b % grid.x, (b / grid.x) % grid.y, b / (grid.x * grid.y)};
        block_bar = bars[b].get();
        warp_bar = wbars[b * nw + warp].get();
        f(args...);
        // An exited thread no longer takes part in this block's barriers.
        warp_bar->arrive_and_drop();
        block_bar->arrive_and_drop();
        between.arrive_and_wait();
      }
    });
  }
  for (auto& x : th) x.join();
}
}  // namespace emu
