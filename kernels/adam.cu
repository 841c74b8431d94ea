// adam.cu - fused Adam (+ EMA) update, the semantics of autograd/optim.Adam.StepEMA
// (torch.optim.Adam with L2 weight decay and bias correction; EMA shadow
// s -= (1-decay)·(s - p)). The host computes the per-step scalars exactly as
// optim does (in float64, then rounded to float32):
//   stepSize = lr/(1-β1^t), bc2Sqrt = √(1-β2^t), w1 = 1-β1, b2 = β2, w2 = 1-β2,
//   emaRate = 1 - decay_t.
// Per element, with g = grad + wd·p:
//   m = m + w1·(g - m);  v = b2·v + w2·g²;  p -= stepSize·m/(√v/bc2Sqrt + eps)
// shadow may be null (no EMA). All parameters of a model can live in one flat
// buffer so a whole optimiser step is one launch.
#include "common.cuh"

extern "C" __global__ void adam_ema(int n, float* __restrict__ p, const float* __restrict__ g,
                                    float* __restrict__ m, float* __restrict__ v, float* __restrict__ shadow,
                                    float stepSize, float bc2Sqrt, float w1, float b2, float w2, float eps, float wd,
                                    float emaRate) {
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
    float pj = p[i], gj = g[i];
    if (wd != 0.f) gj += wd * pj;
    float mj = m[i] + w1 * (gj - m[i]);
    float vj = v[i] * b2 + w2 * gj * gj;
    m[i] = mj;
    v[i] = vj;
    pj = pj - stepSize * (mj / (sqrtf(vj) / bc2Sqrt + eps));
    p[i] = pj;
    if (shadow) shadow[i] -= emaRate * (shadow[i] - pj);
  }
}
