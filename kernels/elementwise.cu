// elementwise.cu - element-wise ops, broadcasts (bias row / per-row / scalar),
// activations and their backward. Semantics follow package tensor:
// GELU is the exact erf form, ELU takes alpha, Tanh/Sigmoid backward take the
// op's OUTPUT y, the others its input x.
#include "common.cuh"

// Binary op codes (Go: kernels.BinOp).
#define NAG_ADD 0
#define NAG_SUB 1
#define NAG_MUL 2
#define NAG_DIV 3

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

__device__ __forceinline__ float nag_bin(int op, float a, float b) {
  switch (op) {
    case NAG_ADD: return a + b;
    case NAG_SUB: return a - b;
    case NAG_MUL: return a * b;
    default: return a / b;
  }
}

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
extern "C" __global__ void ew_binary(int op, int n, const float* __restrict__ a, const float* __restrict__ b,
                                     float* __restrict__ out) {
  NAG_GRID_STRIDE(i, n) out[i] = nag_bin(op, a[i], b[i]);
}

// out[r, c] = a[r, c] op b[c]  (bias row broadcast over rows)
extern "C" __global__ void ew_binary_row(int op, int rows, int cols, const float* __restrict__ a,
                                         const float* __restrict__ b, float* __restrict__ out) {
  long long n = (long long)rows * cols;
  NAG_GRID_STRIDE(i, n) out[i] = nag_bin(op, a[i], b[i % cols]);
}

// out[r, c] = a[r, c] op b[r]  (one value per row broadcast over columns)
extern "C" __global__ void ew_binary_col(int op, int rows, int cols, const float* __restrict__ a,
                                         const float* __restrict__ b, float* __restrict__ out) {
  long long n = (long long)rows * cols;
  NAG_GRID_STRIDE(i, n) out[i] = nag_bin(op, a[i], b[i / cols]);
}

// out[i] = a[i] op s
extern "C" __global__ void ew_binary_scalar(int op, int n, const float* __restrict__ a, float s,
                                            float* __restrict__ out) {
  NAG_GRID_STRIDE(i, n) out[i] = nag_bin(op, a[i], s);
}

// out[i] = f(a[i]; p)
extern "C" __global__ void ew_unary(int op, int n, const float* __restrict__ a, float p, float* __restrict__ out) {
  NAG_GRID_STRIDE(i, n) out[i] = nag_un(op, a[i], p);
}

// out[i] = g[i] * f'(v[i]; p)   (v: input, or output for TANH/SIGMOID)
extern "C" __global__ void ew_unary_grad(int op, int n, const float* __restrict__ v, const float* __restrict__ g,
                                         float p, float* __restrict__ out) {
  NAG_GRID_STRIDE(i, n) out[i] = nag_ungrad(op, v[i], g[i], p);
}

// out[i] = alpha*x[i] + beta*y[i]
extern "C" __global__ void ew_axpby(int n, float alpha, const float* __restrict__ x, float beta,
                                    const float* __restrict__ y, float* __restrict__ out) {
  NAG_GRID_STRIDE(i, n) out[i] = alpha * x[i] + beta * y[i];
}

// out[i] = v
extern "C" __global__ void ew_fill(int n, float v, float* __restrict__ out) {
  NAG_GRID_STRIDE(i, n) out[i] = v;
}

// out[r, c] = act(x[r, c] + bias[c]) - the fused epilogue of a linear layer
// (bias may be null; act is a unary op code, or -1 for none).
extern "C" __global__ void bias_act(int rows, int cols, const float* __restrict__ x, const float* __restrict__ bias,
                                    int act, float p, float* __restrict__ out) {
  long long n = (long long)rows * cols;
  NAG_GRID_STRIDE(i, n) {
    float v = x[i];
    if (bias) v += bias[i % cols];
    out[i] = act < 0 ? v : nag_un(act, v, p);
  }
}

// Dropout with a counter-based mask: out[i] = x[i] * keep_i / (1-p), keep_i =
// uniform_i(seed, offset) >= p. Forward and backward call it with the same
// (seed, offset) and get the same mask, so no mask tensor is stored.
extern "C" __global__ void dropout(int n, float p, unsigned long long seed, unsigned long long offset,
                                   const float* __restrict__ x, float* __restrict__ out) {
  float scale = 1.0f / (1.0f - p);
  NAG_GRID_STRIDE(i, n) {
    float u = nag_uniform_at(seed, offset, i);
    out[i] = u >= p ? x[i] * scale : 0.f;
  }
}
