// GEMM for few rows against a weight matrix stored [N, K] row-major: C[M,N] = alpha A[M,K] B[N,K]^T
// + beta C, the shape of every layer GEMM of batched decode (M = sequences in flight) and of the
// decode attention scores (M = query heads of a GQA group). oneDNN's sgemm re-packs B on every call,
// which at small M costs as much as the multiply; here B is read once, in place: each thread takes
// a contiguous range of B's rows (parallel over N, never over M), and a block of dot products (4 x 4
// with AVX-512, 3 x 4 with AVX2) keeps 4 rows of B in registers while it walks the rows of A, and
// prefetches rows further on meanwhile. Without AVX2 + FMA sgemm keeps oneDNN. Measured against
// oneDNN on this CPU (bench/kernels/gemm_small_bench.cpp, weights streamed from memory as in
// generation) it is faster up to M = 128 and level at 256, hence kSmallGemmM. Deliberately not
// here: the other transpose cases.
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <utility>

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

// One vector width's loads and multiply-adds. MR x NR is the block of dot products kept in
// registers: (MR + NR) loads feed MR * NR multiply-adds, so the block is as large as the register
// file allows (32 registers with AVX-512, 16 with AVX2).
#if defined(__AVX512F__)
struct Lanes {
  using V = __m512;
  using Tail = __mmask16;
  static constexpr int kWidth = 16, kMR = 4, kNR = 4;
  static V zero() { return _mm512_setzero_ps(); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static V load(const float* p, Tail t) { return _mm512_maskz_loadu_ps(t, p); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  // The two 256-bit halves added. Zero-masked extracts: GCC 12 warns (falsely) that the unmasked
  // ones' (and the cast's) undefined pass-through value is used uninitialized.
  static __m256 half_sum(V v) {
    return _mm256_add_ps(_mm512_maskz_extractf32x8_ps(__mmask8(0xFF), v, 0),
                         _mm512_maskz_extractf32x8_ps(__mmask8(0xFF), v, 1));
  }
  static void pin(V& v) { asm("" : "+v"(v)); }
  static Tail tail(int64_t K) { return Tail((1u << (K % kWidth)) - 1u); }
};
#else
struct Lanes {
  using V = __m256;
  using Tail = __m256i;
  static constexpr int kWidth = 8, kMR = 3, kNR = 4;
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static V load(const float* p, Tail t) { return _mm256_maskload_ps(p, t); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static __m256 half_sum(V v) { return v; }
  static void pin(V& v) { asm("" : "+x"(v)); }
  static Tail tail(int64_t K) {
    alignas(32) int32_t lanes[8];
    for (int i = 0; i < 8; ++i) lanes[i] = i < K % 8 ? -1 : 0;
    return _mm256_load_si256(reinterpret_cast<const __m256i*>(lanes));
  }
};
#endif
using V = Lanes::V;
constexpr int kW = Lanes::kWidth;

// How far ahead (in groups of NR rows of B) the second prefetch reaches, into L2: 16 groups
// (~150 KB at K = 576) hide DRAM latency that the next-group prefetch alone does not (decode step
// GEMMs at M = 16: 34 -> 28 ms; 8 and 32 groups measured within noise of 16).
constexpr int64_t kFarGroups = 16;

// MR rows of A times NR rows of B over the full K; K % kW lanes of the last vector through tail.
// While it runs it prefetches its share of the next group of B rows (rows first_pf, first_pf +
// pf_step, ...) into L1 and of the group kFarGroups ahead into L2: the weights then arrive from
// memory while this group is multiplied, so streaming and computing overlap instead of taking turns.
// Not inlined: inlined into its callers, GCC 12 runs out of general registers for their pointers
// and spills B's rows from vector registers to the stack inside the loop (measured 10 % slower).
template <int MR, int NR>
__attribute__((noinline)) void block(int64_t K, float alpha, const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
                  float* C, int64_t ldc, Lanes::Tail tail, const float* next_b, const float* far_b, int first_pf,
                  int pf_step) {
  V acc[MR][NR];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) acc[i][j] = Lanes::zero();
  int64_t k = 0;
  for (; k + kW <= K; k += kW) {
    if (next_b)
      for (int j = first_pf; j < NR; j += pf_step) _mm_prefetch(reinterpret_cast<const char*>(next_b + j * ldb + k), _MM_HINT_T0);
    if (far_b)
      for (int j = first_pf; j < NR; j += pf_step) _mm_prefetch(reinterpret_cast<const char*>(far_b + j * ldb + k), _MM_HINT_T1);
    V b[NR];
    for (int j = 0; j < NR; ++j) {
      b[j] = Lanes::load(B + j * ldb + k);
      // Keeps the row in a register (and a's below): GCC otherwise folds the load into every
      // multiply-add that uses it, NR loads instead of one, and the loop is bound by loads.
      Lanes::pin(b[j]);
    }
    for (int i = 0; i < MR; ++i) {
      V a = Lanes::load(A + i * lda + k);
      Lanes::pin(a);
      for (int j = 0; j < NR; ++j) acc[i][j] = Lanes::fma(a, b[j], acc[i][j]);
    }
  }
  if (k < K) {
    V b[NR];
    for (int j = 0; j < NR; ++j) b[j] = Lanes::load(B + j * ldb + k, tail);
    for (int i = 0; i < MR; ++i) {
      const V a = Lanes::load(A + i * lda + k, tail);
      for (int j = 0; j < NR; ++j) acc[i][j] = Lanes::fma(a, b[j], acc[i][j]);
    }
  }
  for (int i = 0; i < MR; ++i) {
    float* c = C + i * ldc;
    if constexpr (NR == 4) {
      __m128 s = _mm_mul_ps(_mm_set1_ps(alpha), hsum4(Lanes::half_sum(acc[i][0]), Lanes::half_sum(acc[i][1]),
                                                      Lanes::half_sum(acc[i][2]), Lanes::half_sum(acc[i][3])));
      if (beta != 0.f) s = _mm_fmadd_ps(_mm_set1_ps(beta), _mm_loadu_ps(c), s);
      _mm_storeu_ps(c, s);
    } else {
      for (int j = 0; j < NR; ++j)
        c[j] = alpha * hsum(Lanes::half_sum(acc[i][j])) + (beta != 0.f ? beta * c[j] : 0.f);
    }
  }
}

// All of A's rows times NR rows of B; next_b and far_b (or null) are the groups to prefetch, shared
// out over this group's blocks.
template <int NR>
void rows_of_b(int64_t M, int64_t K, float alpha, const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
               float* C, int64_t ldc, Lanes::Tail tail, const float* next_b, const float* far_b) {
  constexpr int MR = Lanes::kMR;
  const int blocks = int((M + MR - 1) / MR);
  int64_t m = 0;
  for (int bi = 0; m < M; ++bi) {
    const int64_t rows = std::min<int64_t>(MR, M - m);
    const float* a = A + m * lda;
    float* c = C + m * ldc;
    // One instantiation per remainder: the row count must be a compile-time constant for the
    // accumulators to live in registers.
    [&]<int... R>(std::integer_sequence<int, R...>) {
      ((rows == R + 1 ? block<R + 1, NR>(K, alpha, a, lda, B, ldb, beta, c, ldc, tail, next_b, far_b, bi, blocks) : void()),
       ...);
    }(std::make_integer_sequence<int, MR>{});
    m += rows;
  }
}

// Columns [n0, n1) of C.
void columns(int64_t n0, int64_t n1, int64_t M, int64_t K, float alpha, const float* A, int64_t lda, const float* B,
             int64_t ldb, float beta, float* C, int64_t ldc) {
  constexpr int NR = Lanes::kNR;
  const Lanes::Tail tail = Lanes::tail(K);
  int64_t n = n0;
  for (; n + NR <= n1; n += NR) {
    const float* next = n + 2 * NR <= n1 ? B + (n + NR) * ldb : nullptr;
    const float* far = n + (kFarGroups + 1) * NR <= n1 ? B + (n + kFarGroups * NR) * ldb : nullptr;
    rows_of_b<NR>(M, K, alpha, A, lda, B + n * ldb, ldb, beta, C + n, ldc, tail, next, far);
  }
  for (; n < n1; ++n) rows_of_b<1>(M, K, alpha, A, lda, B + n * ldb, ldb, beta, C + n, ldc, tail, nullptr, nullptr);
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

#else

bool sgemm_small_nt(int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t, float, float*,
                    int64_t) {
  return false;
}

#endif

}  // namespace tandem::cpu
