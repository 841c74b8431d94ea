// gemm.cu - single-precision matrix products on row-major matrices with the
// semantics of BLAS sgemm: C = alpha*op(A)*op(B) + beta*C, op(X) = X or Xᵀ,
// followed by an optional epilogue C = act(C + bias) (bias [N] or null, act a
// unary op code or -1 for none: Linear layers in one launch),
// op(A) [M, K], op(B) [K, N], C [M, N]. Batched through grid.z with element
// strides between batch entries (stride 0 broadcasts an operand). When
// beta == 0, C is not read (it may hold NaNs), as in BLAS.
//
// sgemm_tiled: FP32 CUDA-core kernel, 64x64 block tile, BK = 16, 256 threads,
//              4x4 outputs per thread. Exact FP32 (FMA) arithmetic.
// sgemm_tf32:  tensor-core kernel (mma.sync.m16n8k8 TF32 inputs, FP32
//              accumulation), 64x64 block tile, 4 warps of 32x32. Inputs are
//              rounded to TF32 (10-bit mantissa): ~1e-3 relative error.
// sgemm_128, sgemm_128x64 (and their float4-load twins sgemm_128v,
//              sgemm_128x64v): 128 x 128 / 128 x 64 tiles, 8x8 outputs per
//              thread, double-buffered; the main loop is nag_gemm_big in
//              gemm.cuh. The k-16 specialised variants are in gemm_fast.cu.
#include "gemm.cuh"

#define G_BM 64
#define G_BN 64
#define G_BK 16

// Loads the BK x BM slab of op(A) starting at (m0, k0) into As[k][m] and the
// BK x BN slab of op(B) at (k0, n0) into Bs[k][n], zero-padding out-of-range
// elements. nthreads threads cooperate; loads are coalesced along the
// contiguous dimension of each operand.
template <int NT, int APAD, int BPAD>
__device__ __forceinline__ void nag_gemm_load(int transA, int transB, int M, int N, int K,
                                              const float* __restrict__ A, int lda, const float* __restrict__ B,
                                              int ldb, int m0, int n0, int k0, float (*As)[G_BM + APAD],
                                              float (*Bs)[G_BN + BPAD]) {
  int t = threadIdx.x;
#pragma unroll
  for (int l = 0; l < (G_BM * G_BK) / NT; l++) {
    int idx = t + l * NT, m, k;
    if (!transA) { m = idx / G_BK; k = idx % G_BK; }
    else { k = idx / G_BM; m = idx % G_BM; }
    int gm = m0 + m, gk = k0 + k;
    float v = 0.f;
    if (gm < M && gk < K) v = transA ? A[(long long)gk * lda + gm] : A[(long long)gm * lda + gk];
    As[k][m] = v;
  }
#pragma unroll
  for (int l = 0; l < (G_BN * G_BK) / NT; l++) {
    int idx = t + l * NT, n, k;
    if (!transB) { k = idx / G_BN; n = idx % G_BN; }
    else { n = idx / G_BK; k = idx % G_BK; }
    int gn = n0 + n, gk = k0 + k;
    float v = 0.f;
    if (gn < N && gk < K) v = transB ? B[(long long)gn * ldb + gk] : B[(long long)gk * ldb + gn];
    Bs[k][n] = v;
  }
}

extern "C" __global__ void __launch_bounds__(256)
sgemm_tiled(int transA, int transB, int M, int N, int K, float alpha, const float* __restrict__ A, int lda,
            long long strideA, const float* __restrict__ B, int ldb, long long strideB, float beta,
            float* __restrict__ C, int ldc, long long strideC, const float* __restrict__ bias, int act,
            float actp) {
  __shared__ float As[G_BK][G_BM + 4];
  __shared__ float Bs[G_BK][G_BN + 4];
  A += strideA * blockIdx.z;
  B += strideB * blockIdx.z;
  C += strideC * blockIdx.z;
  int m0 = blockIdx.y * G_BM, n0 = blockIdx.x * G_BN;
  int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  float acc[4][4];
#pragma unroll
  for (int i = 0; i < 4; i++)
#pragma unroll
    for (int j = 0; j < 4; j++) acc[i][j] = 0.f;
  for (int k0 = 0; k0 < K; k0 += G_BK) {
    nag_gemm_load<256, 4, 4>(transA, transB, M, N, K, A, lda, B, ldb, m0, n0, k0, As, Bs);
    __syncthreads();
#pragma unroll
    for (int k = 0; k < G_BK; k++) {
      float a[4], b[4];
#pragma unroll
      for (int i = 0; i < 4; i++) a[i] = As[k][ty + 16 * i];
#pragma unroll
      for (int j = 0; j < 4; j++) b[j] = Bs[k][tx + 16 * j];
#pragma unroll
      for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 4; i++) {
    int m = m0 + ty + 16 * i;
    if (m >= M) continue;
#pragma unroll
    for (int j = 0; j < 4; j++) {
      int n = n0 + tx + 16 * j;
      if (n >= N) continue;
      float* c = C + (long long)m * ldc + n;
      *c = nag_gemm_epilogue(alpha * acc[i][j], beta, c, bias, n, act, actp);
    }
  }
  NAG_GEMM_ACT(16, m0 + ty + 16 * (e / 4), n0 + tx + 16 * (e % 4));
}

// sgemm_small: batched tiny products (the attention scores and their
// gradients: 8x8x8 or 20x20x8 per graph and head, thousands of them), where a
// 64x64 tile would be mostly padding. One thread per output of an 8x8 block
// tile (64 threads), the k loop straight from global memory (the operands sit
// in L1), the same fmaf order over k and the same epilogue as sgemm_tiled, so
// the results are bit for bit sgemm_tiled's.
extern "C" __global__ void __launch_bounds__(64)
sgemm_small(int transA, int transB, int M, int N, int K, float alpha, const float* __restrict__ A, int lda,
            long long strideA, const float* __restrict__ B, int ldb, long long strideB, float beta,
            float* __restrict__ C, int ldc, long long strideC, const float* __restrict__ bias, int act,
            float actp) {
  A += strideA * blockIdx.z;
  B += strideB * blockIdx.z;
  C += strideC * blockIdx.z;
  int m = blockIdx.y * 8 + threadIdx.x / 8, n = blockIdx.x * 8 + threadIdx.x % 8;
  if (m >= M || n >= N) return;
  long long as = transA ? lda : 1, bs = transB ? 1 : ldb;
  const float* a = A + (transA ? m : (long long)m * lda);
  const float* b = B + (transB ? (long long)n * ldb : n);
  float acc = 0.f;
  for (int k = 0; k < K; k++) acc = fmaf(a[k * as], b[k * bs], acc);
  float* c = C + (long long)m * ldc + n;
  float v = nag_gemm_epilogue(alpha * acc, beta, c, bias, n, act, actp);
  if (act >= 0) v = nag_un(act, v, actp);
  *c = v;
}

__device__ __forceinline__ unsigned int nag_tf32(float x) {
  unsigned int r = 0;
#ifdef __CUDA_ARCH__
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
#elif defined(NAG_EMU_TF32)
  r = NAG_EMU_TF32(x);
#endif
  return r;
}

// acc += A·B for one m16n8k8 TF32 tile (fragment layout below), a warp-wide
// operation. The CPU emulator (kernels/emu) supplies NAG_EMU_MMA_TF32, which
// gathers the fragments of the 32 lanes by the PTX ISA's layout.
__device__ __forceinline__ void nag_mma_tf32(float* acc, const unsigned int* a, const unsigned int* b) {
#ifdef __CUDA_ARCH__
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 "
      "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};"
      : "+f"(acc[0]), "+f"(acc[1]), "+f"(acc[2]), "+f"(acc[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#elif defined(NAG_EMU_MMA_TF32)
  NAG_EMU_MMA_TF32(acc, a, b);
#endif
}

// 128 threads = 4 warps in a 2x2 arrangement, each computing a 32x32 sub-tile
// as 2 (m16) x 4 (n8) mma.sync.m16n8k8 tiles per 8-wide k step.
// Fragment layout (PTX ISA, mma.m16n8k8 .tf32), g = lane/4, t = lane%4:
//   A: a0 (g, t), a1 (g+8, t), a2 (g, t+4), a3 (g+8, t+4)
//   B: b0 (k=t, n=g), b1 (k=t+4, n=g)
//   C: c0 (g, 2t), c1 (g, 2t+1), c2 (g+8, 2t), c3 (g+8, 2t+1)
extern "C" __global__ void __launch_bounds__(128)
sgemm_tf32(int transA, int transB, int M, int N, int K, float alpha, const float* __restrict__ A, int lda,
           long long strideA, const float* __restrict__ B, int ldb, long long strideB, float beta,
           float* __restrict__ C, int ldc, long long strideC, const float* __restrict__ bias, int act,
           float actp) {
  // As is stored k-major like sgemm_tiled ([k][m]); the padding of 8 keeps the
  // fragment reads (stride BM+8 = 72 words between k rows) free of bank conflicts.
  __shared__ float As[G_BK][G_BM + 8];
  __shared__ float Bs[G_BK][G_BN + 8];
  A += strideA * blockIdx.z;
  B += strideB * blockIdx.z;
  C += strideC * blockIdx.z;
  int m0 = blockIdx.y * G_BM, n0 = blockIdx.x * G_BN;
  int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  int wm = (warp / 2) * 32, wn = (warp % 2) * 32;
  int g = lane / 4, t = lane % 4;
  float acc[2][4][4];
#pragma unroll
  for (int i = 0; i < 2; i++)
#pragma unroll
    for (int j = 0; j < 4; j++)
#pragma unroll
      for (int r = 0; r < 4; r++) acc[i][j][r] = 0.f;
  for (int k0 = 0; k0 < K; k0 += G_BK) {
    nag_gemm_load<128, 8, 8>(transA, transB, M, N, K, A, lda, B, ldb, m0, n0, k0, As, Bs);
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < G_BK; kk += 8) {
      unsigned int a[2][4], b[4][2];
#pragma unroll
      for (int i = 0; i < 2; i++) {
        int m = wm + i * 16 + g;
        a[i][0] = nag_tf32(As[kk + t][m]);
        a[i][1] = nag_tf32(As[kk + t][m + 8]);
        a[i][2] = nag_tf32(As[kk + t + 4][m]);
        a[i][3] = nag_tf32(As[kk + t + 4][m + 8]);
      }
#pragma unroll
      for (int j = 0; j < 4; j++) {
        int n = wn + j * 8 + g;
        b[j][0] = nag_tf32(Bs[kk + t][n]);
        b[j][1] = nag_tf32(Bs[kk + t + 4][n]);
      }
#pragma unroll
      for (int i = 0; i < 2; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) nag_mma_tf32(acc[i][j], a[i], b[j]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 2; i++)
#pragma unroll
    for (int j = 0; j < 4; j++)
#pragma unroll
      for (int r = 0; r < 4; r++) {
        int m = m0 + wm + i * 16 + g + (r >= 2 ? 8 : 0);
        int n = n0 + wn + j * 8 + 2 * t + (r & 1);
        if (m < M && n < N) {
          float* c = C + (long long)m * ldc + n;
          *c = nag_gemm_epilogue(alpha * acc[i][j][r], beta, c, bias, n, act, actp);
        }
      }
  NAG_GEMM_ACT(32, m0 + wm + (e / 16) * 16 + g + ((e % 4) >= 2 ? 8 : 0), n0 + wn + ((e / 4) % 4) * 8 + 2 * t + (e & 1));
}


extern "C" __global__ void __launch_bounds__(256, 2)
sgemm_128(int transA, int transB, int M, int N, int K, float alpha, const float* __restrict__ A, int lda,
          long long strideA, const float* __restrict__ B, int ldb, long long strideB, float beta,
          float* __restrict__ C, int ldc, long long strideC, const float* __restrict__ bias, int act,
          float actp) {
  __shared__ __align__(16) float As[2][B_BK][B_BM + B_PAD];
  __shared__ __align__(16) float Bs[2][B_BK][128 + B_PAD];
  nag_gemm_big<128, B_BK, false>(transA, transB, M, N, K, alpha, A + strideA * blockIdx.z, lda, B + strideB * blockIdx.z, ldb,
                    beta, C + strideC * blockIdx.z, ldc, bias, act, actp, As, Bs);
}

extern "C" __global__ void __launch_bounds__(128, 3)
sgemm_128x64(int transA, int transB, int M, int N, int K, float alpha, const float* __restrict__ A, int lda,
             long long strideA, const float* __restrict__ B, int ldb, long long strideB, float beta,
             float* __restrict__ C, int ldc, long long strideC, const float* __restrict__ bias, int act,
             float actp) {
  __shared__ __align__(16) float As[2][B_BK][B_BM + B_PAD];
  __shared__ __align__(16) float Bs[2][B_BK][64 + B_PAD];
  nag_gemm_big<64, B_BK, false>(transA, transB, M, N, K, alpha, A + strideA * blockIdx.z, lda, B + strideB * blockIdx.z, ldb,
                   beta, C + strideC * blockIdx.z, ldc, bias, act, actp, As, Bs);
}

// sgemm_128v / sgemm_128x64v: sgemm_128 / sgemm_128x64 with float4 global loads
// (same tiles, same arithmetic, bit-identical results). Not yet timed on a
// GPU, so the launcher only runs them by name (GemmWith).
extern "C" __global__ void __launch_bounds__(256, 2)
sgemm_128v(int transA, int transB, int M, int N, int K, float alpha, const float* __restrict__ A, int lda,
           long long strideA, const float* __restrict__ B, int ldb, long long strideB, float beta,
           float* __restrict__ C, int ldc, long long strideC, const float* __restrict__ bias, int act,
           float actp) {
  __shared__ __align__(16) float As[2][B_BK][B_BM + B_PAD];
  __shared__ __align__(16) float Bs[2][B_BK][128 + B_PAD];
  nag_gemm_big<128, B_BK, true>(transA, transB, M, N, K, alpha, A + strideA * blockIdx.z, lda, B + strideB * blockIdx.z,
                          ldb, beta, C + strideC * blockIdx.z, ldc, bias, act, actp, As, Bs);
}

extern "C" __global__ void __launch_bounds__(128, 3)
sgemm_128x64v(int transA, int transB, int M, int N, int K, float alpha, const float* __restrict__ A, int lda,
              long long strideA, const float* __restrict__ B, int ldb, long long strideB, float beta,
              float* __restrict__ C, int ldc, long long strideC, const float* __restrict__ bias, int act,
              float actp) {
  __shared__ __align__(16) float As[2][B_BK][B_BM + B_PAD];
  __shared__ __align__(16) float Bs[2][B_BK][64 + B_PAD];
  nag_gemm_big<64, B_BK, true>(transA, transB, M, N, K, alpha, A + strideA * blockIdx.z, lda, B + strideB * blockIdx.z,
                         ldb, beta, C + strideC * blockIdx.z, ldc, bias, act, actp, As, Bs);
}
