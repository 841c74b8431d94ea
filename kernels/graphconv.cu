// graphconv.cu - batched graph convolution over one small fixed adjacency
// (N <= 32 nodes: 8 for NB201, 20 for MobileNetV3), the Â·H products of the
// predictor's DiGCN layers:
//
//   out = (ReLU(Â·H·W1ᵀ) + ReLU(Âᵀₙ·H·W2ᵀ)) / 2
//
// The node mixing (Â·H, Âᵀₙ·H for every graph in the batch) is graph_adj2, the
// two weight products are ordinary GEMMs over B·N rows, and the ReLU/average
// epilogue is digcn_combine. Backward: digcn_combine_bwd, GEMMs, then
// graph_adj2_sum with trans = 1 (dH = Âᵀ·dP1 + (Âᵀₙ)ᵀ·dP2).
#include "common.cuh"

#define NAG_MAXN 32

// out1[b] = op(A1)·H[b], out2[b] = op(A2)·H[b] for H [B, N, C]; op(A) = A or Aᵀ
// (trans), A1/A2 [N, N]. A2/out2 may be null. One block per graph.
extern "C" __global__ void graph_adj2(int B, int N, int C, int trans, const float* __restrict__ A1,
                                      const float* __restrict__ A2, const float* __restrict__ H,
                                      float* __restrict__ out1, float* __restrict__ out2) {
  __shared__ float a1[NAG_MAXN * NAG_MAXN], a2[NAG_MAXN * NAG_MAXN];
  int b = blockIdx.x;
  for (int e = threadIdx.x; e < N * N; e += blockDim.x) {
    int i = e / N, j = e % N;
    int src = trans ? j * N + i : e;
    a1[i * N + j] = A1[src];
    a2[i * N + j] = A2 ? A2[src] : 0.f;
  }
  __syncthreads();
  const float* h = H + (long long)b * N * C;
  long long off = (long long)b * N * C;
  for (int e = threadIdx.x; e < N * C; e += blockDim.x) {
    int i = e / C, c = e % C;
    float s1 = 0.f, s2 = 0.f;
    for (int j = 0; j < N; j++) {
      float hv = h[j * C + c];
      s1 += a1[i * N + j] * hv;
      s2 += a2[i * N + j] * hv;
    }
    out1[off + e] = s1;
    if (out2) out2[off + e] = s2;
  }
}

// out[b] = op(A1)·X1[b] + op(A2)·X2[b] (A2/X2 may be null). One block per graph.
extern "C" __global__ void graph_adj2_sum(int B, int N, int C, int trans, const float* __restrict__ A1,
                                          const float* __restrict__ X1, const float* __restrict__ A2,
                                          const float* __restrict__ X2, float* __restrict__ out) {
  __shared__ float a1[NAG_MAXN * NAG_MAXN], a2[NAG_MAXN * NAG_MAXN];
  int b = blockIdx.x;
  for (int e = threadIdx.x; e < N * N; e += blockDim.x) {
    int i = e / N, j = e % N;
    int src = trans ? j * N + i : e;
    a1[i * N + j] = A1[src];
    a2[i * N + j] = A2 ? A2[src] : 0.f;
  }
  __syncthreads();
  long long off = (long long)b * N * C;
  const float* x1 = X1 + off;
  const float* x2 = X2 ? X2 + off : 0;
  for (int e = threadIdx.x; e < N * C; e += blockDim.x) {
    int i = e / C, c = e % C;
    float s = 0.f;
    for (int j = 0; j < N; j++) {
      s += a1[i * N + j] * x1[j * C + c];
      if (x2) s += a2[i * N + j] * x2[j * C + c];
    }
    out[off + e] = s;
  }
}

// out = (ReLU(y1) + ReLU(y2)) / 2
extern "C" __global__ void digcn_combine(int n, const float* __restrict__ y1, const float* __restrict__ y2,
                                         float* __restrict__ out) {
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
    out[i] = 0.5f * (fmaxf(y1[i], 0.f) + fmaxf(y2[i], 0.f));
}

// g1 = g/2 · [y1 > 0], g2 = g/2 · [y2 > 0]
extern "C" __global__ void digcn_combine_bwd(int n, const float* __restrict__ y1, const float* __restrict__ y2,
                                             const float* __restrict__ g, float* __restrict__ g1,
                                             float* __restrict__ g2) {
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
    float h = 0.5f * g[i];
    g1[i] = y1[i] > 0.f ? h : 0.f;
    g2[i] = y2[i] > 0.f ? h : 0.f;
  }
}
