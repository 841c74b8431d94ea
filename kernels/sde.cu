// sde.cu - device random numbers (counter-based Philox4x32-10, see common.cuh)
// and the reverse-SDE update steps of package sde, with the Gaussian noise
// generated in the kernel from (seed, offset): normal number i of a step is
// nag_normal_at(seed, offset, i), so a step needs no noise buffer and any
// element's noise can be recomputed (kernels.NormalsRef is the Go reference).
#include "common.cuh"

// out[4j..4j+3] = Philox4x32-10 words of block j (counter {j, offset}, key seed).
extern "C" __global__ void philox_raw(int nblocks, unsigned long long seed, unsigned long long offset,
                                      unsigned int* __restrict__ out) {
  for (long long j = (long long)blockIdx.x * blockDim.x + threadIdx.x; j < nblocks;
       j += (long long)gridDim.x * blockDim.x) {
    nag_u4 r = nag_philox_block(seed, offset, (unsigned long long)j);
    out[4 * j] = r.x;
    out[4 * j + 1] = r.y;
    out[4 * j + 2] = r.z;
    out[4 * j + 3] = r.w;
  }
}

// out[i] = mean + std·z_i, z_i the i-th standard normal of the (seed, offset) stream.
extern "C" __global__ void philox_normal(int n, unsigned long long seed, unsigned long long offset, float mean,
                                         float std, float* __restrict__ out) {
  int nb = (n + 3) / 4;
  for (long long j = (long long)blockIdx.x * blockDim.x + threadIdx.x; j < nb;
       j += (long long)gridDim.x * blockDim.x) {
    float z[4];
    nag_normal4(seed, offset, (unsigned long long)j, z);
#pragma unroll
    for (int r = 0; r < 4; r++) {
      long long i = 4 * j + r;
      if (i < n) out[i] = mean + std * z[r];
    }
  }
}

// Euler–Maruyama predictor (and reverse-diffusion predictor, same form):
//   xmean = ca·x + cs·score;  x = xmean + nz·z
// with (package sde) ca = 1 − a·dt, cs = g²·dt, nz = g·√dt for E–M, or
// ca = 1 − f, cs = G², nz = G for reverse diffusion. xmean may be null.
extern "C" __global__ void sde_predictor(int n, float ca, float cs, float nz, unsigned long long seed,
                                         unsigned long long offset, float* __restrict__ x,
                                         const float* __restrict__ score, float* __restrict__ xmean) {
  int nb = (n + 3) / 4;
  for (long long j = (long long)blockIdx.x * blockDim.x + threadIdx.x; j < nb;
       j += (long long)gridDim.x * blockDim.x) {
    float z[4];
    nag_normal4(seed, offset, (unsigned long long)j, z);
#pragma unroll
    for (int r = 0; r < 4; r++) {
      long long i = 4 * j + r;
      if (i < n) {
        float m = ca * x[i] + cs * score[i];
        if (xmean) xmean[i] = m;
        x[i] = m + nz * z[r];
      }
    }
  }
}

// Langevin corrector, part 1: per-sample norms of the score and of the noise,
// norms[b] = ‖grad_b‖, norms[B + b] = ‖z_b‖ (float64 accumulation, as package
// sde). One block per sample b; a sample is `per` consecutive elements.
extern "C" __global__ void langevin_norms(int B, int per, const float* __restrict__ grad, unsigned long long seed,
                                          unsigned long long offset, float* __restrict__ norms) {
  __shared__ double scratch[32];
  int b = blockIdx.x;
  long long lo = (long long)b * per;
  double g2 = 0.0, z2 = 0.0;
  for (int e = threadIdx.x; e < per; e += blockDim.x) {
    double g = grad[lo + e];
    double z = nag_normal_at(seed, offset, lo + e);
    g2 += g * g;
    z2 += z * z;
  }
  g2 = nag_block_sum_d(g2, scratch);
  z2 = nag_block_sum_d(z2, scratch);
  if (threadIdx.x == 0) {
    norms[b] = (float)sqrt(g2);
    norms[B + b] = (float)sqrt(z2);
  }
}

// Langevin corrector, part 2: with ḡ = mean_b ‖grad_b‖, n̄ = mean_b ‖z_b‖,
// step = 2·alpha·(snr·n̄/ḡ)² (0 when ḡ = 0),
//   xmean = x + step·grad;  x = xmean + √(2·step)·z.
// Every block recomputes the batch means (B is small) so no grid-wide sync is
// needed; block 0 stores step and ḡ in info[0], info[1] (info may be null) so
// the host can check for NaN at the end of sampling. xmean may be null.
extern "C" __global__ void langevin_update(int B, int per, float snr, float alpha, const float* __restrict__ norms,
                                           const float* __restrict__ grad, unsigned long long seed,
                                           unsigned long long offset, float* __restrict__ x,
                                           float* __restrict__ xmean, float* __restrict__ info) {
  __shared__ double scratch[32];
  __shared__ float sstep[2];
  double gs = 0.0, ns = 0.0;
  for (int b = threadIdx.x; b < B; b += blockDim.x) {
    gs += norms[b];
    ns += norms[B + b];
  }
  gs = nag_block_sum_d(gs, scratch);
  ns = nag_block_sum_d(ns, scratch);
  if (threadIdx.x == 0) {
    double gn = gs / B, nn = ns / B, step = 0.0;
    if (gn > 0.0) {
      double r = (double)snr * nn / gn;
      step = 2.0 * (double)alpha * r * r;
    }
    sstep[0] = (float)step;
    sstep[1] = (float)sqrt(2.0 * step);
    if (info && blockIdx.x == 0) {
      info[0] = (float)step;
      info[1] = (float)gn;
    }
  }
  __syncthreads();
  float sf = sstep[0], nf = sstep[1];
  long long n = (long long)B * per;
  long long nb = (n + 3) / 4;
  for (long long j = (long long)blockIdx.x * blockDim.x + threadIdx.x; j < nb;
       j += (long long)gridDim.x * blockDim.x) {
    float z[4];
    nag_normal4(seed, offset, (unsigned long long)j, z);
#pragma unroll
    for (int r = 0; r < 4; r++) {
      long long i = 4 * j + r;
      if (i < n) {
        float m = x[i] + sf * grad[i];
        if (xmean) xmean[i] = m;
        x[i] = m + nf * z[r];
      }
    }
  }
}
