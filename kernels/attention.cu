// attention.cu - fused masked multi-head attention for batches of tiny graphs
// (N <= 32 nodes, head width D <= 64), one block per graph. Semantics of
// tensor.MaskedAttention: scores = scale·QKᵀ; where mask == 0 the score is
// replaced by -1e9 (so a fully masked row attends uniformly); softmax over keys;
// out = P·V. q, k, v, out are dense [B, H, N, D]; probs [B, H, N, N]; mask is
// null or 0/1 [N, N] per graph at mask + b*maskStride (maskStride 0 = shared).
// No attention dropout (the device path is for inference and dropout-free
// training; see doc.go).
//
// Dynamic shared memory (bytes), set by the launcher:
//   fwd: 4·(3·H·N·D + H·N·N)      bwd: 4·(4·H·N·D + 2·H·N·N)
#include "common.cuh"

#define NAG_MASKED_SCORE (-1e9f)

extern "C" __global__ void attn_fwd(int B, int H, int N, int D, float scale, const float* __restrict__ q,
                                    const float* __restrict__ k, const float* __restrict__ v,
                                    const float* __restrict__ mask, int maskStride, float* __restrict__ out,
                                    float* __restrict__ probs) {
  NAG_DYNAMIC_SHARED(float, sm);
  int b = blockIdx.x, hnd = H * N * D;
  float *sq = sm, *sk = sq + hnd, *sv = sk + hnd, *sp = sv + hnd;
  long long base = (long long)b * hnd;
  for (int e = threadIdx.x; e < hnd; e += blockDim.x) {
    sq[e] = q[base + e];
    sk[e] = k[base + e];
    sv[e] = v[base + e];
  }
  __syncthreads();
  const float* m = mask ? mask + (long long)b * maskStride : 0;
  for (int r = threadIdx.x; r < H * N; r += blockDim.x) {
    int h = r / N, i = r % N;
    const float* qi = sq + (h * N + i) * D;
    float* p = sp + r * N;
    float mx = -INFINITY;
    for (int j = 0; j < N; j++) {
      const float* kj = sk + (h * N + j) * D;
      float s = 0.f;
      for (int d = 0; d < D; d++) s += qi[d] * kj[d];
      s *= scale;
      if (m && m[i * N + j] == 0.f) s = NAG_MASKED_SCORE;
      p[j] = s;
      mx = fmaxf(mx, s);
    }
    float sum = 0.f;
    for (int j = 0; j < N; j++) {
      float e = expf(p[j] - mx);
      p[j] = e;
      sum += e;
    }
    float inv = 1.0f / sum;
    float* prow = probs + ((long long)b * H * N + r) * N;
    for (int j = 0; j < N; j++) {
      p[j] *= inv;
      prow[j] = p[j];
    }
    float* o = out + base + (h * N + i) * D;
    for (int d = 0; d < D; d++) {
      float acc = 0.f;
      for (int j = 0; j < N; j++) acc += p[j] * sv[(h * N + j) * D + d];
      o[d] = acc;
    }
  }
}

// Backward given the upstream gradient gout [B, H, N, D] and the forward probs:
//   dV_j = Σ_i p_ij dO_i,  dP_ij = dO_i·v_j,  dS_ij = p_ij (dP_ij − Σ_k p_ik dP_ik)
//   (dS = 0 where masked: masked scores are constants),
//   dQ_i = scale Σ_j dS_ij k_j,  dK_j = scale Σ_i dS_ij q_i.
// dq, dk, dv may each be null (not wanted); they are overwritten, not accumulated.
extern "C" __global__ void attn_bwd(int B, int H, int N, int D, float scale, const float* __restrict__ q,
                                    const float* __restrict__ k, const float* __restrict__ v,
                                    const float* __restrict__ mask, int maskStride, const float* __restrict__ probs,
                                    const float* __restrict__ gout, float* __restrict__ dq, float* __restrict__ dk,
                                    float* __restrict__ dv) {
  NAG_DYNAMIC_SHARED(float, sm);
  int b = blockIdx.x, hnd = H * N * D, hnn = H * N * N;
  float *sq = sm, *sk = sq + hnd, *sv = sk + hnd, *sg = sv + hnd, *sp = sg + hnd, *ss = sp + hnn;
  long long base = (long long)b * hnd;
  for (int e = threadIdx.x; e < hnd; e += blockDim.x) {
    sq[e] = q[base + e];
    sk[e] = k[base + e];
    sv[e] = v[base + e];
    sg[e] = gout[base + e];
  }
  for (int e = threadIdx.x; e < hnn; e += blockDim.x) sp[e] = probs[(long long)b * hnn + e];
  __syncthreads();
  const float* m = mask ? mask + (long long)b * maskStride : 0;
  // dS rows, one thread per (h, i).
  for (int r = threadIdx.x; r < H * N; r += blockDim.x) {
    int h = r / N, i = r % N;
    const float* gi = sg + (h * N + i) * D;
    float* s = ss + r * N;
    const float* p = sp + r * N;
    float dot = 0.f;
    for (int j = 0; j < N; j++) {
      const float* vj = sv + (h * N + j) * D;
      float dp = 0.f;
      for (int d = 0; d < D; d++) dp += gi[d] * vj[d];
      s[j] = dp;
      dot += p[j] * dp;
    }
    for (int j = 0; j < N; j++) {
      float ds = p[j] * (s[j] - dot);
      if (m && m[i * N + j] == 0.f) ds = 0.f;
      s[j] = ds;
    }
  }
  __syncthreads();
  for (int r = threadIdx.x; r < H * N; r += blockDim.x) {
    int h = r / N, i = r % N;  // i is the query row for dQ and the key row for dK/dV
    for (int d = 0; d < D; d++) {
      float aq = 0.f, ak = 0.f, av = 0.f;
      for (int j = 0; j < N; j++) {
        aq += ss[(h * N + i) * N + j] * sk[(h * N + j) * D + d];
        ak += ss[(h * N + j) * N + i] * sq[(h * N + j) * D + d];
        av += sp[(h * N + j) * N + i] * sg[(h * N + j) * D + d];
      }
      long long o = base + (h * N + i) * D + d;
      if (dq) dq[o] = scale * aq;
      if (dk) dk[o] = scale * ak;
      if (dv) dv[o] = av;
    }
  }
}
