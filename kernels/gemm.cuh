// gemm.cuh - device code shared by the GEMM kernel files: the epilogue, the
// float4 load helpers and nag_gemm_big, the 8x8-per-thread main loop of the
// 128 x BN kernels (gemm.cu, gemm_fast.cu). Semantics: see gemm.cu.
#pragma once
#include "activation.cuh"

// v = alpha·acc (already scaled); returns v + beta·c + bias[n] with the same
// operation order as sgemm followed by bias_act (C is not read when beta == 0).
// The activation runs afterwards in nag_gemm_act's separate pass.
__device__ __forceinline__ float nag_gemm_epilogue(float v, float beta, const float* c, const float* __restrict__ bias,
                                                   int n, int act, float actp) {
  if (beta != 0.f) v += beta * *c;
  if (bias) v += bias[n];
  return v;
}

// nag_gemm_act applies the epilogue activation to the cnt outputs a thread
// wrote (index e -> row rowOf(e), column colOf(e)) in a second pass that is
// not unrolled: keeping the activation's switch out of the unrolled store loop
// keeps the register allocation of the main loop as without an epilogue.
#define NAG_GEMM_ACT(cnt, rowOf, colOf)                                \
  if (act >= 0) {                                                      \
    _Pragma("unroll 1") for (int e = 0; e < (cnt); e++) {              \
      int m_ = (rowOf), n_ = (colOf);                                  \
      if (m_ < M && n_ < N) {                                          \
        float* c_ = C + (long long)m_ * ldc + n_;                      \
        *c_ = nag_un(act, *c_, actp);                                  \
      }                                                                \
    }                                                                  \
  }


// sgemm_128 / sgemm_128x64: FP32 CUDA-core kernels for the large products (the
// score network's 768/1536-wide readout over batches of node rows): a 128 x BN
// block tile (BN = 128 with 256 threads, or 64 with 128 threads), BK = 8, 8x8
// outputs per thread held as two 4x4 quadrants (rows ty*4+i and 64+ty*4+i,
// columns tx*4+j and BN/2+tx*4+j) so each k step reads four float4 from shared
// memory for 64 FMAs. The next k tile is fetched from global memory into
// registers while the current one is used (double-buffered shared memory, one
// __syncthreads per k tile). Same semantics and exact FP32 (FMA) arithmetic as
// sgemm_tiled. The Go launcher picks the tile whose block count fills the
// device most evenly (the 128x64 tile halves the last wave's imbalance on
// 2048 x 1536 products).
#define B_BM 128
#define B_BK 8
#define B_PAD 4

// nag_ld4 loads the 4 consecutive floats at p, which must be 16-byte aligned,
// as one vector load (the emulator checks the alignment the hardware needs).
__device__ __forceinline__ float4 nag_ld4(const float* p) {
#ifdef NAG_EMU_CHECK_ALIGN16
  NAG_EMU_CHECK_ALIGN16(p);
#endif
  return *reinterpret_cast<const float4*>(p);
}

// nag_ld4_guarded is nag_ld4 where all four are in range, otherwise four
// guarded scalar loads (zero out of range): p[i·step] is element i, ok(i)
// says whether it exists. Used at the tile edges of the vector kernels.
#define NAG_LD4(P, STEP, OK, FAST)                                          \
  ((FAST) ? nag_ld4(P)                                                      \
          : make_float4((OK(0)) ? (P)[0] : 0.f, (OK(1)) ? (P)[(STEP)] : 0.f, \
                        (OK(2)) ? (P)[2 * (STEP)] : 0.f, (OK(3)) ? (P)[3 * (STEP)] : 0.f))

template <int BN, int BK, bool VEC>
__device__ __forceinline__ void nag_gemm_big(int transA, int transB, int M, int N, int K, float alpha,
                                             const float* __restrict__ A, int lda, const float* __restrict__ B,
                                             int ldb, float beta, float* __restrict__ C, int ldc,
                                             const float* __restrict__ bias, int act, float actp,
                                             float (*As)[BK][B_BM + B_PAD], float (*Bs)[BK][BN + B_PAD]) {
  constexpr int NT = 128 * BN / 64;  // threads
  constexpr int LA = B_BM * BK / NT, LB = BN * BK / NT;
  constexpr int TX = BN / 8;  // threads along n
  int m0 = blockIdx.y * B_BM, n0 = blockIdx.x * BN;
  int t = threadIdx.x, tx = t % TX, ty = t / TX;
  float acc[8][8];
#pragma unroll
  for (int i = 0; i < 8; i++)
#pragma unroll
    for (int j = 0; j < 8; j++) acc[i][j] = 0.f;
  float ra[LA], rb[LB];
  // VEC: the same tiles read with one float4 per four values along each
  // operand's contiguous axis (k of row-major A, m of transposed A, n of
  // row-major B, k of transposed B), a quarter of the load instructions.
  // Needs 16-byte aligned A and B, leading dimensions and batch strides
  // that are multiples of 4 (the launcher checks).
  constexpr int LA4 = B_BM * BK / 4 / NT, LB4 = BN * BK / 4 / NT;
  float4 va[LA4], vb[LB4];
  auto fetch4 = [&](int k0) {
#pragma unroll
    for (int l = 0; l < LA4; l++) {
      int idx = t + l * NT;
      if (!transA) {
        int m = idx / (BK / 4), k = (idx % (BK / 4)) * 4, gm = m0 + m, gk = k0 + k;
        const float* p = A + (long long)gm * lda + gk;
#define OK(i) (gm < M && gk + (i) < K)
        va[l] = NAG_LD4(p, 1, OK, gm < M && gk + 3 < K);
#undef OK
      } else {
        int k = idx / (B_BM / 4), m = (idx % (B_BM / 4)) * 4, gm = m0 + m, gk = k0 + k;
        const float* p = A + (long long)gk * lda + gm;
#define OK(i) (gk < K && gm + (i) < M)
        va[l] = NAG_LD4(p, 1, OK, gk < K && gm + 3 < M);
#undef OK
      }
    }
#pragma unroll
    for (int l = 0; l < LB4; l++) {
      int idx = t + l * NT;
      if (!transB) {
        int k = idx / (BN / 4), n = (idx % (BN / 4)) * 4, gn = n0 + n, gk = k0 + k;
        const float* p = B + (long long)gk * ldb + gn;
#define OK(i) (gk < K && gn + (i) < N)
        vb[l] = NAG_LD4(p, 1, OK, gk < K && gn + 3 < N);
#undef OK
      } else {
        int n = idx / (BK / 4), k = (idx % (BK / 4)) * 4, gn = n0 + n, gk = k0 + k;
        const float* p = B + (long long)gn * ldb + gk;
#define OK(i) (gn < N && gk + (i) < K)
        vb[l] = NAG_LD4(p, 1, OK, gn < N && gk + 3 < K);
#undef OK
      }
    }
  };
  auto store4 = [&](int buf) {
#pragma unroll
    for (int l = 0; l < LA4; l++) {
      int idx = t + l * NT;
      float4 v = va[l];
      if (!transA) {
        int m = idx / (BK / 4), k = (idx % (BK / 4)) * 4;
        As[buf][k][m] = v.x; As[buf][k + 1][m] = v.y; As[buf][k + 2][m] = v.z; As[buf][k + 3][m] = v.w;
      } else {
        int k = idx / (B_BM / 4), m = (idx % (B_BM / 4)) * 4;
        *reinterpret_cast<float4*>(&As[buf][k][m]) = v;
      }
    }
#pragma unroll
    for (int l = 0; l < LB4; l++) {
      int idx = t + l * NT;
      float4 v = vb[l];
      if (!transB) {
        int k = idx / (BN / 4), n = (idx % (BN / 4)) * 4;
        *reinterpret_cast<float4*>(&Bs[buf][k][n]) = v;
      } else {
        int n = idx / (BK / 4), k = (idx % (BK / 4)) * 4;
        Bs[buf][k][n] = v.x; Bs[buf][k + 1][n] = v.y; Bs[buf][k + 2][n] = v.z; Bs[buf][k + 3][n] = v.w;
      }
    }
  };
  auto fetch = [&](int k0) {
    if (VEC) {
      fetch4(k0);
    } else {
#pragma unroll
      for (int l = 0; l < LA; l++) {
        int idx = t + l * NT, m, k;
        if (!transA) { m = idx / BK; k = idx % BK; }
        else { k = idx / B_BM; m = idx % B_BM; }
        int gm = m0 + m, gk = k0 + k;
        ra[l] = (gm < M && gk < K) ? (transA ? A[(long long)gk * lda + gm] : A[(long long)gm * lda + gk]) : 0.f;
      }
#pragma unroll
      for (int l = 0; l < LB; l++) {
        int idx = t + l * NT, n, k;
        if (!transB) { k = idx / BN; n = idx % BN; }
        else { n = idx / BK; k = idx % BK; }
        int gn = n0 + n, gk = k0 + k;
        rb[l] = (gn < N && gk < K) ? (transB ? B[(long long)gn * ldb + gk] : B[(long long)gk * ldb + gn]) : 0.f;
      }
    }
  };
  auto store = [&](int buf) {
    if (VEC) {
      store4(buf);
    } else {
#pragma unroll
      for (int l = 0; l < LA; l++) {
        int idx = t + l * NT;
        if (!transA) As[buf][idx % BK][idx / BK] = ra[l];
        else As[buf][idx / B_BM][idx % B_BM] = ra[l];
      }
#pragma unroll
      for (int l = 0; l < LB; l++) {
        int idx = t + l * NT;
        if (!transB) Bs[buf][idx / BN][idx % BN] = rb[l];
        else Bs[buf][idx % BK][idx / BK] = rb[l];
      }
    }
  };
  fetch(0);
  store(0);
  __syncthreads();
  int buf = 0;
  for (int k0 = 0; k0 < K; k0 += BK) {
    bool more = k0 + BK < K;
    if (more) fetch(k0 + BK);
#pragma unroll
    for (int k = 0; k < BK; k++) {
      float a[8], b[8];
      float4 a0 = *reinterpret_cast<const float4*>(&As[buf][k][ty * 4]);
      float4 a1 = *reinterpret_cast<const float4*>(&As[buf][k][64 + ty * 4]);
      float4 b0 = *reinterpret_cast<const float4*>(&Bs[buf][k][tx * 4]);
      float4 b1 = *reinterpret_cast<const float4*>(&Bs[buf][k][BN / 2 + tx * 4]);
      a[0] = a0.x; a[1] = a0.y; a[2] = a0.z; a[3] = a0.w;
      a[4] = a1.x; a[5] = a1.y; a[6] = a1.z; a[7] = a1.w;
      b[0] = b0.x; b[1] = b0.y; b[2] = b0.z; b[3] = b0.w;
      b[4] = b1.x; b[5] = b1.y; b[6] = b1.z; b[7] = b1.w;
#pragma unroll
      for (int i = 0; i < 8; i++)
#pragma unroll
        for (int j = 0; j < 8; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    if (more) {
      store(buf ^ 1);
      __syncthreads();
      buf ^= 1;
    }
  }
#pragma unroll
  for (int i = 0; i < 8; i++) {
    int m = m0 + (i < 4 ? ty * 4 + i : 64 + ty * 4 + (i - 4));
    if (m >= M) continue;
#pragma unroll
    for (int j = 0; j < 8; j++) {
      int n = n0 + (j < 4 ? tx * 4 + j : BN / 2 + tx * 4 + (j - 4));
      if (n >= N) continue;
      float* c = C + (long long)m * ldc + n;
      *c = nag_gemm_epilogue(alpha * acc[i][j], beta, c, bias, n, act, actp);
    }
  }
  NAG_GEMM_ACT(64, m0 + ((e / 8) < 4 ? ty * 4 + (e / 8) : 64 + ty * 4 + (e / 8 - 4)),
               n0 + ((e % 8) < 4 ? tx * 4 + (e % 8) : BN / 2 + tx * 4 + (e % 8 - 4)));
}
