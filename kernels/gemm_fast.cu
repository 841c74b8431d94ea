// gemm_fast.cu - the GEMM kernels with float4 loads, k tiles of 16 and
// compile-time specialised interior loops (semantics as in gemm.cu). A module
// of its own: the driver JIT-compiles it (~13 s of ptxas for sm_90 on a 2-core
// VM) only when one of its kernels is first launched, not at Device open.
#include "gemm.cuh"

// sgemm_128v16 / sgemm_128x64v16: the 8x8-per-thread tiles with float4 global
// loads, k tiles of 16 and, for blocks whose tile lies wholly inside C with K a
// multiple of 16, a main loop compiled once per (transA, transB) with no bounds
// checks at all; edge blocks run the generic nag_gemm_big (k tiles of 16,
// runtime transposes, guarded loads). Everything branchy leaves the interior
// loop, so a k tile is 1,024 FMAs, 64 shared loads, 6 (128x64) or 8 (128x128)
// vector global loads, the shared stores and one barrier: ptxas (sm_90) puts
// the FMA share of the interior loop at ~90 %, against 51 % for sgemm_128x64
// and 58 % for sgemm_128 (go run ./internal/tools/sassloops), and those two are
// issue-bound at the model's shapes (measured 44-47 % and 55 % of the FP32
// peak on an H100). Same per-element FMA order as every 8x8-per-thread kernel:
// bit-identical results. Not yet timed on a GPU (written 2026-11-28 without
// one), so the launcher runs them only by name (GemmWith).
#define F_BK 16

// nag_gemm_fast_loop is the main loop and epilogue of the v16 kernels for one
// (TA, TB), for a block whose tile is interior with K a positive multiple of
// F_BK: no load or store needs a check.
template <int BN, bool TA, bool TB>
__device__ __forceinline__ void nag_gemm_fast_loop(int M, int N, int K, float alpha, const float* __restrict__ A,
                                                   int lda, const float* __restrict__ B, int ldb, float beta,
                                                   float* __restrict__ C, int ldc, const float* __restrict__ bias,
                                                   int act, float actp, float (*As)[F_BK][B_BM + B_PAD],
                                                   float (*Bs)[F_BK][BN + B_PAD]) {
  constexpr int NT = 128 * BN / 64;  // threads
  constexpr int TX = BN / 8;         // threads along n
  constexpr int LA4 = B_BM * F_BK / 4 / NT, LB4 = BN * F_BK / 4 / NT;
  // Storage layout of each operand tile: A is [m][k] (!TA) or [k][m] (TA),
  // B is [k][n] (!TB) or [n][k] (TB). Thread t's l-th float4 of a tile is at
  // storage row r0 + l·RS, columns c0..c0+3 (CW float4s per tile row): NT is a
  // multiple of CW, so only the row moves with l, by a compile-time step.
  constexpr int CWA = (!TA ? F_BK : B_BM) / 4, RSA = NT / CWA;
  constexpr int CWB = (!TB ? BN : F_BK) / 4, RSB = NT / CWB;
  static_assert(NT % CWA == 0 && NT % CWB == 0, "tile rows must split evenly over the threads");
  const int m0 = blockIdx.y * B_BM, n0 = blockIdx.x * BN;
  const int t = threadIdx.x, tx = t % TX, ty = t / TX;
  const int ar0 = t / CWA, ac0 = (t % CWA) * 4, br0 = t / CWB, bc0 = (t % CWB) * 4;
  // One running pointer per operand (its first float4 of the next k tile)
  // and the distance between consecutive rows l of one thread.
  const float* pa = !TA ? A + (long long)(m0 + ar0) * lda + ac0 : A + (long long)ar0 * lda + m0 + ac0;
  const float* pb = !TB ? B + (long long)br0 * ldb + n0 + bc0 : B + (long long)(n0 + br0) * ldb + bc0;
  const long long rowA = (long long)RSA * lda, rowB = (long long)RSB * ldb;
  const long long stepA = !TA ? F_BK : (long long)F_BK * lda, stepB = !TB ? (long long)F_BK * ldb : F_BK;
  float4 va[LA4], vb[LB4];
  // fetch: global -> registers for the k tile after the one the previous
  // call fetched (the pointers advance one tile per call).
  auto fetch = [&]() {
#pragma unroll
    for (int l = 0; l < LA4; l++) va[l] = nag_ld4(pa + l * rowA);
    pa += stepA;
#pragma unroll
    for (int l = 0; l < LB4; l++) vb[l] = nag_ld4(pb + l * rowB);
    pb += stepB;
  };
  auto store = [&](int buf) {  // registers -> shared, As[k][m], Bs[k][n]
#pragma unroll
    for (int l = 0; l < LA4; l++) {
      float4 v = va[l];
      int r = ar0 + l * RSA;
      if (!TA) {
        As[buf][ac0][r] = v.x; As[buf][ac0 + 1][r] = v.y; As[buf][ac0 + 2][r] = v.z; As[buf][ac0 + 3][r] = v.w;
      } else {
        *reinterpret_cast<float4*>(&As[buf][r][ac0]) = v;
      }
    }
#pragma unroll
    for (int l = 0; l < LB4; l++) {
      float4 v = vb[l];
      int r = br0 + l * RSB;
      if (!TB) {
        *reinterpret_cast<float4*>(&Bs[buf][r][bc0]) = v;
      } else {
        Bs[buf][bc0][r] = v.x; Bs[buf][bc0 + 1][r] = v.y; Bs[buf][bc0 + 2][r] = v.z; Bs[buf][bc0 + 3][r] = v.w;
      }
    }
  };
  float acc[8][8];
#pragma unroll
  for (int i = 0; i < 8; i++)
#pragma unroll
    for (int j = 0; j < 8; j++) acc[i][j] = 0.f;
  auto compute = [&](int buf) {
#pragma unroll
    for (int k = 0; k < F_BK; k++) {
      float4 a0 = *reinterpret_cast<const float4*>(&As[buf][k][ty * 4]);
      float4 a1 = *reinterpret_cast<const float4*>(&As[buf][k][64 + ty * 4]);
      float4 b0 = *reinterpret_cast<const float4*>(&Bs[buf][k][tx * 4]);
      float4 b1 = *reinterpret_cast<const float4*>(&Bs[buf][k][BN / 2 + tx * 4]);
      const float a[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
      const float b[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
      for (int i = 0; i < 8; i++)
#pragma unroll
        for (int j = 0; j < 8; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
  };
  fetch();
  store(0);
  __syncthreads();
  // All k tiles but the last: prefetch the next one into registers, compute,
  // then publish it (one barrier per tile: the buffer written here was last
  // read before the previous barrier). The last tile is peeled.
  int buf = 0;
  for (int k0 = F_BK; k0 < K; k0 += F_BK) {
    fetch();
    compute(buf);
    store(buf ^ 1);
    __syncthreads();
    buf ^= 1;
  }
  compute(buf);
#pragma unroll
  for (int i = 0; i < 8; i++) {
    int m = m0 + (i < 4 ? ty * 4 + i : 64 + ty * 4 + (i - 4));
#pragma unroll
    for (int j = 0; j < 8; j++) {
      int n = n0 + (j < 4 ? tx * 4 + j : BN / 2 + tx * 4 + (j - 4));
      float* c = C + (long long)m * ldc + n;
      *c = nag_gemm_epilogue(alpha * acc[i][j], beta, c, bias, n, act, actp);
    }
  }
  NAG_GEMM_ACT(64, m0 + ((e / 8) < 4 ? ty * 4 + (e / 8) : 64 + ty * 4 + (e / 8 - 4)),
               n0 + ((e % 8) < 4 ? tx * 4 + (e % 8) : BN / 2 + tx * 4 + (e % 8 - 4)));
}

// nag_gemm_fast runs an interior block through the copy of the loop compiled
// for this launch's transposes and an edge block (or K not a positive multiple
// of F_BK) through nag_gemm_big; all branches here are uniform.
template <int BN>
__device__ __forceinline__ void nag_gemm_fast(int transA, int transB, int M, int N, int K, float alpha,
                                              const float* __restrict__ A, int lda, const float* __restrict__ B,
                                              int ldb, float beta, float* __restrict__ C, int ldc,
                                              const float* __restrict__ bias, int act, float actp,
                                              float (*As)[F_BK][B_BM + B_PAD], float (*Bs)[F_BK][BN + B_PAD]) {
  bool interior = (int)(blockIdx.y + 1) * B_BM <= M && (int)(blockIdx.x + 1) * BN <= N && K > 0 && K % F_BK == 0;
  if (!interior)
    nag_gemm_big<BN, F_BK, true>(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, act, actp, As,
                                 Bs);
  else if (!transA && !transB)
    nag_gemm_fast_loop<BN, false, false>(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, act, actp, As, Bs);
  else if (!transA)
    nag_gemm_fast_loop<BN, false, true>(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, act, actp, As, Bs);
  else if (!transB)
    nag_gemm_fast_loop<BN, true, false>(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, act, actp, As, Bs);
  else
    nag_gemm_fast_loop<BN, true, true>(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, act, actp, As, Bs);
}

extern "C" __global__ void __launch_bounds__(256, 2)
sgemm_128v16(int transA, int transB, int M, int N, int K, float alpha, const float* __restrict__ A, int lda,
             long long strideA, const float* __restrict__ B, int ldb, long long strideB, float beta,
             float* __restrict__ C, int ldc, long long strideC, const float* __restrict__ bias, int act,
             float actp) {
  __shared__ __align__(16) float As[2][F_BK][B_BM + B_PAD];
  __shared__ __align__(16) float Bs[2][F_BK][128 + B_PAD];
  nag_gemm_fast<128>(transA, transB, M, N, K, alpha, A + strideA * blockIdx.z, lda, B + strideB * blockIdx.z, ldb,
                     beta, C + strideC * blockIdx.z, ldc, bias, act, actp, As, Bs);
}

extern "C" __global__ void __launch_bounds__(128, 3)
sgemm_128x64v16(int transA, int transB, int M, int N, int K, float alpha, const float* __restrict__ A, int lda,
                long long strideA, const float* __restrict__ B, int ldb, long long strideB, float beta,
                float* __restrict__ C, int ldc, long long strideC, const float* __restrict__ bias, int act,
                float actp) {
  __shared__ __align__(16) float As[2][F_BK][B_BM + B_PAD];
  __shared__ __align__(16) float Bs[2][F_BK][64 + B_PAD];
  nag_gemm_fast<64>(transA, transB, M, N, K, alpha, A + strideA * blockIdx.z, lda, B + strideB * blockIdx.z, ldb,
                    beta, C + strideC * blockIdx.z, ldc, bias, act, actp, As, Bs);
}
