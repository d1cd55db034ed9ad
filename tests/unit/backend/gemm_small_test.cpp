// The small-M GEMM path (backend/cpu/gemm_small.cpp) against a double-precision product: row counts
// that hit every block remainder (M % 3 and M % 4, N % 4, K % 8 and K % 16, with and without the
// prefetch of a next group of B rows), strided A, B and C, alpha and beta, inside
// and outside an OpenMP region (threads split N), and through sgemm's dispatch.
#include <gtest/gtest.h>
#include <omp.h>

#include <limits>

#include "backend/cpu/kernels.h"
#include "core/error.h"
#include "testing/testing.h"

namespace tandem {
namespace {

struct Case {
  int64_t M, N, K;
  float alpha, beta;
};

std::vector<double> reference(const Case& c, const std::vector<float>& A, int64_t lda, const std::vector<float>& B,
                              int64_t ldb, const std::vector<float>& C0, int64_t ldc) {
  std::vector<double> C(C0.begin(), C0.end());
  for (int64_t m = 0; m < c.M; ++m)
    for (int64_t n = 0; n < c.N; ++n) {
      double s = 0;
      for (int64_t k = 0; k < c.K; ++k) s += double(A[size_t(m * lda + k)]) * double(B[size_t(n * ldb + k)]);
      C[size_t(m * ldc + n)] = double(c.alpha) * s + (c.beta == 0.f ? 0.0 : double(c.beta) * C0[size_t(m * ldc + n)]);
    }
  return C;
}

void run_case(const Case& c, bool via_sgemm, bool in_region, uint64_t seed) {
  const int64_t lda = c.K + 3, ldb = c.K + 5, ldc = c.N + 2;
  const auto A = testing::randn(size_t(c.M * lda), seed), B = testing::randn(size_t(c.N * ldb), seed + 1);
  std::vector<float> C = testing::randn(size_t(c.M * ldc), seed + 2);
  if (c.beta == 0.f)
    for (float& x : C) x = std::numeric_limits<float>::quiet_NaN();  // never read when beta == 0
  const auto want = reference(c, A, lda, B, ldb, C, ldc);
  auto call = [&] {
    if (via_sgemm) cpu::sgemm(false, true, c.M, c.N, c.K, c.alpha, A.data(), lda, B.data(), ldb, c.beta, C.data(), ldc);
    else ASSERT_TRUE(cpu::sgemm_small_nt(c.M, c.N, c.K, c.alpha, A.data(), lda, B.data(), ldb, c.beta, C.data(), ldc));
  };
  if (in_region) {
#pragma omp parallel num_threads(2)
#pragma omp single
    call();
  } else {
    call();
  }
  // Padding columns of C (beyond N) are left alone: compare only [M, N].
  std::vector<float> got;
  std::vector<double> ref;
  for (int64_t m = 0; m < c.M; ++m)
    for (int64_t n = 0; n < c.N; ++n) got.push_back(C[size_t(m * ldc + n)]), ref.push_back(want[size_t(m * ldc + n)]);
  EXPECT_TRUE(testing::all_close(got, ref, {1e-4, 1e-5}, cat("M=", c.M, " N=", c.N, " K=", c.K)));
}

TEST(GemmSmall, MatchesDoubleOnAllRemainders) {
  uint64_t seed = 1;
  for (int64_t M : {1, 2, 3, 4, 5, 7, 16, 64, 128})
    for (int64_t N : {1, 3, 4, 7, 8, 130})
      for (int64_t K : {1, 8, 13, 16, 17, 64, 95})
        for (float beta : {0.f, 1.f, -0.5f}) run_case({M, N, K, 0.7f, beta}, false, false, seed++);
}

TEST(GemmSmall, ThreadsSplitNAndRegionsStaySerial) {
  // Large enough to go parallel outside a region; inside one it runs on the calling thread.
  for (int64_t N : {1000, 1001, 1003}) {
    run_case({16, N, 96, 1.f, 1.f}, false, false, 7);
    run_case({5, N, 100, 0.5f, 0.f}, true, false, 8);
    run_case({3, N, 64, 0.125f, 0.f}, true, true, 9);
  }
  ASSERT_GE(omp_get_max_threads(), 1);
}

}  // namespace
}  // namespace tandem
