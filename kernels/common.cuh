// common.cuh - helpers shared by nag's CUDA kernels (included by every .cu file).
//
// Conventions (see kernels/doc.go):
//   * every kernel is extern "C" so its PTX name is the plain function name;
//   * tensors are dense row-major float32; sizes are int (32-bit), scalars float,
//     seeds/offsets unsigned long long;
//   * the Go side passes each argument in an 8-byte slot (gorgonia.org/cu copies
//     8 bytes per argument): int and float values sit in the low 4 bytes.
#pragma once

#define NAG_FULL_MASK 0xffffffffu

// Dynamic shared memory of a kernel (the launcher passes its size). The CPU
// emulator used by the untagged tests (kernels/emu) defines its own version.
#ifndef NAG_DYNAMIC_SHARED
#define NAG_DYNAMIC_SHARED(type, name) extern __shared__ type name[]
#endif

__device__ __forceinline__ float nag_warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(NAG_FULL_MASK, v, o);
  return v;
}

__device__ __forceinline__ double nag_warp_sum_d(double v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(NAG_FULL_MASK, v, o);
  return v;
}

__device__ __forceinline__ float nag_warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(NAG_FULL_MASK, v, o));
  return v;
}

// nag_block_sum reduces v over the whole block (blockDim.x a multiple of 32,
// at most 1024). scratch holds at least 32 floats. Every thread gets the sum.
__device__ __forceinline__ float nag_block_sum(float v, float* scratch) {
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
  v = nag_warp_sum(v);
  __syncthreads();  // scratch may still be read from a previous call
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < nw ? scratch[lane] : 0.f;
  return nag_warp_sum(v);
}

__device__ __forceinline__ double nag_block_sum_d(double v, double* scratch) {
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
  v = nag_warp_sum_d(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < nw ? scratch[lane] : 0.0;
  return nag_warp_sum_d(v);
}

__device__ __forceinline__ float nag_block_max(float v, float* scratch) {
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
  v = nag_warp_max(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < nw ? scratch[lane] : -INFINITY;
  return nag_warp_max(v);
}

// ---- Philox4x32-10 (Salmon et al., SC'11; Random123's constants) ------------------
// Counter c = {c0, c1, c2, c3}, key k = {k0, k1}. Our streams use
//   c = {block lo, block hi, offset lo, offset hi}, k = {seed lo, seed hi}
// where block = element index / 4; the Go reference is kernels.Philox4x32.
struct nag_u4 { unsigned int x, y, z, w; };

__device__ __forceinline__ nag_u4 nag_philox4x32_10(nag_u4 c, unsigned int k0, unsigned int k1) {
  const unsigned int M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
  const unsigned int W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
#pragma unroll
  for (int r = 0; r < 10; r++) {
    unsigned int hi0 = __umulhi(M0, c.x), lo0 = M0 * c.x;
    unsigned int hi1 = __umulhi(M1, c.z), lo1 = M1 * c.z;
    nag_u4 n;
    n.x = hi1 ^ c.y ^ k0;
    n.y = lo1;
    n.z = hi0 ^ c.w ^ k1;
    n.w = lo0;
    c = n;
    k0 += W0;
    k1 += W1;
  }
  return c;
}

__device__ __forceinline__ nag_u4 nag_philox_block(unsigned long long seed, unsigned long long offset,
                                                   unsigned long long block) {
  nag_u4 c;
  c.x = (unsigned int)block;
  c.y = (unsigned int)(block >> 32);
  c.z = (unsigned int)offset;
  c.w = (unsigned int)(offset >> 32);
  return nag_philox4x32_10(c, (unsigned int)seed, (unsigned int)(seed >> 32));
}

// Uniform in (0, 1): the top 23 bits, centred in their interval, i.e.
// (2k+1)·2^-24 for k in [0, 2^23): exact in float32, never 0 or 1 (the Go
// reference PhiloxUniform computes the same value).
__device__ __forceinline__ float nag_u01(unsigned int x) {
  return ((float)(x >> 9) + 0.5f) * (1.0f / 8388608.0f);
}

// Box-Muller pair from two uniforms (float32 logf/sincospif; the Go reference
// uses float64 math, so normals agree to ~1e-6, not bit for bit).
__device__ __forceinline__ void nag_box_muller(unsigned int a, unsigned int b, float* n0, float* n1) {
  float u1 = nag_u01(a), u2 = nag_u01(b);
  float r = sqrtf(-2.0f * logf(u1));
  float s, c;
  sincospif(2.0f * u2, &s, &c);
  *n0 = r * c;
  *n1 = r * s;
}

// nag_normal4 returns the four standard normals of Philox block `block`.
__device__ __forceinline__ void nag_normal4(unsigned long long seed, unsigned long long offset,
                                            unsigned long long block, float z[4]) {
  nag_u4 r = nag_philox_block(seed, offset, block);
  nag_box_muller(r.x, r.y, &z[0], &z[1]);
  nag_box_muller(r.z, r.w, &z[2], &z[3]);
}

// nag_normal_at returns normal number i of the (seed, offset) stream.
__device__ __forceinline__ float nag_normal_at(unsigned long long seed, unsigned long long offset,
                                               long long i) {
  // Only the needed Box-Muller pair, selected without a run-time-indexed array
  // (which would live in local memory).
  nag_u4 r = nag_philox_block(seed, offset, (unsigned long long)(i >> 2));
  float n0, n1;
  if ((i & 3) < 2) nag_box_muller(r.x, r.y, &n0, &n1);
  else nag_box_muller(r.z, r.w, &n0, &n1);
  return (i & 1) ? n1 : n0;
}

// nag_uniform_at returns uniform number i (in (0,1)) of the (seed, offset) stream.
__device__ __forceinline__ float nag_uniform_at(unsigned long long seed, unsigned long long offset,
                                                long long i) {
  nag_u4 r = nag_philox_block(seed, offset, (unsigned long long)(i >> 2));
  unsigned int w = (i & 3) == 0 ? r.x : (i & 3) == 1 ? r.y : (i & 3) == 2 ? r.z : r.w;
  return nag_u01(w);
}
