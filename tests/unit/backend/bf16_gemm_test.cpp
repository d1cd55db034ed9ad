// bf16 compute in the CPU backend: gemm() with BF16 operands (either or both, every transpose,
// alpha and beta, strided operands through gemm_any) and the LM-head ops with a BF16 weight,
// against double-precision products of the operands rounded to bf16 by this file's own rounding
// (frexp/nearbyint, not tensor/dtype.h's bit trick). Each check also shows that the rounding
// happened: the result is far closer to the rounded oracle than to the unrounded one.
// Skipped where the CPU has no AVX512_BF16 (bf16_gemm_available() false).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "backend/cpu/kernels.h"
#include "backend/ref/ref_ops.h"
#include "backend/registry.h"
#include "testing/testing.h"

namespace tandem {
namespace {

const Ops& ops() { return ops_for(cpu_device()); }

// Round to the nearest bf16 (8 significant bits), ties to even: x = m 2^e with m in [0.5, 1).
double bf16_round(double x) {
  if (x == 0 || !std::isfinite(x)) return x;
  int e;
  std::frexp(x, &e);
  return std::ldexp(std::nearbyint(std::ldexp(x, 8 - e)), e - 8);
}
std::vector<double> rounded(const std::vector<float>& v) {
  std::vector<double> r(v.size());
  for (size_t i = 0; i < v.size(); ++i) r[i] = bf16_round(v[i]);
  return r;
}
Tensor bf16_tensor(const std::vector<float>& v, Shape shape) {
  Tensor t = Tensor::empty(std::move(shape), DType::kBF16);
  for (size_t i = 0; i < v.size(); ++i) t.data<uint16_t>()[i] = f32_to_bf16(v[i]);
  return t;
}
double max_abs_diff(const std::vector<float>& a, const std::vector<double>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(double(a[i]) - b[i]));
  return m;
}

// C = alpha op(A) op(B) + beta C0 in double; A is [rows_a, lda], B [rows_b, ldb].
std::vector<double> product(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha, const std::vector<double>& A,
                            int64_t lda, const std::vector<double>& B, int64_t ldb, double beta,
                            const std::vector<float>& C0, int64_t ldc) {
  std::vector<double> C(C0.begin(), C0.end());
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double s = 0;
      for (int64_t k = 0; k < K; ++k)
        s += A[size_t(ta ? k * lda + m : m * lda + k)] * B[size_t(tb ? n * ldb + k : k * ldb + n)];
      C[size_t(m * ldc + n)] = alpha * s + (beta == 0 ? 0.0 : beta * C0[size_t(m * ldc + n)]);
    }
  return C;
}

#define SKIP_WITHOUT_BF16()                                                        \
  do {                                                                             \
    std::string why;                                                               \
    if (!ops().bf16_gemm_available(&why)) GTEST_SKIP() << "no bf16 GEMMs: " << why; \
  } while (0)

TEST(Bf16Gemm, OpWithEitherOperandBf16EveryTranspose) {
  SKIP_WITHOUT_BF16();
  const int64_t M = 37, N = 53, K = 71;
  uint64_t seed = 10;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb)
      for (int which = 0; which < 3; ++which) {  // 0: both BF16, 1: a F32, 2: b F32
        const Shape as = ta ? Shape{K, M} : Shape{M, K}, bs = tb ? Shape{N, K} : Shape{K, N};
        const auto a = testing::randn(size_t(M * K), ++seed), b = testing::randn(size_t(K * N), ++seed);
        const auto c0 = testing::randn(size_t(M * N), ++seed);
        const float alpha = which == 1 ? 0.5f : 1.f, beta = which == 0 ? 0.f : 1.f;
        Tensor A = which == 1 ? testing::f32_tensor(a, as) : bf16_tensor(a, as);
        Tensor B = which == 2 ? testing::f32_tensor(b, bs) : bf16_tensor(b, bs);
        Tensor C = testing::f32_tensor(c0, {M, N});
        if (beta == 0.f) ops().fill(C, std::numeric_limits<float>::quiet_NaN());  // never read when beta == 0
        ops().gemm(bool(ta), bool(tb), alpha, A, B, beta, C);
        const int64_t lda = as[1], ldb = bs[1];
        const auto want = product(ta, tb, M, N, K, alpha, rounded(a), lda, rounded(b), ldb, beta, c0, N);
        const auto exact = product(ta, tb, M, N, K, alpha, testing::to_double(a), lda, testing::to_double(b), ldb, beta, c0, N);
        const std::string what = cat("gemm ta=", ta, " tb=", tb, " case ", which);
        // f32 accumulation of K = 71 exact products of bf16 values.
        EXPECT_TRUE(testing::all_close(testing::to_vec(C), want, {1e-5, 1e-5}, what));
        EXPECT_GT(max_abs_diff(testing::to_vec(C), exact), 100 * max_abs_diff(testing::to_vec(C), want) + 1e-3)
            << what << ": the result does not look rounded to bf16";
      }
}

TEST(Bf16Gemm, StridedF32OperandsAreRoundedRowByRow) {
  SKIP_WITHOUT_BF16();
  const int64_t M = 19, N = 23, K = 40, lda = K + 5, ldb = K + 3, ldc = N + 4;
  const auto a = testing::randn(size_t(M * lda), 1), b = testing::randn(size_t(N * ldb), 2);
  auto c = testing::randn(size_t(M * ldc), 3);
  const auto want = product(false, true, M, N, K, 2.0, rounded(a), lda, rounded(b), ldb, 0.5, c, ldc);
  cpu::gemm_any(false, true, M, N, K, 2.f, {a.data(), nullptr, lda}, {b.data(), nullptr, ldb}, 0.5f, c.data(), ldc);
  // sgemm (both f32) is the path when neither is bf16; force bf16 by passing B rounded.
  std::vector<uint16_t> bh(b.size());
  for (size_t i = 0; i < b.size(); ++i) bh[i] = f32_to_bf16(b[i]);
  auto c2 = testing::randn(size_t(M * ldc), 3);
  cpu::gemm_any(false, true, M, N, K, 2.f, {a.data(), nullptr, lda}, {nullptr, bh.data(), ldb}, 0.5f, c2.data(), ldc);
  std::vector<float> got, got2;
  std::vector<double> w;
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      got.push_back(c[size_t(m * ldc + n)]);
      got2.push_back(c2[size_t(m * ldc + n)]);
      w.push_back(want[size_t(m * ldc + n)]);
    }
  EXPECT_FALSE(testing::all_close(got, w, {1e-5, 1e-5}, "both f32 runs in f32, not bf16"));
  EXPECT_TRUE(testing::all_close(got2, w, {1e-5, 1e-5}, "strided f32 A rounded per row"));
}

// The LM head with a BF16 weight: forward against the oracle on rounded h and w; backward (the
// logits' gradient is rounded to bf16 too) norm-wise against the exact gradient of that problem.
TEST(Bf16Gemm, LogprobHeadWithBf16Weight) {
  SKIP_WITHOUT_BF16();
  const int64_t N = 6, C = 24, V = 4100;  // two vocabulary chunks of the two-pass kernels
  const std::vector<int32_t> targets = {3, -1, 4099, 0, 4096, 17};
  const auto h = testing::randn(N * C, 41, 1.f), w = testing::randn(V * C, 42, 0.5f);
  const auto gl = testing::randn(N, 43), ge = testing::randn(N, 44);
  Tensor H = testing::f32_tensor(h, {N, C}), W = bf16_tensor(w, {V, C}), T = testing::i32_tensor(targets);
  const auto hr = rounded(h), wr = rounded(w);
  std::vector<double> wl(N), we(N), xl(N), xe(N);
  ref::logprob_forward(hr.data(), wr.data(), targets.data(), N, C, V, wl.data(), we.data());
  ref::logprob_forward(testing::to_double(h).data(), testing::to_double(w).data(), targets.data(), N, C, V, xl.data(), xe.data());

  Tensor logp = Tensor::empty({N}), lse = Tensor::empty({N}), ent = Tensor::empty({N});
  ops().logprob_forward(H, W, T, logp, lse, ent);
  EXPECT_TRUE(testing::all_close(testing::to_vec(logp), wl, {2e-5, 2e-5}, "bf16 head logp"));
  EXPECT_TRUE(testing::all_close(testing::to_vec(ent), we, {2e-5, 2e-5}, "bf16 head entropy"));
  EXPECT_GT(max_abs_diff(testing::to_vec(logp), xl), 20 * max_abs_diff(testing::to_vec(logp), wl))
      << "the head does not look rounded to bf16";

  // Exact gradients of J = gl . logp + ge . entropy at (hr, wr): dl_v = gl (1[v = t] - p_v) - ge p_v (l_v - E_p l).
  std::vector<double> dh(size_t(N * C), 0.0), dw(size_t(V * C), 0.0);
  for (int64_t n = 0; n < N; ++n) {
    if (targets[size_t(n)] < 0) continue;
    std::vector<double> l(static_cast<size_t>(V));
    double mx = -1e300;
    for (int64_t v = 0; v < V; ++v) {
      double s = 0;
      for (int64_t c = 0; c < C; ++c) s += hr[size_t(n * C + c)] * wr[size_t(v * C + c)];
      l[size_t(v)] = s;
      mx = std::max(mx, s);
    }
    double z = 0;
    for (double x : l) z += std::exp(x - mx);
    const double lse_n = mx + std::log(z);
    double el = 0;
    for (double x : l) el += std::exp(x - lse_n) * x;
    for (int64_t v = 0; v < V; ++v) {
      const double p = std::exp(l[size_t(v)] - lse_n);
      const double d = gl[size_t(n)] * ((v == targets[size_t(n)]) - p) - ge[size_t(n)] * p * (l[size_t(v)] - el);
      for (int64_t c = 0; c < C; ++c) {
        dh[size_t(n * C + c)] += d * wr[size_t(v * C + c)];
        dw[size_t(v * C + c)] += d * hr[size_t(n * C + c)];
      }
    }
  }
  // The rounding of dl to bf16 (2^-9 relative) is what separates us from the exact gradient.
  Tensor dH = Tensor::empty({N, C}), dW = Tensor::zeros({V, C});
  ops().logprob_backward(H, W, T, lse, ent, testing::f32_tensor(gl, {N}), testing::f32_tensor(ge, {N}), dH, dW);
  EXPECT_TRUE(testing::norm_close(testing::to_vec(dH), dh, 4e-3, "bf16 head dh (two-pass)"));
  EXPECT_TRUE(testing::norm_close(testing::to_vec(dW), dw, 4e-3, "bf16 head dw (two-pass)"));

  Tensor lp2 = Tensor::empty({N}), en2 = Tensor::empty({N}), dH2 = Tensor::empty({N, C}), dW2 = Tensor::zeros({V, C});
  ops().logprob_fused(H, W, T, testing::f32_tensor(gl, {N}), testing::f32_tensor(ge, {N}), lp2, en2, dH2, dW2);
  EXPECT_TRUE(testing::all_close(testing::to_vec(lp2), wl, {2e-5, 2e-5}, "bf16 head logp (fused)"));
  EXPECT_TRUE(testing::all_close(testing::to_vec(en2), we, {2e-5, 2e-5}, "bf16 head entropy (fused)"));
  EXPECT_TRUE(testing::norm_close(testing::to_vec(dH2), dh, 4e-3, "bf16 head dh (fused)"));
  EXPECT_TRUE(testing::norm_close(testing::to_vec(dW2), dw, 4e-3, "bf16 head dw (fused)"));
}

}  // namespace
}  // namespace tandem
