// Generation's attention: writing new keys/values into the per-slot KV cache, and one query per
// row against its slot's cached keys (decode). Work is split per (row, kv head); the H/K query
// heads of a GQA group go through one small GEMM for the scores and one for the output, as the
// training kernel does per block of queries (gemm_small.cpp's kernels: a library call per head
// costs more than the arithmetic at these sizes).
// Deliberately not here: prefill, which runs the training kernel (attention.cpp) over the prompt
// tokens so that the prompt's activations are the ones training computes.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "backend/cpu/fast_exp.h"
#include "backend/cpu/kernels.h"

namespace tandem::cpu {

void kv_cache_write(const float* k, const float* v, const int32_t* slots, const int32_t* positions, int64_t R,
                    CacheShape s, float* k_cache, float* v_cache) {
  const int64_t w = s.K * s.D;
#pragma omp parallel for schedule(static) if (R * w > 65536)
  for (int64_t r = 0; r < R; ++r) {
    const int64_t at = (int64_t(slots[r]) * s.M + positions[r]) * w;
    std::memcpy(k_cache + at, k + r * w, size_t(w) * 4);
    std::memcpy(v_cache + at, v + r * w, size_t(w) * 4);
  }
}

void attention_decode(const float* q, const float* k_cache, const float* v_cache, const int32_t* slots,
                      const int32_t* lengths, int64_t R, CacheShape s, int64_t window, float scale, float* out) {
  const int64_t D = s.D, G = s.H / s.K, kw = s.K * D;
  int64_t max_len = 1;
  for (int64_t r = 0; r < R; ++r) max_len = std::max<int64_t>(max_len, lengths[r]);
  // Always an active region: sgemm then runs on the calling thread (kernels.h).
#pragma omp parallel
  {
    std::vector<float> S(size_t(G) * size_t(max_len));
#pragma omp for schedule(dynamic, 1) collapse(2)
    for (int64_t r = 0; r < R; ++r)
      for (int64_t kh = 0; kh < s.K; ++kh) {
        const int64_t len = lengths[r], lo = window > 0 ? std::max<int64_t>(0, len - window) : 0, L = len - lo;
        const float* K0 = k_cache + (int64_t(slots[r]) * s.M + lo) * kw + kh * D;
        const float* V0 = v_cache + (int64_t(slots[r]) * s.M + lo) * kw + kh * D;
        // The G query heads of this kv head are consecutive rows of q: one small GEMM each way.
        const float* Q = q + (r * s.H + kh * G) * D;
        sgemm(false, true, G, L, D, scale, Q, D, K0, kw, 0.f, S.data(), L);
        for (int64_t g = 0; g < G; ++g) {
          float* Sg = S.data() + g * L;
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
        float* O = out + (r * s.H + kh * G) * D;
        if (!sgemm_small_nn(G, D, L, S.data(), L, V0, kw, O, D)) sgemm(false, false, G, D, L, 1.f, S.data(), L, V0, kw, 0.f, O, D);
      }
  }
}

}  // namespace tandem::cpu
