// elementwise.cu - element-wise ops, broadcasts (bias row / per-row / scalar),
// activations and their backward. Semantics follow package tensor:
// GELU is the exact erf form, ELU takes alpha, Tanh/Sigmoid backward take the
// op's OUTPUT y, the others its input x.
#include "activation.cuh"

// Binary op codes (Go: kernels.BinOp).
#define NAG_ADD 0
#define NAG_SUB 1
#define NAG_MUL 2
#define NAG_DIV 3

__device__ __forceinline__ float nag_bin(int op, float a, float b) {
  switch (op) {
    case NAG_ADD: return a + b;
    case NAG_SUB: return a - b;
    case NAG_MUL: return a * b;
    default: return a / b;
  }
}

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
