// GEMM for few rows against a weight matrix stored [N, K] row-major: C[M,N] = alpha A[M,K] B[N,K]^T
// + beta C, the shape of every layer GEMM of batched decode (M = sequences in flight) and of the
// decode attention scores (M = query heads of a GQA group). oneDNN's sgemm re-packs B on every call,
// which at small M costs as much as the multiply; here B is read once, in place: each thread takes
// a contiguous range of B's rows (parallel over N, never over M), and a 3 x 4 block of dot products
// keeps 4 rows of B in L1 while it walks the rows of A. AVX2 + FMA; without them sgemm keeps oneDNN.
// Deliberately not here: M above kSmallGemmM (from M = 32 oneDNN's packed kernels win, measured) and
// the other transpose cases (but for the tiny A B of decode attention, sgemm_small_nn).
#include <immintrin.h>
#include <omp.h>

#include <algorithm>

#include "backend/cpu/kernels.h"

namespace tandem::cpu {

#if defined(__AVX2__) && defined(__FMA__)

namespace {

inline float hsum(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_shuffle_ps(t, t, 1)));
}

// The four lane sums of a, b, c, d.
inline __m128 hsum4(__m256 a, __m256 b, __m256 c, __m256 d) {
  const __m256 ab = _mm256_hadd_ps(a, b), cd = _mm256_hadd_ps(c, d);
  const __m256 abcd = _mm256_hadd_ps(ab, cd);  // [a b c d] of the low half, then of the high half
  return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

// MR rows of A times NR rows of B over the full K; K % 8 lanes of the last vector through tail_mask.
template <int MR, int NR>
inline void block(int64_t K, float alpha, const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
                  float* C, int64_t ldc, __m256i tail_mask) {
  __m256 acc[MR][NR];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) acc[i][j] = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 8 <= K; k += 8) {
    __m256 b[NR];
    for (int j = 0; j < NR; ++j) b[j] = _mm256_loadu_ps(B + j * ldb + k);
    for (int i = 0; i < MR; ++i) {
      const __m256 a = _mm256_loadu_ps(A + i * lda + k);
      for (int j = 0; j < NR; ++j) acc[i][j] = _mm256_fmadd_ps(a, b[j], acc[i][j]);
    }
  }
  if (k < K) {
    __m256 b[NR];
    for (int j = 0; j < NR; ++j) b[j] = _mm256_maskload_ps(B + j * ldb + k, tail_mask);
    for (int i = 0; i < MR; ++i) {
      const __m256 a = _mm256_maskload_ps(A + i * lda + k, tail_mask);
      for (int j = 0; j < NR; ++j) acc[i][j] = _mm256_fmadd_ps(a, b[j], acc[i][j]);
    }
  }
  for (int i = 0; i < MR; ++i) {
    float* c = C + i * ldc;
    if constexpr (NR == 4) {
      __m128 s = _mm_mul_ps(_mm_set1_ps(alpha), hsum4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]));
      if (beta != 0.f) s = _mm_fmadd_ps(_mm_set1_ps(beta), _mm_loadu_ps(c), s);
      _mm_storeu_ps(c, s);
    } else {
      for (int j = 0; j < NR; ++j) c[j] = alpha * hsum(acc[i][j]) + (beta != 0.f ? beta * c[j] : 0.f);
    }
  }
}

template <int NR>
void rows_of_b(int64_t M, int64_t K, float alpha, const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
               float* C, int64_t ldc, __m256i tail) {
  int64_t m = 0;
  for (; m + 3 <= M; m += 3) block<3, NR>(K, alpha, A + m * lda, lda, B, ldb, beta, C + m * ldc, ldc, tail);
  if (M - m == 2) block<2, NR>(K, alpha, A + m * lda, lda, B, ldb, beta, C + m * ldc, ldc, tail);
  if (M - m == 1) block<1, NR>(K, alpha, A + m * lda, lda, B, ldb, beta, C + m * ldc, ldc, tail);
}

// Columns [n0, n1) of C.
void columns(int64_t n0, int64_t n1, int64_t M, int64_t K, float alpha, const float* A, int64_t lda, const float* B,
             int64_t ldb, float beta, float* C, int64_t ldc) {
  alignas(32) int32_t lanes[8];
  for (int i = 0; i < 8; ++i) lanes[i] = i < K % 8 ? -1 : 0;
  const __m256i tail = _mm256_load_si256(reinterpret_cast<const __m256i*>(lanes));
  int64_t n = n0;
  for (; n + 4 <= n1; n += 4) rows_of_b<4>(M, K, alpha, A, lda, B + n * ldb, ldb, beta, C + n, ldc, tail);
  for (; n < n1; ++n) rows_of_b<1>(M, K, alpha, A, lda, B + n * ldb, ldb, beta, C + n, ldc, tail);
}

}  // namespace

bool sgemm_small_nt(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const float* B,
                    int64_t ldb, float beta, float* C, int64_t ldc) {
  // Threads only for enough work, and never nested (attention calls this from its own team).
  const bool parallel = !omp_in_parallel() && M * N * K >= (int64_t(1) << 18) && N >= 64;
  if (!parallel) {
    columns(0, N, M, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return true;
  }
#pragma omp parallel
  {
    // Contiguous ranges of B's rows, multiples of 4 so every block but the last is full.
    const int64_t T = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t per = ((N + 3) / 4 + T - 1) / T * 4;
    const int64_t n0 = std::min(N, t * per), n1 = std::min(N, n0 + per);
    if (n0 < n1) columns(n0, n1, M, K, alpha, A, lda, B, ldb, beta, C, ldc);
  }
  return true;
}

bool sgemm_small_nn(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* C,
                    int64_t ldc) {
  if (N % 8 != 0) return false;
  // Four vectors of C's row at a time, so the accumulators stay in registers for any N.
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n0 = 0; n0 < N; n0 += 32) {
      const int64_t nv = std::min<int64_t>(4, (N - n0) / 8);
      __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
      const float* a = A + m * lda;
      for (int64_t k = 0; k < K; ++k) {
        const __m256 s = _mm256_broadcast_ss(a + k);
        const float* b = B + k * ldb + n0;
        for (int64_t u = 0; u < nv; ++u) acc[u] = _mm256_fmadd_ps(s, _mm256_loadu_ps(b + 8 * u), acc[u]);
      }
      for (int64_t u = 0; u < nv; ++u) _mm256_storeu_ps(C + m * ldc + n0 + 8 * u, acc[u]);
    }
  return true;
}

#else

bool sgemm_small_nn(int64_t, int64_t, int64_t, const float*, int64_t, const float*, int64_t, float*, int64_t) {
  return false;
}

bool sgemm_small_nt(int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t, float, float*,
                    int64_t) {
  return false;
}

#endif

}  // namespace tandem::cpu
