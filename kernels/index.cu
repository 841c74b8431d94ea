// index.cu - data movement for the device-resident models: strided 2-D copies
// (concatenation and slicing along the last axis, and their backward), row
// gathers (embedding lookup, index_select along the first axis) and the
// scatter-add that is their backward. Row indices are passed as float32
// values in a device tensor (exact for indices below 2^24).
#include "common.cuh"

// dst[r*dstLd + dstOff + c] = src[r*srcLd + srcOff + c] for r < rows, c < cols.
extern "C" __global__ void copy2d(int rows, int cols, const float* __restrict__ src, int srcLd, int srcOff,
                                  float* __restrict__ dst, int dstLd, int dstOff) {
  long long n = (long long)rows * cols;
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
    long long r = i / cols;
    int c = (int)(i - r * cols);
    dst[r * dstLd + dstOff + c] = src[r * srcLd + srcOff + c];
  }
}

// out[i, c] = table[idx[i], c] for i < n, c < cols (table [V, cols]). An index
// outside [0, V) writes zeros (the Go launcher validates indices it uploads).
extern "C" __global__ void gather_rows(int n, int cols, int V, const float* __restrict__ table,
                                       const float* __restrict__ idx, float* __restrict__ out) {
  long long tot = (long long)n * cols;
  for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < tot; e += (long long)gridDim.x * blockDim.x) {
    long long i = e / cols;
    int c = (int)(e - i * cols);
    int row = (int)idx[i];
    out[e] = (row >= 0 && row < V) ? table[(long long)row * cols + c] : 0.f;
  }
}

// dtable[idx[i], c] += g[i, c] (atomic: repeated indices accumulate).
extern "C" __global__ void scatter_add_rows(int n, int cols, int V, const float* __restrict__ g,
                                            const float* __restrict__ idx, float* __restrict__ dtable) {
  long long tot = (long long)n * cols;
  for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < tot; e += (long long)gridDim.x * blockDim.x) {
    long long i = e / cols;
    int c = (int)(e - i * cols);
    int row = (int)idx[i];
    if (row >= 0 && row < V) atomicAdd(&dtable[(long long)row * cols + c], g[e]);
  }
}

// heads_permute moves C stacked multi-head projections between the packed row
// layout of a Linear layer and the per-head layout of the attention kernels.
// Packed: row b*N+i, column c*H*D + h*D + e of a [B*N, C*H*D] matrix (q, k, v
// side by side when C = 3). Per head: C consecutive [B, H, N, D] tensors.
// merge = 0 reads packed and writes per-head (split); merge = 1 the inverse.
extern "C" __global__ void heads_permute(int B, int N, int C, int H, int D, int merge,
                                         const float* __restrict__ src, float* __restrict__ dst) {
  long long per = (long long)B * H * N * D, tot = per * C;
  for (long long j = (long long)blockIdx.x * blockDim.x + threadIdx.x; j < tot; j += (long long)gridDim.x * blockDim.x) {
    // j indexes the per-head layout [C][B][H][N][D].
    long long r = j;
    int e = (int)(r % D);
    r /= D;
    int i = (int)(r % N);
    r /= N;
    int h = (int)(r % H);
    r /= H;
    int b = (int)(r % B);
    int c = (int)(r / B);
    long long p = ((long long)b * N + i) * ((long long)C * H * D) + (long long)c * H * D + (long long)h * D + e;
    if (merge) dst[p] = src[j];
    else dst[j] = src[p];
  }
}
