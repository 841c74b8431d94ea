// reduce.cu - reductions: along the last axis (one warp per row), along a middle
// axis of an [outer, n, inner] view (sum over rows for bias gradients, mean over
// graph nodes), and softmax / log-softmax with their backward.
#include "activation.cuh"
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
// (ceil(inner/32), outer, parts); block (32, 8): threadIdx.y strides over the
// rows i of this block's part [z*chunk, min(n, (z+1)*chunk)), then a
// shared-memory reduction over the 8 partial results. With parts > 1 (split
// over rows when too few blocks cover [outer, inner]) part z writes
// out[z, o, j] and reduce_parts finishes; MEAN divides by n only unsplit
// (the caller passes SUM for the parts).
extern "C" __global__ void reduce_mid(int op, int outer, int n, int inner, int chunk, const float* __restrict__ x,
                                      float* __restrict__ out) {
  __shared__ float part[8][33];
  int j = blockIdx.x * 32 + threadIdx.x, o = blockIdx.y, z = blockIdx.z;
  int lo = z * chunk, hi = min(n, lo + chunk);
  float acc = op == NAG_R_MAX ? -INFINITY : 0.f;
  if (j < inner) {
    const float* base = x + (long long)o * n * inner + j;
    for (int i = lo + threadIdx.y; i < hi; i += blockDim.y) {
      float v = base[(long long)i * inner];
      acc = op == NAG_R_MAX ? fmaxf(acc, v) : acc + v;
    }
  }
  part[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && j < inner) {
    for (int k = 1; k < (int)blockDim.y; k++) acc = op == NAG_R_MAX ? fmaxf(acc, part[k][threadIdx.x]) : acc + part[k][threadIdx.x];
    out[((long long)z * outer + o) * inner + j] = op == NAG_R_MEAN ? acc / (float)n : acc;
  }
}

// Finishes a reduction split into parts: for i < rows*cols,
//   y = alpha * reduce_z part[z*rows*cols + i]   (z = 0..parts-1 in order)
//   y += beta * out[r*ldo + c]                    (out not read when beta = 0)
//   y += bias[c]; y = act(y)                      (bias may be null; act -1: none)
//   out[r*ldo + c] = y
// with r, c = i / cols, i % cols; reduce is a sum (op SUM) or a max (op MAX).
// The sum of split-K GEMM slices, with the GEMM epilogue in the same order as
// the GEMM kernels apply it, and of row-split column reductions. 1-D
// grid-stride loop.
extern "C" __global__ void reduce_parts(int op, int parts, int rows, int cols, float alpha,
                                        const float* __restrict__ part, float beta, float* __restrict__ out,
                                        int ldo, const float* __restrict__ bias, int act, float actp) {
  long long total = (long long)rows * cols;
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total;
       i += (long long)gridDim.x * blockDim.x) {
    float acc = op == NAG_R_MAX ? -INFINITY : 0.f;
    for (int z = 0; z < parts; z++) {
      float v = part[(long long)z * total + i];
      acc = op == NAG_R_MAX ? fmaxf(acc, v) : acc + v;
    }
    long long r = i / cols, c = i - r * cols;
    float* o = out + r * ldo + c;
    float y = alpha * acc;
    if (beta != 0.f) y += beta * *o;
    if (bias) y += bias[c];
    if (act >= 0) y = nag_un(act, y, actp);
    *o = y;
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
