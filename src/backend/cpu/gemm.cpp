// GEMM dispatch. oneDNN's sgemm is the default: measured here it matches or beats OpenBLAS on the
// model's shapes (bench/kernels/gemm_bench.cpp), and it is unaffected by OPENBLAS_CORETYPE. A B^T
// with few rows (batched decode) goes to gemm_small.cpp, which does not re-pack B per call
// (TANDEM_DEBUG_GEMM=onednn or openblas turns that off, for benchmarking).
#include <cblas.h>
#include <dnnl.h>

#include <cstdlib>
#include <cstring>

#include "backend/cpu/kernels.h"
#include "core/error.h"

namespace tandem::cpu {

namespace {
const char* debug_gemm() {
  static const char* v = std::getenv("TANDEM_DEBUG_GEMM");
  return v ? v : "";
}
bool use_openblas() {
  static const bool v = std::strcmp(debug_gemm(), "openblas") == 0;
  return v;
}
bool use_small() {
  static const bool v = debug_gemm()[0] == 0;
  return v;
}
}  // namespace

void sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {  // C = beta * C; BLAS libraries differ on K == 0, so do it here
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0.f ? 0.f : beta * C[i * ldc + j];
    return;
  }
  if (!ta && tb && M <= kSmallGemmM && use_small() &&
      sgemm_small_nt(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc))
    return;
  if (use_openblas()) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(M), int(N), int(K),
                alpha, A, int(lda), B, int(ldb), beta, C, int(ldc));
    return;
  }
  const dnnl_status_t st = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  TD_ASSERT(st == dnnl_success, "dnnl_sgemm status ", int(st), " M=", M, " N=", N, " K=", K);
}

}  // namespace tandem::cpu
