// emu_test.cpp - runs nag's CUDA kernels on the CPU emulator (cuda_emu.h) and
// checks them against naive host references, to catch indexing, tiling,
// synchronisation and reduction bugs without a GPU. Not a substitute for the
// device tests (kernels_cuda_test.go): host libm differs from the device's,
// and the TF32 tensor-core GEMM is not covered. Built and run by
// TestKernelsOnCPUEmulator (emu_test.go). Exit status 0 = all checks passed.
#include "cuda_emu.h"

#include "../adam.cu"
#include "../attention.cu"
#include "../elementwise.cu"
#include "../gemm.cu"
#include "../gemm_fast.cu"
#include "../graphconv.cu"
#include "../index.cu"
#include "../layernorm.cu"
#include "../reduce.cu"
#include "../sde.cu"

#include <functional>
#include <string>

using std::vector;
typedef vector<float> V;

static int failures = 0;
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static float frand() {  // uniform in [-1, 1)
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return (float)((rng_state >> 40) * (1.0 / 8388608.0)) - 1.0f;
}
static V randv(size_t n, float scale = 1) {
  V v(n);
  for (auto& x : v) x = scale * frand();
  return v;
}

static void check(const std::string& what, const V& got, const vector<double>& want, double atol, double rtol) {
  if (got.size() != want.size()) {
    printf("FAIL %s: %zu values, want %zu\n", what.c_str(), got.size(), want.size());
    failures++;
    return;
  }
  double worst = 0;
  size_t wi = 0;
  for (size_t i = 0; i < got.size(); i++) {
    double e = fabs((double)got[i] - want[i]) / (atol + rtol * fabs(want[i]));
    if (!(e <= worst)) worst = e, wi = i;  // NaN counts as worst
  }
  if (!(worst <= 1)) {
    printf("FAIL %s: element %zu = %.9g, want %.9g (%.3g x tolerance)\n", what.c_str(), wi, got[wi], want[wi], worst);
    failures++;
  } else {
    printf("ok   %s\n", what.c_str());
  }
}
static vector<double> toD(const V& v) { return vector<double>(v.begin(), v.end()); }
// check_same requires bit-identical float results.
static void check_same(const std::string& what, const V& got, const V& want) {
  if (got.size() != want.size() || memcmp(got.data(), want.data(), got.size() * sizeof(float)) != 0) {
    printf("FAIL %s: results differ\n", what.c_str());
    failures++;
  } else {
    printf("ok   %s\n", what.c_str());
  }
}

static dim3 g1(long long n, int t) {
  long long b = (n + t - 1) / t;
  if (b > 64) b = 64;  // grid-stride loops cover the rest
  return dim3{(unsigned)(b < 1 ? 1 : b), 1, 1};
}

static void test_elementwise() {
  int n = 1000;
  V a = randv(n, 3), b = randv(n), out(n);
  for (auto& x : b) x = fabsf(x) + 0.5f;
  vector<double> w(n);
  emu::launch(g1(n, 64), dim3{64}, 0, ew_binary, NAG_DIV, n, a.data(), b.data(), out.data());
  for (int i = 0; i < n; i++) w[i] = (double)a[i] / b[i];
  check("ew_binary div", out, w, 1e-7, 1e-6);

  int rows = 37, cols = 29;
  V m = randv(rows * cols), row = randv(cols), col = randv(rows), o(rows * cols);
  vector<double> wm(rows * cols);
  emu::launch(g1(rows * cols, 64), dim3{64}, 0, ew_binary_row, NAG_ADD, rows, cols, m.data(), row.data(), o.data());
  for (int r = 0; r < rows; r++)
    for (int c = 0; c < cols; c++) wm[r * cols + c] = (double)m[r * cols + c] + row[c];
  check("ew_binary_row add", o, wm, 1e-6, 1e-6);
  emu::launch(g1(rows * cols, 64), dim3{64}, 0, ew_binary_col, NAG_MUL, rows, cols, m.data(), col.data(), o.data());
  for (int r = 0; r < rows; r++)
    for (int c = 0; c < cols; c++) wm[r * cols + c] = (double)m[r * cols + c] * col[r];
  check("ew_binary_col mul", o, wm, 1e-6, 1e-6);
  emu::launch(g1(rows * cols, 64), dim3{64}, 0, bias_act, rows, cols, m.data(), row.data(), NAG_U_RELU, 0.f, o.data());
  for (int r = 0; r < rows; r++)
    for (int c = 0; c < cols; c++) wm[r * cols + c] = std::max(0.0, (double)m[r * cols + c] + row[c]);
  check("bias_act relu", o, wm, 1e-6, 1e-6);

  // GELU and its gradient against double-precision formulas.
  emu::launch(g1(n, 64), dim3{64}, 0, ew_unary, NAG_U_GELU, n, a.data(), 0.f, out.data());
  for (int i = 0; i < n; i++) w[i] = a[i] * 0.5 * erfc(-a[i] / sqrt(2.0));
  check("ew_unary gelu", out, w, 1e-6, 1e-5);
  V g = randv(n);
  emu::launch(g1(n, 64), dim3{64}, 0, ew_unary_grad, NAG_U_GELU, n, a.data(), g.data(), 0.f, out.data());
  for (int i = 0; i < n; i++) {
    double x = a[i];
    w[i] = g[i] * (0.5 * erfc(-x / sqrt(2.0)) + x * exp(-0.5 * x * x) / sqrt(2 * M_PI));
  }
  check("ew_unary_grad gelu", out, w, 1e-6, 1e-5);
  emu::launch(g1(n, 64), dim3{64}, 0, ew_unary, NAG_U_ELU, n, a.data(), 0.7f, out.data());
  for (int i = 0; i < n; i++) w[i] = a[i] > 0 ? a[i] : 0.7 * expm1((double)a[i]);
  check("ew_unary elu", out, w, 1e-6, 1e-5);
  emu::launch(g1(n, 64), dim3{64}, 0, ew_unary_grad, NAG_U_SILU, n, a.data(), g.data(), 0.f, out.data());
  for (int i = 0; i < n; i++) {
    double x = a[i], s = 1 / (1 + exp(-x));
    w[i] = g[i] * s * (1 + x * (1 - s));
  }
  check("ew_unary_grad silu", out, w, 1e-6, 1e-5);

  // dropout: mask from the stream's uniforms, forward and backward agree.
  V y(n), y2(n);
  emu::launch(g1(n, 64), dim3{64}, 0, dropout, n, 0.3f, 5ull, 9ull, a.data(), y.data());
  V ones(n, 1.f);
  emu::launch(g1(n, 64), dim3{64}, 0, dropout, n, 0.3f, 5ull, 9ull, ones.data(), y2.data());
  int kept = 0;
  for (int i = 0; i < n; i++) {
    w[i] = y2[i] != 0 ? a[i] / 0.7 : 0;
    kept += y2[i] != 0;
  }
  check("dropout mask consistent", y, w, 1e-7, 1e-6);
  if (kept < 600 || kept > 800) {
    printf("FAIL dropout kept %d of 1000 at p=0.3\n", kept);
    failures++;
  }
}

static void test_reduce_softmax() {
  for (int rows : {1, 13}) {
    for (int cols : {1, 31, 100}) {
      V x = randv(rows * cols, 4), out(rows), sm(rows * cols), g = randv(rows * cols), dx(rows * cols);
      vector<double> w(rows), ws(rows * cols);
      std::string sh = "[" + std::to_string(rows) + "," + std::to_string(cols) + "]";
      dim3 grid{(unsigned)((rows + 1) / 2)}, blk{64};  // 2 warps (rows) per block
      emu::launch(grid, blk, 0, reduce_last, NAG_R_SUM, rows, cols, x.data(), out.data());
      for (int r = 0; r < rows; r++) {
        double s = 0;
        for (int c = 0; c < cols; c++) s += x[r * cols + c];
        w[r] = s;
      }
      check("reduce_last sum " + sh, out, w, 1e-5, 1e-5);
      emu::launch(grid, blk, 0, reduce_last, NAG_R_MAX, rows, cols, x.data(), out.data());
      for (int r = 0; r < rows; r++) {
        double m = -1e30;
        for (int c = 0; c < cols; c++) m = std::max(m, (double)x[r * cols + c]);
        w[r] = m;
      }
      check("reduce_last max " + sh, out, w, 0, 1e-7);
      emu::launch(grid, blk, 0, softmax_last, rows, cols, 0, x.data(), sm.data());
      for (int r = 0; r < rows; r++) {
        double m = -1e30, s = 0;
        for (int c = 0; c < cols; c++) m = std::max(m, (double)x[r * cols + c]);
        for (int c = 0; c < cols; c++) s += exp(x[r * cols + c] - m);
        for (int c = 0; c < cols; c++) ws[r * cols + c] = exp(x[r * cols + c] - m) / s;
      }
      check("softmax " + sh, sm, ws, 1e-7, 1e-5);
      emu::launch(grid, blk, 0, softmax_last_grad, rows, cols, 0, sm.data(), g.data(), dx.data());
      for (int r = 0; r < rows; r++) {
        double d = 0;
        for (int c = 0; c < cols; c++) d += (double)g[r * cols + c] * sm[r * cols + c];
        for (int c = 0; c < cols; c++) ws[r * cols + c] = sm[r * cols + c] * (g[r * cols + c] - d);
      }
      check("softmax grad " + sh, dx, ws, 1e-6, 1e-4);
    }
  }
  int outer = 3, n = 9, inner = 37;
  V x = randv(outer * n * inner), out(outer * inner);
  vector<double> w(outer * inner);
  emu::launch(dim3{(unsigned)((inner + 31) / 32), (unsigned)outer}, dim3{32, 8}, 0, reduce_mid, NAG_R_MEAN, outer, n,
              inner, n, x.data(), out.data());
  for (int o = 0; o < outer; o++)
    for (int j = 0; j < inner; j++) {
      double s = 0;
      for (int i = 0; i < n; i++) s += x[(o * n + i) * inner + j];
      w[o * inner + j] = s / n;
    }
  check("reduce_mid mean [3,9,37]", out, w, 1e-6, 1e-5);

  // Split over rows: 4 parts of 75 of n = 290 rows (the last part short),
  // partial results finished by reduce_parts (sum as mean with alpha 1/n, max).
  {
    int outer = 2, n = 290, inner = 41, parts = 4, chunk = 75;
    V x = randv(outer * n * inner), part(parts * outer * inner), out(outer * inner);
    for (int op : {NAG_R_MEAN, NAG_R_MAX}) {
      int pop = op == NAG_R_MAX ? NAG_R_MAX : NAG_R_SUM;
      emu::launch(dim3{(unsigned)((inner + 31) / 32), (unsigned)outer, (unsigned)parts}, dim3{32, 8}, 0, reduce_mid,
                  pop, outer, n, inner, chunk, x.data(), part.data());
      emu::launch(dim3{3}, dim3{32}, 0, reduce_parts, pop, parts, 1, outer * inner,
                  op == NAG_R_MEAN ? 1.0f / n : 1.0f, part.data(), 0.0f, out.data(), outer * inner, (const float*)nullptr, -1, 0.f);
      vector<double> w(outer * inner);
      for (int o = 0; o < outer; o++)
        for (int j = 0; j < inner; j++) {
          double s = 0, m = -1e30;
          for (int i = 0; i < n; i++) {
            s += x[(o * n + i) * inner + j];
            m = std::max(m, (double)x[(o * n + i) * inner + j]);
          }
          w[o * inner + j] = op == NAG_R_MEAN ? s / n : m;
        }
      check(op == NAG_R_MEAN ? "reduce_mid split mean [2,290,41]" : "reduce_mid split max [2,290,41]", out, w, 1e-6,
            1e-5);
    }
  }
  // reduce_parts as the split-K finish: out[r*ldo+c] = alpha·Σ_z part + beta·out,
  // columns beyond cols untouched; beta = 0 ignores a NaN in out.
  {
    int parts = 5, rows = 7, cols = 13, ldo = 16;
    V part = randv(parts * rows * cols), out = randv(rows * ldo), out0 = out;
    float alpha = 0.5f, beta = -1.5f;
    emu::launch(dim3{2}, dim3{32}, 0, reduce_parts, NAG_R_SUM, parts, rows, cols, alpha, part.data(), beta,
                out.data(), ldo, (const float*)nullptr, -1, 0.f);
    vector<double> w = toD(out0);
    for (int r = 0; r < rows; r++)
      for (int c = 0; c < cols; c++) {
        double s = 0;
        for (int z = 0; z < parts; z++) s += part[(z * rows + r) * cols + c];
        w[r * ldo + c] = alpha * s + beta * (double)out0[r * ldo + c];
      }
    check("reduce_parts alpha/beta/ldo [5,7,13]", out, w, 1e-6, 1e-5);
    for (float& v : out) v = NAN;
    emu::launch(dim3{2}, dim3{32}, 0, reduce_parts, NAG_R_SUM, parts, rows, cols, alpha, part.data(), 0.0f,
                out.data(), ldo, (const float*)nullptr, -1, 0.f);
    V got(rows * cols);
    vector<double> want(rows * cols);
    for (int r = 0; r < rows; r++)
      for (int c = 0; c < cols; c++) {
        got[r * cols + c] = out[r * ldo + c];
        double s = 0;
        for (int z = 0; z < parts; z++) s += part[(z * rows + r) * cols + c];
        want[r * cols + c] = alpha * s;
      }
    check("reduce_parts beta 0 over NaN", got, want, 1e-6, 1e-5);
    // With the GEMM epilogue: bias per column, then ReLU.
    V bias = randv(cols), out2 = out0;
    emu::launch(dim3{2}, dim3{32}, 0, reduce_parts, NAG_R_SUM, parts, rows, cols, alpha, part.data(), beta,
                out2.data(), ldo, (const float*)bias.data(), NAG_U_RELU, 0.f);
    vector<double> w2 = toD(out0);
    for (int r = 0; r < rows; r++)
      for (int c = 0; c < cols; c++) {
        double s = 0;
        for (int z = 0; z < parts; z++) s += part[(z * rows + r) * cols + c];
        w2[r * ldo + c] = std::max(0.0, alpha * s + beta * (double)out0[r * ldo + c] + bias[c]);
      }
    check("reduce_parts bias + relu epilogue", out2, w2, 1e-6, 1e-5);
  }
}

static void test_layernorm() {
  int rows = 19, d = 45;
  V x = randv(rows * d, 2), gam = randv(d), bet = randv(d), out(rows * d), mean(rows), rstd(rows);
  dim3 grid{(unsigned)((rows + 1) / 2)}, blk{64};  // 2 warps (rows) per block
  emu::launch(grid, blk, 0, layernorm_fwd, rows, d, x.data(), gam.data(), bet.data(), 1e-5f, out.data(), mean.data(),
              rstd.data());
  vector<double> w(rows * d), wm(rows), wr(rows), xh(rows * d);
  for (int r = 0; r < rows; r++) {
    double m = 0, v = 0;
    for (int c = 0; c < d; c++) m += x[r * d + c];
    m /= d;
    for (int c = 0; c < d; c++) v += (x[r * d + c] - m) * (x[r * d + c] - m);
    double rs = 1 / sqrt(v / d + 1e-5);
    wm[r] = m, wr[r] = rs;
    for (int c = 0; c < d; c++) {
      xh[r * d + c] = (x[r * d + c] - m) * rs;
      w[r * d + c] = xh[r * d + c] * gam[c] + bet[c];
    }
  }
  check("layernorm out", out, w, 1e-5, 1e-5);
  check("layernorm mean", mean, wm, 1e-6, 1e-5);
  check("layernorm rstd", rstd, wr, 1e-6, 1e-5);
  V g = randv(rows * d), dx(rows * d), dg(d), db(d);
  emu::launch(grid, blk, 0, layernorm_bwd_dx, rows, d, g.data(), x.data(), gam.data(), mean.data(), rstd.data(),
              dx.data());
  emu::launch(dim3{(unsigned)((d + 31) / 32)}, dim3{32, 8}, 0, layernorm_bwd_affine, rows, d, rows, g.data(), x.data(),
              mean.data(), rstd.data(), dg.data(), db.data());
  // Split over rows: 3 parts of 7 rows, partial sums finished by reduce_parts.
  V pg(3 * d), pb(3 * d), dg3(d), db3(d);
  emu::launch(dim3{(unsigned)((d + 31) / 32), 3}, dim3{32, 8}, 0, layernorm_bwd_affine, rows, d, 7, g.data(),
              x.data(), mean.data(), rstd.data(), pg.data(), pb.data());
  emu::launch(dim3{1}, dim3{64}, 0, reduce_parts, NAG_R_SUM, 3, 1, d, 1.0f, pg.data(), 0.0f, dg3.data(), d, (const float*)nullptr, -1, 0.f);
  emu::launch(dim3{1}, dim3{64}, 0, reduce_parts, NAG_R_SUM, 3, 1, d, 1.0f, pb.data(), 0.0f, db3.data(), d, (const float*)nullptr, -1, 0.f);
  // Independent reference: numerical derivative of L = Σ g·LN(x) (double precision).
  auto loss = [&](const vector<double>& xx) {
    double L = 0;
    for (int r = 0; r < rows; r++) {
      double m = 0, v = 0;
      for (int c = 0; c < d; c++) m += xx[r * d + c];
      m /= d;
      for (int c = 0; c < d; c++) v += (xx[r * d + c] - m) * (xx[r * d + c] - m);
      double rs = 1 / sqrt(v / d + 1e-5);
      for (int c = 0; c < d; c++) L += g[r * d + c] * ((xx[r * d + c] - m) * rs * gam[c] + bet[c]);
    }
    return L;
  };
  vector<double> xd = toD(x), wdx(rows * d), wdg(d, 0), wdb(d, 0);
  for (int i = 0; i < rows * d; i++) {
    double h = 1e-6, s = xd[i];
    xd[i] = s + h;
    double lp = loss(xd);
    xd[i] = s - h;
    double lm = loss(xd);
    xd[i] = s;
    wdx[i] = (lp - lm) / (2 * h);
  }
  for (int r = 0; r < rows; r++)
    for (int c = 0; c < d; c++) {
      wdg[c] += g[r * d + c] * xh[r * d + c];
      wdb[c] += g[r * d + c];
    }
  check("layernorm dx (vs finite differences)", dx, wdx, 1e-4, 1e-3);
  check("layernorm dgamma", dg, wdg, 1e-5, 1e-5);
  check("layernorm dbeta", db, wdb, 1e-5, 1e-5);
  check("layernorm dgamma, split rows", dg3, wdg, 1e-5, 1e-5);
  check("layernorm dbeta, split rows", db3, wdb, 1e-5, 1e-5);
}

// gemm_ref is C = alpha·op(A)·op(B) + beta·C0 in double for each of batch
// entries (strides sA, sB, sC; 0 broadcasts an operand).
static vector<double> gemm_ref(int ta, int tb, int m, int n, int k, float alpha, const V& A, int lda, long long sA,
                               const V& B, int ldb, long long sB, float beta, const V& C0, int ldc, long long sC,
                               int batch) {
  vector<double> w = toD(C0);
  for (int z = 0; z < batch; z++)
    for (int i = 0; i < m; i++)
      for (int j = 0; j < n; j++) {
        double acc = 0;
        for (int kk = 0; kk < k; kk++) {
          double av = ta ? A[z * sA + kk * lda + i] : A[z * sA + i * lda + kk];
          double bv = tb ? B[z * sB + j * ldb + kk] : B[z * sB + kk * ldb + j];
          acc += av * bv;
        }
        w[z * sC + i * ldc + j] = alpha * acc + beta * C0[z * sC + i * ldc + j];
      }
  return w;
}

// run_gemm launches a GEMM kernel with a tm x tn block tile and the given
// threads per block over C (batch entries in z), without epilogue.
template <class Kern>
static void run_gemm(Kern kern, int tm, int tn, unsigned threads, int ta, int tb, int m, int n, int k, float alpha,
                     const V& A, int lda, long long sA, const V& B, int ldb, long long sB, float beta, V& C, int ldc,
                     long long sC, int batch) {
  emu::launch(dim3{(unsigned)((n + tn - 1) / tn), (unsigned)((m + tm - 1) / tm), (unsigned)batch}, dim3{threads}, 0,
              kern, ta, tb, m, n, k, alpha, A.data(), lda, sA, B.data(), ldb, sB, beta, C.data(), ldc, sC,
              (const float*)nullptr, -1, 0.f);
}

static void test_gemm() {
  struct S {
    int m, n, k;
  } shapes[] = {{1, 1, 1}, {7, 5, 3}, {65, 63, 17}, {64, 64, 16}, {3, 70, 33}, {130, 129, 19}};
  for (auto s : shapes)
    for (int ta = 0; ta < 2; ta++)
      for (int tb = 0; tb < 2; tb++) {
        int batch = 2, pad = 2;
        int ar = ta ? s.k : s.m, ac = ta ? s.m : s.k, br = tb ? s.n : s.k, bc = tb ? s.k : s.n;
        int lda = ac + pad, ldb = bc + pad, ldc = s.n + pad;
        long long sA = (long long)ar * lda, sB = 0 /* broadcast B */, sC = (long long)s.m * ldc;
        V A = randv(batch * sA), B = randv(br * ldb), C = randv(batch * sC), C0 = C;
        float alpha = 1.5f, beta = -0.5f;
        run_gemm(sgemm_tiled, 64, 64, 256, ta, tb, s.m, s.n, s.k, alpha, A, lda, sA, B, ldb, sB, beta, C, ldc, sC,
                 batch);
        vector<double> w = gemm_ref(ta, tb, s.m, s.n, s.k, alpha, A, lda, sA, B, ldb, sB, beta, C0, ldc, sC, batch);
        char name[96];
        snprintf(name, sizeof name, "sgemm_tiled %dx%dx%d transA=%d transB=%d batch=2", s.m, s.n, s.k, ta, tb);
        check(name, C, w, 1e-5, 1e-5);
        // TF32 tensor-core kernel (emulated mma.sync): |err| <= 4e-3·Σ|αab| + |βc| bound.
        V C2 = C0;
        run_gemm(sgemm_tf32, 64, 64, 128, ta, tb, s.m, s.n, s.k, alpha, A, lda, sA, B, ldb, sB, beta, C2, ldc, sC,
                 batch);
        snprintf(name, sizeof name, "sgemm_tf32 %dx%dx%d transA=%d transB=%d batch=2", s.m, s.n, s.k, ta, tb);
        check(name, C2, w, 4e-3 * alpha * s.k, 1e-3);
        // 128x128 double-buffered FP32 kernel.
        V C3 = C0;
        run_gemm(sgemm_128, 128, 128, 256, ta, tb, s.m, s.n, s.k, alpha, A, lda, sA, B, ldb, sB, beta, C3, ldc, sC,
                 batch);
        snprintf(name, sizeof name, "sgemm_128 %dx%dx%d transA=%d transB=%d batch=2", s.m, s.n, s.k, ta, tb);
        check(name, C3, w, 1e-5, 1e-5);
        V C4 = C0;
        run_gemm(sgemm_128x64, 128, 64, 128, ta, tb, s.m, s.n, s.k, alpha, A, lda, sA, B, ldb, sB, beta, C4, ldc, sC,
                 batch);
        snprintf(name, sizeof name, "sgemm_128x64 %dx%dx%d transA=%d transB=%d batch=2", s.m, s.n, s.k, ta, tb);
        check(name, C4, w, 1e-5, 1e-5);
        // Tiny-product kernel: one thread per output, bit for bit sgemm_tiled.
        V C5 = C0;
        run_gemm(sgemm_small, 8, 8, 64, ta, tb, s.m, s.n, s.k, alpha, A, lda, sA, B, ldb, sB, beta, C5, ldc, sC,
                 batch);
        snprintf(name, sizeof name, "sgemm_small %dx%dx%d transA=%d transB=%d batch=2 (= sgemm_tiled)", s.m, s.n, s.k,
                 ta, tb);
        check_same(name, C5, C);
      }
  // float4-load kernels: leading dimensions and batch strides multiples of 4
  // (what their launcher requires), edges not multiples of 4 in every axis.
  struct S2 {
    int m, n, k;
  } vshapes[] = {{1, 1, 1},     {7, 5, 3},       {65, 63, 17},    {64, 64, 16},   {3, 70, 33},
                 {130, 129, 19}, {131, 260, 70}, {256, 192, 48}, {260, 200, 64}, {256, 128, 40}, {130, 70, 0}};
  for (auto s : vshapes)
    for (int ta = 0; ta < 2; ta++)
      for (int tb = 0; tb < 2; tb++) {
        int batch = 2;
        int ar = ta ? s.k : s.m, ac = ta ? s.m : s.k, br = tb ? s.n : s.k, bc = tb ? s.k : s.n;
        auto up4 = [](int v) { return (v + 3) / 4 * 4 + 4; };
        int lda = up4(ac), ldb = up4(bc), ldc = s.n + 1;
        long long sA = (long long)ar * lda, sB = (long long)br * ldb, sC = (long long)s.m * ldc;
        V A = randv(batch * sA), B = randv(batch * sB), C0 = randv(batch * sC);
        float alpha = 1.25f, beta = 0.5f;
        vector<double> w = gemm_ref(ta, tb, s.m, s.n, s.k, alpha, A, lda, sA, B, ldb, sB, beta, C0, ldc, sC, batch);
        char name[96];
        V C1 = C0, C2 = C0, R1 = C0, R2 = C0;
        run_gemm(sgemm_128v, 128, 128, 256, ta, tb, s.m, s.n, s.k, alpha, A, lda, sA, B, ldb, sB, beta, C1, ldc, sC,
                 batch);
        snprintf(name, sizeof name, "sgemm_128v %dx%dx%d transA=%d transB=%d batch=2", s.m, s.n, s.k, ta, tb);
        check(name, C1, w, 1e-5, 1e-5);
        run_gemm(sgemm_128x64v, 128, 64, 128, ta, tb, s.m, s.n, s.k, alpha, A, lda, sA, B, ldb, sB, beta, C2, ldc,
                 sC, batch);
        snprintf(name, sizeof name, "sgemm_128x64v %dx%dx%d transA=%d transB=%d batch=2", s.m, s.n, s.k, ta, tb);
        check(name, C2, w, 1e-5, 1e-5);
        // Same arithmetic as the scalar-load kernels: bit-identical results.
        run_gemm(sgemm_128, 128, 128, 256, ta, tb, s.m, s.n, s.k, alpha, A, lda, sA, B, ldb, sB, beta, R1, ldc, sC,
                 batch);
        run_gemm(sgemm_128x64, 128, 64, 128, ta, tb, s.m, s.n, s.k, alpha, A, lda, sA, B, ldb, sB, beta, R2, ldc,
                 sC, batch);
        snprintf(name, sizeof name, "sgemm_128v == sgemm_128 %dx%dx%d transA=%d transB=%d", s.m, s.n, s.k, ta, tb);
        check_same(name, C1, R1);
        snprintf(name, sizeof name, "sgemm_128x64v == sgemm_128x64 %dx%dx%d transA=%d transB=%d", s.m, s.n, s.k, ta,
                 tb);
        check_same(name, C2, R2);
        // k tiles of 16: same per-element FMA order, bit-identical again.
        V C5 = C0, C6 = C0;
        run_gemm(sgemm_128v16, 128, 128, 256, ta, tb, s.m, s.n, s.k, alpha, A, lda, sA, B, ldb, sB, beta, C5, ldc,
                 sC, batch);
        run_gemm(sgemm_128x64v16, 128, 64, 128, ta, tb, s.m, s.n, s.k, alpha, A, lda, sA, B, ldb, sB, beta, C6, ldc,
                 sC, batch);
        snprintf(name, sizeof name, "sgemm_128v16 == sgemm_128 %dx%dx%d transA=%d transB=%d", s.m, s.n, s.k, ta, tb);
        check_same(name, C5, R1);
        snprintf(name, sizeof name, "sgemm_128x64v16 == sgemm_128x64 %dx%dx%d transA=%d transB=%d", s.m, s.n, s.k,
                 ta, tb);
        check_same(name, C6, R2);
      }
  // beta = 0 must not read C.
  int m = 5, n = 6, k = 7;
  V A = randv(m * k), B = randv(k * n), C(m * n, NAN);
  emu::launch(dim3{1, 1, 1}, dim3{256}, 0, sgemm_tiled, 0, 0, m, n, k, 1.f, A.data(), k, 0ll, B.data(), n, 0ll, 0.f,
              C.data(), n, 0ll, (const float*)nullptr, -1, 0.f);
  vector<double> w(m * n);
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      double acc = 0;
      for (int kk = 0; kk < k; kk++) acc += (double)A[i * k + kk] * B[kk * n + j];
      w[i * n + j] = acc;
    }
  check("sgemm_tiled beta=0 ignores NaN C", C, w, 1e-5, 1e-5);
  // Fused epilogue: act(alpha·AB + beta·C + bias) with ELU (alpha 0.7), all three kernels.
  {
    int m = 70, n = 130, k = 66;
    V A = randv(m * k), B = randv(k * n), bias = randv(n), C0 = randv(m * n);
    vector<double> w(m * n);
    for (int i = 0; i < m; i++)
      for (int j = 0; j < n; j++) {
        double acc = 0;
        for (int kk = 0; kk < k; kk++) acc += (double)A[i * k + kk] * B[kk * n + j];
        double v = 0.5 * acc + 0.25 * C0[i * n + j] + bias[j];
        w[i * n + j] = v > 0 ? v : 0.7 * expm1(v);
      }
    V C1 = C0, C2 = C0, C3 = C0;
    emu::launch(dim3{3, 2, 1}, dim3{256}, 0, sgemm_tiled, 0, 0, m, n, k, 0.5f, A.data(), k, 0ll, B.data(), n, 0ll, 0.25f,
                C1.data(), n, 0ll, bias.data(), 12, 0.7f);
    check("sgemm_tiled bias+ELU epilogue", C1, w, 1e-5, 1e-5);
    emu::launch(dim3{2, 1, 1}, dim3{256}, 0, sgemm_128, 0, 0, m, n, k, 0.5f, A.data(), k, 0ll, B.data(), n, 0ll, 0.25f,
                C2.data(), n, 0ll, bias.data(), 12, 0.7f);
    check("sgemm_128 bias+ELU epilogue", C2, w, 1e-5, 1e-5);
    V C5 = C0;
    emu::launch(dim3{3, 1, 1}, dim3{128}, 0, sgemm_128x64, 0, 0, m, n, k, 0.5f, A.data(), k, 0ll, B.data(), n, 0ll, 0.25f,
                C5.data(), n, 0ll, bias.data(), 12, 0.7f);
    check("sgemm_128x64 bias+ELU epilogue", C5, w, 1e-5, 1e-5);
    emu::launch(dim3{3, 2, 1}, dim3{128}, 0, sgemm_tf32, 0, 0, m, n, k, 0.5f, A.data(), k, 0ll, B.data(), n, 0ll, 0.25f,
                C3.data(), n, 0ll, bias.data(), 12, 0.7f);
    check("sgemm_tf32 bias+ELU epilogue", C3, w, 4e-3 * k, 1e-3);
  }
}

static void test_graphconv() {
  int B = 3, N = 8, C = 37;
  V a1 = randv(N * N), a2 = randv(N * N), h = randv(B * N * C), o1(B * N * C), o2(B * N * C);
  for (int trans = 0; trans < 2; trans++) {
    emu::launch(dim3{(unsigned)B}, dim3{64}, 0, graph_adj2, B, N, C, trans, a1.data(), a2.data(), h.data(), o1.data(),
                o2.data());
    vector<double> w1(B * N * C), w2(B * N * C);
    for (int b = 0; b < B; b++)
      for (int i = 0; i < N; i++)
        for (int c = 0; c < C; c++) {
          double s1 = 0, s2 = 0;
          for (int j = 0; j < N; j++) {
            int e = trans ? j * N + i : i * N + j;
            s1 += a1[e] * h[(b * N + j) * C + c];
            s2 += a2[e] * h[(b * N + j) * C + c];
          }
          w1[(b * N + i) * C + c] = s1, w2[(b * N + i) * C + c] = s2;
        }
    check("graph_adj2 out1 trans=" + std::to_string(trans), o1, w1, 1e-6, 1e-5);
    check("graph_adj2 out2 trans=" + std::to_string(trans), o2, w2, 1e-6, 1e-5);
  }
  V x2 = randv(B * N * C), s(B * N * C);
  emu::launch(dim3{(unsigned)B}, dim3{64}, 0, graph_adj2_sum, B, N, C, 1, a1.data(), h.data(), a2.data(), x2.data(),
              s.data());
  vector<double> w(B * N * C);
  for (int b = 0; b < B; b++)
    for (int i = 0; i < N; i++)
      for (int c = 0; c < C; c++) {
        double acc = 0;
        for (int j = 0; j < N; j++) acc += a1[j * N + i] * h[(b * N + j) * C + c] + a2[j * N + i] * x2[(b * N + j) * C + c];
        w[(b * N + i) * C + c] = acc;
      }
  check("graph_adj2_sum trans", s, w, 1e-6, 1e-5);
}

// Naive attention forward in double; returns out and probs.
static void attn_ref(int B, int H, int N, int D, double scale, const vector<double>& q, const vector<double>& k,
                     const vector<double>& v, const V* mask, int ms, vector<double>& out, vector<double>& probs) {
  out.assign(B * H * N * D, 0);
  probs.assign(B * H * N * N, 0);
  for (int b = 0; b < B; b++)
    for (int h = 0; h < H; h++)
      for (int i = 0; i < N; i++) {
        vector<double> s(N);
        double mx = -1e300;
        for (int j = 0; j < N; j++) {
          double d = 0;
          for (int t = 0; t < D; t++) d += q[((b * H + h) * N + i) * D + t] * k[((b * H + h) * N + j) * D + t];
          d *= scale;
          if (mask && (*mask)[b * ms + i * N + j] == 0) d = -1e9;
          s[j] = d;
          mx = std::max(mx, d);
        }
        double sum = 0;
        for (int j = 0; j < N; j++) sum += (s[j] = exp(s[j] - mx));
        for (int j = 0; j < N; j++) {
          double p = s[j] / sum;
          probs[((b * H + h) * N + i) * N + j] = p;
          for (int t = 0; t < D; t++) out[((b * H + h) * N + i) * D + t] += p * v[((b * H + h) * N + j) * D + t];
        }
      }
}

static void test_attention() {
  int B = 2, H = 3, N = 8, D = 4;
  int n = B * H * N * D;
  V q = randv(n, 2), k = randv(n, 2), v = randv(n), mask(B * N * N), out(n), probs(B * H * N * N);
  for (auto& m : mask) m = frand() > -0.2f ? 1.f : 0.f;
  for (int j = 0; j < N; j++) mask[0 * N * N + 2 * N + j] = 0;  // a fully masked row
  float scale = 0.5f;
  size_t shm = 4 * (3 * H * N * D + H * N * N);
  emu::launch(dim3{(unsigned)B}, dim3{32}, shm, attn_fwd, B, H, N, D, scale, q.data(), k.data(), v.data(), mask.data(),
              N * N, out.data(), probs.data());
  vector<double> wo, wp;
  attn_ref(B, H, N, D, scale, toD(q), toD(k), toD(v), &mask, N * N, wo, wp);
  check("attn_fwd out", out, wo, 1e-6, 1e-5);
  check("attn_fwd probs", probs, wp, 1e-7, 1e-5);

  V g = randv(n), dq(n), dk(n), dv(n);
  size_t shb = 4 * (4 * H * N * D + 2 * H * N * N);
  emu::launch(dim3{(unsigned)B}, dim3{32}, shb, attn_bwd, B, H, N, D, scale, q.data(), k.data(), v.data(), mask.data(),
              N * N, probs.data(), g.data(), dq.data(), dk.data(), dv.data());
  // Finite differences of L = Σ g·out in double (masked scores are constants).
  auto grad = [&](vector<double> x, int which) {
    vector<double> r(n);
    for (int i = 0; i < n; i++) {
      double s = x[i], hh = 1e-6, L[2];
      for (int sgn = 0; sgn < 2; sgn++) {
        x[i] = s + (sgn ? -hh : hh);
        vector<double> o, p;
        attn_ref(B, H, N, D, scale, which == 0 ? x : toD(q), which == 1 ? x : toD(k), which == 2 ? x : toD(v), &mask, N * N, o,
                 p);
        double l = 0;
        for (int t = 0; t < n; t++) l += g[t] * o[t];
        L[sgn] = l;
      }
      x[i] = s;
      r[i] = (L[0] - L[1]) / (2 * hh);
    }
    return r;
  };
  check("attn_bwd dq (vs finite differences)", dq, grad(toD(q), 0), 1e-5, 1e-3);
  check("attn_bwd dk (vs finite differences)", dk, grad(toD(k), 1), 1e-5, 1e-3);
  check("attn_bwd dv (vs finite differences)", dv, grad(toD(v), 2), 1e-5, 1e-3);
}

static void test_index() {
  int rows = 9, ca = 5, cb = 7;
  V a = randv(rows * ca), b = randv(rows * cb), cat(rows * (ca + cb));
  emu::launch(g1(rows * ca, 64), dim3{64}, 0, copy2d, rows, ca, a.data(), ca, 0, cat.data(), ca + cb, 0);
  emu::launch(g1(rows * cb, 64), dim3{64}, 0, copy2d, rows, cb, b.data(), cb, 0, cat.data(), ca + cb, ca);
  vector<double> w(rows * (ca + cb));
  for (int r = 0; r < rows; r++) {
    for (int c = 0; c < ca; c++) w[r * (ca + cb) + c] = a[r * ca + c];
    for (int c = 0; c < cb; c++) w[r * (ca + cb) + ca + c] = b[r * cb + c];
  }
  check("copy2d concat last axis", cat, w, 0, 1e-7);
  int Vn = 6, cols = 11, n = 20;
  V table = randv(Vn * cols), idx(n), out(n * cols), g = randv(n * cols), dt(Vn * cols, 0.f);
  for (int i = 0; i < n; i++) idx[i] = (float)((i * 7) % Vn);
  emu::launch(g1(n * cols, 64), dim3{64}, 0, gather_rows, n, cols, Vn, table.data(), idx.data(), out.data());
  vector<double> wg(n * cols), wd(Vn * cols, 0);
  for (int i = 0; i < n; i++)
    for (int c = 0; c < cols; c++) {
      wg[i * cols + c] = table[(int)idx[i] * cols + c];
      wd[(int)idx[i] * cols + c] += g[i * cols + c];
    }
  check("gather_rows", out, wg, 0, 1e-7);
  emu::launch(g1(n * cols, 64), dim3{64}, 0, scatter_add_rows, n, cols, Vn, g.data(), idx.data(), dt.data());
  check("scatter_add_rows", dt, wd, 1e-6, 1e-6);
  // heads_permute: split packed [B*N, C*H*D] into C x [B, H, N, D], then merge back.
  int B = 3, N = 5, C = 3, H = 2, D = 4;
  long long tot = (long long)B * N * C * H * D;
  V packed = randv(tot), heads(tot), back(tot);
  emu::launch(g1(tot, 64), dim3{64}, 0, heads_permute, B, N, C, H, D, 0, packed.data(), heads.data());
  vector<double> wh(tot);
  for (int c = 0; c < C; c++)
    for (int bb = 0; bb < B; bb++)
      for (int h = 0; h < H; h++)
        for (int i = 0; i < N; i++)
          for (int e = 0; e < D; e++)
            wh[(((c * B + bb) * H + h) * N + i) * D + e] = packed[(bb * N + i) * C * H * D + c * H * D + h * D + e];
  check("heads_permute split", heads, wh, 0, 1e-7);
  emu::launch(g1(tot, 64), dim3{64}, 0, heads_permute, B, N, C, H, D, 1, heads.data(), back.data());
  check("heads_permute merge", back, toD(packed), 0, 1e-7);
}

static void test_sde_adam() {
  // Philox KAT (zero counter/key) through the kernel, the other two directly.
  vector<unsigned int> raw(8);
  emu::launch(dim3{1}, dim3{32}, 0, philox_raw, 2, 0ull, 0ull, raw.data());
  unsigned int want0[4] = {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u};
  bool ok = true;
  for (int i = 0; i < 4; i++) ok &= raw[i] == want0[i];
  nag_u4 c1 = nag_philox4x32_10(nag_u4{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, 0xffffffffu, 0xffffffffu);
  ok &= c1.x == 0x408f276du && c1.y == 0x41c83b0eu && c1.z == 0xa20bc7c6u && c1.w == 0x6d5451fdu;
  nag_u4 c2 = nag_philox4x32_10(nag_u4{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, 0xa4093822u, 0x299f31d0u);
  ok &= c2.x == 0xd16cfe09u && c2.y == 0x94fdccebu && c2.z == 0x5001e420u && c2.w == 0x24126ea1u;
  printf("%s philox4x32-10 known answers\n", ok ? "ok  " : "FAIL");
  failures += !ok;

  int n = 1001;
  V z(n);
  emu::launch(g1((n + 3) / 4, 64), dim3{64}, 0, philox_normal, n, 7ull, 3ull, 0.f, 1.f, z.data());
  double s1 = 0, s2 = 0;
  for (float x : z) s1 += x, s2 += (double)x * x;
  bool mok = fabs(s1 / n) < 0.1 && fabs(s2 / n - 1) < 0.15;
  for (int i = 0; i < n; i++) mok &= z[i] == nag_normal_at(7, 3, i);
  printf("%s philox_normal moments and element order\n", mok ? "ok  " : "FAIL");
  failures += !mok;

  V x = randv(n), sc = randv(n), xm(n), x0 = x;
  emu::launch(g1((n + 3) / 4, 64), dim3{64}, 0, sde_predictor, n, 0.9f, 0.3f, 0.1f, 7ull, 3ull, x.data(), sc.data(),
              xm.data());
  vector<double> wx(n), wm(n);
  for (int i = 0; i < n; i++) wm[i] = 0.9 * x0[i] + 0.3 * sc[i], wx[i] = wm[i] + 0.1 * z[i];
  check("sde_predictor xmean", xm, wm, 1e-6, 1e-6);
  check("sde_predictor x", x, wx, 1e-6, 1e-6);

  int B = 5, per = 37;
  n = B * per;
  V lx = randv(n), lg = randv(n, 10), lxm(n), norms(2 * B), info(2), lx0 = lx, lz(n);
  for (int i = 0; i < n; i++) lz[i] = nag_normal_at(8, 21, i);
  emu::launch(dim3{(unsigned)B}, dim3{64}, 0, langevin_norms, B, per, lg.data(), 8ull, 21ull, norms.data());
  emu::launch(g1((n + 3) / 4, 64), dim3{64}, 0, langevin_update, B, per, 0.16f, 1.f, norms.data(), lg.data(), 8ull,
              21ull, lx.data(), lxm.data(), info.data());
  double gn = 0, nn = 0;
  for (int b = 0; b < B; b++) {
    double g2 = 0, z2 = 0;
    for (int j = b * per; j < (b + 1) * per; j++) g2 += (double)lg[j] * lg[j], z2 += (double)lz[j] * lz[j];
    gn += sqrt(g2), nn += sqrt(z2);
  }
  gn /= B, nn /= B;
  double r = 0.16 * nn / gn, step = 2 * r * r;
  vector<double> wlx(n), wlm(n);
  for (int i = 0; i < n; i++) wlm[i] = lx0[i] + step * lg[i], wlx[i] = wlm[i] + sqrt(2 * step) * lz[i];
  check("langevin step size", V{info[0]}, {step}, 1e-12, 1e-5);
  check("langevin xmean", lxm, wlm, 1e-6, 1e-5);
  check("langevin x", lx, wlx, 1e-6, 1e-5);

  n = 777;
  V p = randv(n), g = randv(n), m(n, 0), v(n, 0), sh = p;
  vector<double> pd = toD(p), md(n, 0), vd(n, 0), sd = toD(p);
  double lr = 1e-2, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 1e-2;
  for (int t = 1; t <= 3; t++) {
    double bc1 = 1 - pow(b1, t), bc2 = 1 - pow(b2, t), decay = std::min(0.999, (1.0 + t) / (10.0 + t));
    emu::launch(g1(n, 64), dim3{64}, 0, adam_ema, n, p.data(), g.data(), m.data(), v.data(), sh.data(),
                (float)(lr / bc1), (float)sqrt(bc2), (float)(1 - b1), (float)b2, (float)(1 - b2), (float)eps, (float)wd,
                (float)(1 - decay));
    for (int i = 0; i < n; i++) {
      double gg = g[i] + wd * pd[i];
      md[i] = b1 * md[i] + (1 - b1) * gg;
      vd[i] = b2 * vd[i] + (1 - b2) * gg * gg;
      pd[i] -= lr / bc1 * md[i] / (sqrt(vd[i]) / sqrt(bc2) + eps);
      sd[i] -= (1 - decay) * (sd[i] - pd[i]);
    }
  }
  check("adam_ema params", p, pd, 1e-6, 1e-5);
  check("adam_ema shadow", sh, sd, 1e-6, 1e-5);
}

int main() {
  test_elementwise();
  test_reduce_softmax();
  test_layernorm();
  test_gemm();
  test_graphconv();
  test_index();
  test_attention();
  test_sde_adam();
  printf("%d failure(s)\n", failures);
  return failures ? 1 : 0;
}
