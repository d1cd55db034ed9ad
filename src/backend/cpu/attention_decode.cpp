// Generation's attention: writing new keys/values into the per-slot KV cache, and one query per
// row against its slot's cached keys (decode).
//
// The cache is head-major, so that one (slot, kv head) is two contiguous blocks that decode reads
// front to back: keys [S, K, D, M], transposed (for each dimension a row of positions), values
// [S, K, M, D]. With keys transposed, the scores of a query head are sums over d of q[d] times a
// run of 16 positions, with no horizontal sums; stored [pos, D], every score was a 64-long dot
// product ending in one. The output sum wants values as they are: out[g] = sum_j p[g][j] v[j], a
// vector of D per position scaled by a broadcast probability. The G query heads of a GQA group
// share every key and value load; a task is one (row, kv head). Measured on the SmolLM2-135M
// decode shape (16 rows, 144 positions, cache streamed from memory): 320 us per layer before
// (position-major cache, small GEMMs), 170-180 us after, about 21 GB/s, near this machine's
// memory bandwidth.
// Deliberately not here: prefill, which runs the training kernel (attention.cpp) over the prompt
// tokens so that the prompt's activations are the ones training computes.
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "backend/cpu/fast_exp.h"
#include "backend/cpu/kernels.h"

namespace tandem::cpu {

namespace {

typedef float f16 __attribute__((vector_size(64)));

inline f16 f16_load(const float* p) {
  f16 v;
  std::memcpy(&v, p, 64);
  return v;
}
inline void f16_store(float* p, f16 v) { std::memcpy(p, &v, 64); }

// Scores of GC query heads (q rows, stride D) over NV x 16 positions starting at Kt (rows of
// stride M): S[g][j] = scale * sum_d q[g][d] Kt[d][j].
template <int GC, int NV>
inline void score_block(const float* q, int64_t D, const float* Kt, int64_t M, float scale, float* S, int64_t ldS) {
  f16 acc[GC][NV] = {};
  for (int64_t d = 0; d < D; ++d) {
    f16 kv[NV];
    for (int u = 0; u < NV; ++u) {
      __builtin_prefetch(Kt + d * M + 64 + 16 * u);  // two blocks ahead: 64 rows are too many streams for the hardware
      kv[u] = f16_load(Kt + d * M + 16 * u);
    }
    for (int g = 0; g < GC; ++g) {
      const float qd = q[g * D + d];
      for (int u = 0; u < NV; ++u) acc[g][u] += qd * kv[u];
    }
  }
  for (int g = 0; g < GC; ++g)
    for (int u = 0; u < NV; ++u) f16_store(S + g * ldS + 16 * u, acc[g][u] * scale);
}

// The last n < 16 positions of a row: the lanes past n are never loaded (a masked load), so the
// read stays inside the cache even on the last row of the last slot.
template <int GC>
inline void score_tail(const float* q, int64_t D, const float* Kt, int64_t M, int64_t n, float scale, float* S,
                       int64_t ldS) {
#if defined(__AVX512F__)
  const __mmask16 mask = __mmask16((1u << n) - 1u);
  f16 acc[GC] = {};
  for (int64_t d = 0; d < D; ++d) {
    const f16 kv = (f16)_mm512_maskz_loadu_ps(mask, Kt + d * M);
    for (int g = 0; g < GC; ++g) acc[g] += q[g * D + d] * kv;
  }
  for (int g = 0; g < GC; ++g) _mm512_mask_storeu_ps(S + g * ldS, mask, (__m512)(acc[g] * scale));
#else
  for (int64_t j = 0; j < n; ++j)
    for (int g = 0; g < GC; ++g) {
      float acc = 0.f;
      for (int64_t d = 0; d < D; ++d) acc += q[g * D + d] * Kt[d * M + j];
      S[g * ldS + j] = acc * scale;
    }
#endif
}

template <int GC>
void scores_of(const float* q, int64_t D, const float* Kt, int64_t M, int64_t L, float scale, float* S, int64_t ldS) {
  int64_t j = 0;
  for (; j + 32 <= L; j += 32) score_block<GC, 2>(q, D, Kt + j, M, scale, S + j, ldS);
  for (; j + 16 <= L; j += 16) score_block<GC, 1>(q, D, Kt + j, M, scale, S + j, ldS);
  if (j < L) score_tail<GC>(q, D, Kt + j, M, L - j, scale, S + j, ldS);
}

// out[g] = sum_j P[g][j] V[j] for GC heads, D = 16 * NV (rows of V at stride ldv).
template <int GC, int NV>
inline void weighted_values(const float* P, int64_t ldP, const float* V, int64_t ldv, int64_t L, float* out, int64_t D) {
  f16 acc[GC][NV] = {};
  for (int64_t j = 0; j < L; ++j) {
    f16 vv[NV];
    for (int u = 0; u < NV; ++u) vv[u] = f16_load(V + j * ldv + 16 * u);
    for (int g = 0; g < GC; ++g) {
      const float p = P[g * ldP + j];
      for (int u = 0; u < NV; ++u) acc[g][u] += p * vv[u];
    }
  }
  for (int g = 0; g < GC; ++g)
    for (int u = 0; u < NV; ++u) f16_store(out + g * D + 16 * u, acc[g][u]);
}

template <int GC>
void values_of(const float* P, int64_t ldP, const float* V, int64_t ldv, int64_t L, float* out, int64_t D) {
  if (D % 16 != 0) {
    for (int g = 0; g < GC; ++g) {
      float* o = out + g * D;
      std::fill(o, o + D, 0.f);
      for (int64_t j = 0; j < L; ++j) {
        const float p = P[g * ldP + j];
        for (int64_t d = 0; d < D; ++d) o[d] += p * V[j * ldv + d];
      }
    }
    return;
  }
  int64_t d = 0;
  for (; d + 64 <= D; d += 64) weighted_values<GC, 4>(P, ldP, V + d, ldv, L, out + d, D);
  for (; d < D; d += 16) weighted_values<GC, 1>(P, ldP, V + d, ldv, L, out + d, D);
}

// f.template operator()<GC>(g) over chunks of GC <= 4 query heads starting at g: at most 4 x 4
// accumulators, so they stay in registers.
template <class F>
void by_head_chunks(int64_t G, F f) {
  int64_t g = 0;
  for (; g + 4 <= G; g += 4) f.template operator()<4>(g);
  switch (G - g) {
    case 3: f.template operator()<3>(g); break;
    case 2: f.template operator()<2>(g); break;
    case 1: f.template operator()<1>(g); break;
    default: break;
  }
}

void softmax_rows(float* S, int64_t rows, int64_t ldS, int64_t L) {
  for (int64_t g = 0; g < rows; ++g) {
    float* Sg = S + g * ldS;
    float m = -std::numeric_limits<float>::infinity();
    for (int64_t j = 0; j < L; ++j) m = std::max(m, Sg[j]);
    f8 sum8 = f8_splat(0.f);
    int64_t j = 0;
    for (; j + 8 <= L; j += 8) {
      const f8 e = exp8(f8_load(Sg + j) - m);
      f8_store(Sg + j, e);
      sum8 += e;
    }
    float sum = f8_sum(sum8);
    for (; j < L; ++j) sum += (Sg[j] = fast_exp(Sg[j] - m));
    const float inv = 1.f / sum;
    for (j = 0; j < L; ++j) Sg[j] *= inv;
  }
}

}  // namespace

void kv_cache_write(const float* k, const float* v, const int32_t* slots, const int32_t* positions, int64_t R,
                    CacheShape s, float* k_cache, float* v_cache) {
  const int64_t w = s.K * s.D;
#pragma omp parallel for schedule(static) if (R * w > 65536)
  for (int64_t r = 0; r < R; ++r) {
    for (int64_t kh = 0; kh < s.K; ++kh)
      std::memcpy(v_cache + ((int64_t(slots[r]) * s.K + kh) * s.M + positions[r]) * s.D, v + r * w + kh * s.D,
                  size_t(s.D) * 4);
    float* kt = k_cache + int64_t(slots[r]) * w * s.M + positions[r];
    for (int64_t i = 0; i < w; ++i) kt[i * s.M] = k[r * w + i];
  }
}

void attention_decode(const float* q, const float* k_cache, const float* v_cache, const int32_t* slots,
                      const int32_t* lengths, int64_t R, CacheShape s, int64_t window, float scale, float* out) {
  const int64_t D = s.D, G = s.H / s.K, M = s.M;
  int64_t max_len = 1;
  for (int64_t r = 0; r < R; ++r) max_len = std::max<int64_t>(max_len, lengths[r]);
#pragma omp parallel if (R * s.K > 1)
  {
    std::vector<float> S(size_t(G) * size_t(max_len));
#pragma omp for schedule(dynamic, 1) collapse(2)
    for (int64_t r = 0; r < R; ++r)
      for (int64_t kh = 0; kh < s.K; ++kh) {
        const int64_t len = lengths[r], lo = window > 0 ? std::max<int64_t>(0, len - window) : 0, L = len - lo;
        const float* Kt = k_cache + (int64_t(slots[r]) * s.K + kh) * D * M + lo;
        const float* V0 = v_cache + ((int64_t(slots[r]) * s.K + kh) * M + lo) * D;
        const float* Q = q + (r * s.H + kh * G) * D;  // the G query heads of this kv head
        float* O = out + (r * s.H + kh * G) * D;
        by_head_chunks(G, [&]<int GC>(int64_t g) { scores_of<GC>(Q + g * D, D, Kt, M, L, scale, S.data() + g * L, L); });
        softmax_rows(S.data(), G, L, L);
        by_head_chunks(G, [&]<int GC>(int64_t g) { values_of<GC>(S.data() + g * L, L, V0, D, L, O + g * D, D); });
      }
  }
}

}  // namespace tandem::cpu
