// layernorm.cu - LayerNorm over the last axis (PyTorch semantics: biased variance,
// eps inside the square root), forward and backward. Matches tensor.LayerNorm /
// tensor.LayerNormBackward, including the saved per-row mean and rstd.
#include "common.cuh"

// One warp per row. gamma/beta may be null. Two passes over the row (mean, then
// centred variance) as the CPU reference, so no E[x²]-E[x]² cancellation.
extern "C" __global__ void layernorm_fwd(int rows, int d, const float* __restrict__ x,
                                         const float* __restrict__ gamma, const float* __restrict__ beta, float eps,
                                         float* __restrict__ out, float* __restrict__ mean, float* __restrict__ rstd) {
  int warp = (blockIdx.x * blockDim.x + threadIdx.x) >> 5, lane = threadIdx.x & 31;
  if (warp >= rows) return;
  const float* row = x + (long long)warp * d;
  float* o = out + (long long)warp * d;
  float s = 0.f;
  for (int c = lane; c < d; c += 32) s += row[c];
  float mu = nag_warp_sum(s) / (float)d;
  float v = 0.f;
  for (int c = lane; c < d; c += 32) {
    float t = row[c] - mu;
    v += t * t;
  }
  float rs = rsqrtf(nag_warp_sum(v) / (float)d + eps);
  for (int c = lane; c < d; c += 32) {
    float y = (row[c] - mu) * rs;
    if (gamma) y *= gamma[c];
    if (beta) y += beta[c];
    o[c] = y;
  }
  if (lane == 0) {
    if (mean) mean[warp] = mu;
    if (rstd) rstd[warp] = rs;
  }
}

// dx = rstd * (ĝ - mean(ĝ) - x̂*mean(ĝ*x̂)) with x̂ = (x-μ)*rstd, ĝ = gout*γ.
// One warp per row; gamma may be null.
extern "C" __global__ void layernorm_bwd_dx(int rows, int d, const float* __restrict__ gout,
                                            const float* __restrict__ x, const float* __restrict__ gamma,
                                            const float* __restrict__ mean, const float* __restrict__ rstd,
                                            float* __restrict__ dx) {
  int warp = (blockIdx.x * blockDim.x + threadIdx.x) >> 5, lane = threadIdx.x & 31;
  if (warp >= rows) return;
  long long off = (long long)warp * d;
  float mu = mean[warp], rs = rstd[warp];
  float s1 = 0.f, s2 = 0.f;
  for (int c = lane; c < d; c += 32) {
    float gh = gout[off + c] * (gamma ? gamma[c] : 1.f);
    s1 += gh;
    s2 += gh * (x[off + c] - mu) * rs;
  }
  s1 = nag_warp_sum(s1) / (float)d;
  s2 = nag_warp_sum(s2) / (float)d;
  for (int c = lane; c < d; c += 32) {
    float gh = gout[off + c] * (gamma ? gamma[c] : 1.f);
    float xh = (x[off + c] - mu) * rs;
    dx[off + c] = rs * (gh - s1 - xh * s2);
  }
}

// dgamma[c] = Σ_r gout[r,c]·x̂[r,c], dbeta[c] = Σ_r gout[r,c]. Grid
// (ceil(d/32), parts) blocks of (32, 8) threads; block y sums the rows
// [y*chunk, min(rows, (y+1)*chunk)) of its 32 columns (split over threadIdx.y,
// reduced in shared memory) into dgamma[y*d + c] and dbeta[y*d + c]: with
// parts > 1 these are partial sums that reduce_parts adds up. Either output
// may be null.
extern "C" __global__ void layernorm_bwd_affine(int rows, int d, int chunk, const float* __restrict__ gout,
                                                const float* __restrict__ x, const float* __restrict__ mean,
                                                const float* __restrict__ rstd, float* __restrict__ dgamma,
                                                float* __restrict__ dbeta) {
  __shared__ float pg[8][33], pb[8][33];
  int c = blockIdx.x * 32 + threadIdx.x;
  int lo = blockIdx.y * chunk, hi = min(rows, lo + chunk);
  float ag = 0.f, ab = 0.f;
  if (c < d) {
    for (int r = lo + threadIdx.y; r < hi; r += blockDim.y) {
      long long i = (long long)r * d + c;
      float g = gout[i];
      ag += g * (x[i] - mean[r]) * rstd[r];
      ab += g;
    }
  }
  pg[threadIdx.y][threadIdx.x] = ag;
  pb[threadIdx.y][threadIdx.x] = ab;
  __syncthreads();
  if (threadIdx.y == 0 && c < d) {
    for (int k = 1; k < (int)blockDim.y; k++) {
      ag += pg[k][threadIdx.x];
      ab += pb[k][threadIdx.x];
    }
    long long o = (long long)blockIdx.y * d + c;
    if (dgamma) dgamma[o] = ag;
    if (dbeta) dbeta[o] = ab;
  }
}
