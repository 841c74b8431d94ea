// activation.cuh - the unary op codes and activation functions shared by the
// element-wise kernels (elementwise.cu) and the GEMM epilogues (gemm.cu).
#pragma once
#include "common.cuh"

// Unary op codes (Go: kernels.UnOp). p is a parameter (ELU alpha, scale, addend).
#define NAG_U_NEG 0
#define NAG_U_EXP 1
#define NAG_U_LOG 2
#define NAG_U_SQRT 3
#define NAG_U_SQUARE 4
#define NAG_U_ABS 5
#define NAG_U_RELU 6
#define NAG_U_RELU6 7
#define NAG_U_SILU 8
#define NAG_U_TANH 9
#define NAG_U_SIGMOID 10
#define NAG_U_GELU 11
#define NAG_U_ELU 12
#define NAG_U_SCALE 13
#define NAG_U_ADDSCALAR 14


__device__ __forceinline__ float nag_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

// Φ(x) = erfc(-x/√2)/2: accurate in both tails (1 + erf(x/√2) would cancel for
// x << 0, where GELU = x·Φ(x) is tiny but not zero).
__device__ __forceinline__ float nag_normcdf(float x) { return 0.5f * erfcf(-x * 0.70710678118654752f); }

__device__ __forceinline__ float nag_un(int op, float x, float p) {
  switch (op) {
    case NAG_U_NEG: return -x;
    case NAG_U_EXP: return expf(x);
    case NAG_U_LOG: return logf(x);
    case NAG_U_SQRT: return sqrtf(x);
    case NAG_U_SQUARE: return x * x;
    case NAG_U_ABS: return fabsf(x);
    case NAG_U_RELU: return x > 0.f ? x : 0.f;
    case NAG_U_RELU6: return fminf(fmaxf(x, 0.f), 6.f);
    case NAG_U_SILU: return x * nag_sigmoid(x);
    case NAG_U_TANH: return tanhf(x);
    case NAG_U_SIGMOID: return nag_sigmoid(x);
    case NAG_U_GELU: return x * nag_normcdf(x);
    case NAG_U_ELU: return x > 0.f ? x : p * expm1f(x);
    case NAG_U_SCALE: return x * p;
    default: return x + p;  // NAG_U_ADDSCALAR
  }
}

// nag_ungrad returns g * f'(.) for activation op; v is the input x, except for
// TANH and SIGMOID where it is the output y.
__device__ __forceinline__ float nag_ungrad(int op, float v, float g, float p) {
  switch (op) {
    case NAG_U_RELU: return v > 0.f ? g : 0.f;
    case NAG_U_RELU6: return (v > 0.f && v < 6.f) ? g : 0.f;
    case NAG_U_SILU: {
      float s = nag_sigmoid(v);
      return g * s * (1.0f + v * (1.0f - s));
    }
    case NAG_U_TANH: return g * (1.0f - v * v);
    case NAG_U_SIGMOID: return g * v * (1.0f - v);
    case NAG_U_GELU: {
      float cdf = nag_normcdf(v);
      float pdf = 0.3989422804014327f * expf(-0.5f * v * v);
      return g * (cdf + v * pdf);
    }
    case NAG_U_ELU: return v > 0.f ? g : g * p * expf(v);
    case NAG_U_NEG: return -g;
    case NAG_U_EXP: return g * expf(v);
    case NAG_U_LOG: return g / v;
    case NAG_U_SQRT: return g * 0.5f / sqrtf(v);
    case NAG_U_SQUARE: return g * 2.0f * v;
    case NAG_U_ABS: return v > 0.f ? g : (v < 0.f ? -g : 0.f);
    case NAG_U_SCALE: return g * p;
    default: return g;  // ADDSCALAR
  }
}

#define NAG_GRID_STRIDE(i, n) \
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long long)gridDim.x * blockDim.x)

// out[i] = a[i] op b[i]
