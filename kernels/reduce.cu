// reduce.cu - reductions: along the last axis (one warp per row), along a middle
// axis of an [outer, n, inner] view (sum over rows for bias gradients, mean over
// graph nodes), and softmax / log-softmax with their backward.
#include "common.cuh"

#define NAG_R_SUM 0
#define NAG_R_MEAN 1
#define NAG_R_MAX 2

// out[r] = reduce_c x[r, c]. One warp per row; blockDim.x = 32*warpsPerBlock.
extern "C" __global__ void reduce_last(int op, int rows, int cols, const float* __restrict__ x,
                                       float* __restrict__ out) {
  int warp = (blockIdx.x * blockDim.x + threadIdx.x) >> 5, lane = threadIdx.x & 31;
  if (warp >= rows) return;
  const float* row = x + (long long)warp * cols;
  if (op == NAG_R_MAX) {
    float m = -INFINITY;
    for (int c = lane; c < cols; c += 32) m = fmaxf(m, row[c]);
    m = nag_warp_max(m);
    if (lane == 0) out[warp] = m;
    return;
  }
  float s = 0.f;
  for (int c = lane; c < cols; c += 32) s += row[c];
  s = nag_warp_sum(s);
  if (lane == 0) out[warp] = op == NAG_R_MEAN ? s / (float)cols : s;
}

// out[o, j] = reduce_i x[o, i, j] over an [outer, n, inner] view. Grid:
// (ceil(inner/32), outer); block (32, 8): threadIdx.y strides over i, then a
// shared-memory reduction over the 8 partial results.
extern "C" __global__ void reduce_mid(int op, int outer, int n, int inner, const float* __restrict__ x,
                                      float* __restrict__ out) {
  __shared__ float part[8][33];
  int j = blockIdx.x * 32 + threadIdx.x, o = blockIdx.y;
  float acc = op == NAG_R_MAX ? -INFINITY : 0.f;
  if (j < inner) {
    const float* base = x + (long long)o * n * inner + j;
    for (int i = threadIdx.y; i < n; i += blockDim.y) {
      float v = base[(long long)i * inner];
      acc = op == NAG_R_MAX ? fmaxf(acc, v) : acc + v;
    }
  }
  part[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && j < inner) {
    for (int k = 1; k < (int)blockDim.y; k++) acc = op == NAG_R_MAX ? fmaxf(acc, part[k][threadIdx.x]) : acc + part[k][threadIdx.x];
    out[(long long)o * inner + j] = op == NAG_R_MEAN ? acc / (float)n : acc;
  }
}

// Softmax (logOut = 0) or log-softmax (logOut = 1) along the last axis: one warp per
// row, numerically stable (max subtracted).
extern "C" __global__ void softmax_last(int rows, int cols, int logOut, const float* __restrict__ x,
                                        float* __restrict__ out) {
  int warp = (blockIdx.x * blockDim.x + threadIdx.x) >> 5, lane = threadIdx.x & 31;
  if (warp >= rows) return;
  const float* row = x + (long long)warp * cols;
  float* o = out + (long long)warp * cols;
  float m = -INFINITY;
  for (int c = lane; c < cols; c += 32) m = fmaxf(m, row[c]);
  m = nag_warp_max(m);
  float s = 0.f;
  for (int c = lane; c < cols; c += 32) s += expf(row[c] - m);
  s = nag_warp_sum(s);
  if (logOut) {
    float ls = logf(s);
    for (int c = lane; c < cols; c += 32) o[c] = row[c] - m - ls;
  } else {
    float inv = 1.0f / s;
    for (int c = lane; c < cols; c += 32) o[c] = expf(row[c] - m) * inv;
  }
}

// Backward of softmax_last given its output y and the upstream gradient g:
//   softmax:     dx = y * (g - sum(g*y))
//   log-softmax: dx = g - exp(y) * sum(g)
extern "C" __global__ void softmax_last_grad(int rows, int cols, int logOut, const float* __restrict__ y,
                                             const float* __restrict__ g, float* __restrict__ dx) {
  int warp = (blockIdx.x * blockDim.x + threadIdx.x) >> 5, lane = threadIdx.x & 31;
  if (warp >= rows) return;
  long long off = (long long)warp * cols;
  float s = 0.f;
  for (int c = lane; c < cols; c += 32) s += logOut ? g[off + c] : g[off + c] * y[off + c];
  s = nag_warp_sum(s);
  for (int c = lane; c < cols; c += 32) {
    float yy = y[off + c], gg = g[off + c];
    dx[off + c] = logOut ? gg - expf(yy) * s : yy * (gg - s);
  }
}
