// Fused LM head + log-softmax (+ entropy), chunked over tokens and vocabulary: a [tokens, vocab]
// logits tensor never exists; peak extra memory is kTokenChunk x kVocabChunk floats.
// Forward keeps an online (m, s, t) per row across vocabulary chunks, with every term taken
// relative to the running max m so that no large numbers cancel:
//   s = sum_v e^{l_v - m},  t = sum_v e^{l_v - m} (l_v - m)
//   lse = m + log s,   logp = l_target - lse,   entropy = log s - t / s
// When the max grows from m to m': s <- e^{m - m'} s,  t <- e^{m - m'} (t + (m - m') s).
// Backward recomputes each logits chunk and forms
//   dl_v = g_logp (1[v = target] - p_v) - g_ent p_v (l_v - E_p[l]),   E_p[l] = lse - entropy
// then dh += dl W_chunk and dW_chunk += dl^T h. Rows without a target are skipped entirely.
// With a bf16 W the three GEMMs take bf16 operands (h rounded once per chunk of rows, dl rounded
// as it is formed) and still return f32 logits and gradients: only the products lose precision.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "backend/cpu/fast_exp.h"
#include "backend/cpu/kernels.h"

namespace tandem::cpu {

namespace {
constexpr int64_t kTokenChunk = 512;
constexpr int64_t kVocabChunk = 4096;

std::vector<int64_t> rows_with_target(const int32_t* targets, int64_t N) {
  std::vector<int64_t> rows;
  for (int64_t n = 0; n < N; ++n)
    if (targets[n] >= 0) rows.push_back(n);
  return rows;
}

void gather_rows(const float* h, const std::vector<int64_t>& rows, int64_t r0, int64_t tc, int64_t C, float* out) {
#pragma omp parallel for schedule(static) if (tc * C >= kMinParallelElems)
  for (int64_t r = 0; r < tc; ++r) std::copy(h + rows[r0 + r] * C, h + (rows[r0 + r] + 1) * C, out + r * C);
}

// A chunk of f32 rows as a GEMM operand, rounded into `lowp` first when the head runs in bf16.
struct ChunkOperand {
  bool bf16;
  std::vector<uint16_t> lowp;
  ChunkOperand(bool bf16, size_t n) : bf16(bf16), lowp(bf16 ? n : 0) {}
  GemmOperand of(const float* x, int64_t n, int64_t ld) {
    if (!bf16) return {x, nullptr, ld};
    round_to_bf16(x, lowp.data(), n);
    return {nullptr, lowp.data(), ld};
  }
  // For rows already rounded into lowp (row by row, where they were formed).
  GemmOperand rounded(int64_t ld) const { return {nullptr, lowp.data(), ld}; }
};
// sum_j e^{l_j - mx} and sum_j e^{l_j - mx} (l_j - mx) over one row of logits.
inline void exp_sums(const float* l, int64_t n, float mx, float* sum_out, float* dot_out) {
  f8 sum8 = f8_splat(0.f), dot8 = f8_splat(0.f);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const f8 d = f8_load(l + j) - mx, e = exp8(d);
    sum8 += e;
    dot8 += e * d;
  }
  float sum = f8_sum(sum8), dot = f8_sum(dot8);
  for (; j < n; ++j) {
    const float d = l[j] - mx, e = fast_exp(d);
    sum += e;
    dot += e * d;
  }
  *sum_out = sum;
  *dot_out = dot;
}

// Logits -> dJ/dlogits in place, without the target's +g_logp:
//   dl = -g_logp p - g_ent p (l - E_p[l]),   p = e^{l - lse}
inline void logits_to_grad(float* l, int64_t n, float lse, float el, float gl, float ge) {
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const f8 lv = f8_load(l + j), p = exp8(lv - lse);
    f8_store(l + j, -gl * p - ge * p * (lv - el));
  }
  for (; j < n; ++j) {
    const float p = fast_exp(l[j] - lse);
    l[j] = -gl * p - ge * p * (l[j] - el);
  }
}
}  // namespace

void logprob_forward(const float* h, GemmOperand w, const int32_t* targets, int64_t N, int64_t C, int64_t V,
                     float* logp, float* lse, float* entropy) {
  const auto rows = rows_with_target(targets, N);
  for (int64_t n = 0; n < N; ++n) {
    logp[n] = 0.f;
    lse[n] = 0.f;
    if (entropy) entropy[n] = 0.f;
  }
  const int64_t R = int64_t(rows.size());
  std::vector<float> hc(size_t(std::min(R, kTokenChunk)) * C), logits(size_t(std::min(R, kTokenChunk)) * kVocabChunk);
  std::vector<float> m(kTokenChunk), s(kTokenChunk), t(kTokenChunk), lt(kTokenChunk);
  ChunkOperand hop(w.bf16 != nullptr, hc.size());
  for (int64_t r0 = 0; r0 < R; r0 += kTokenChunk) {
    const int64_t tc = std::min(kTokenChunk, R - r0);
    gather_rows(h, rows, r0, tc, C, hc.data());
    const GemmOperand H = hop.of(hc.data(), tc * C, C);
    std::fill(m.begin(), m.end(), -std::numeric_limits<float>::infinity());
    std::fill(s.begin(), s.end(), 0.f);
    std::fill(t.begin(), t.end(), 0.f);
    for (int64_t v0 = 0; v0 < V; v0 += kVocabChunk) {
      const int64_t vc = std::min(kVocabChunk, V - v0);
      gemm_any(false, true, tc, vc, C, 1.f, H, w.rows_from(v0), 0.f, logits.data(), vc);
#pragma omp parallel for schedule(static)
      for (int64_t r = 0; r < tc; ++r) {
        const float* l = logits.data() + r * vc;
        float mx = m[r];
#pragma omp simd reduction(max : mx)
        for (int64_t j = 0; j < vc; ++j) mx = std::max(mx, l[j]);
        float sum, dot;
        exp_sums(l, vc, mx, &sum, &dot);
        if (s[r] > 0.f) {  // fold in the earlier chunks, re-based on the new max
          const float shift = m[r] - mx, rescale = fast_exp(shift);
          sum += rescale * s[r];
          dot += rescale * (t[r] + shift * s[r]);
        }
        s[r] = sum;
        t[r] = dot;
        m[r] = mx;
        const int64_t tgt = targets[rows[r0 + r]];
        if (tgt >= v0 && tgt < v0 + vc) lt[r] = l[tgt - v0];
      }
    }
    for (int64_t r = 0; r < tc; ++r) {
      const int64_t n = rows[r0 + r];
      const float z = m[r] + std::log(s[r]);
      lse[n] = z;
      logp[n] = lt[r] - z;
      if (entropy) entropy[n] = std::log(s[r]) - t[r] / s[r];
    }
  }
}

void logprob_backward(const float* h, GemmOperand w, const int32_t* targets, const float* lse,
                      const float* entropy, const float* dlogp, const float* dentropy, int64_t N, int64_t C,
                      int64_t V, float* dh, float* dw) {
  const auto rows = rows_with_target(targets, N);
  std::fill(dh, dh + N * C, 0.f);
  const int64_t R = int64_t(rows.size());
  const int64_t cap = std::min(R, kTokenChunk);
  std::vector<float> hc(size_t(cap) * C), dhc(size_t(cap) * C), logits(size_t(cap) * kVocabChunk);
  ChunkOperand hop(w.bf16 != nullptr, hc.size()), lop(w.bf16 != nullptr, logits.size());
  for (int64_t r0 = 0; r0 < R; r0 += kTokenChunk) {
    const int64_t tc = std::min(kTokenChunk, R - r0);
    gather_rows(h, rows, r0, tc, C, hc.data());
    const GemmOperand H = hop.of(hc.data(), tc * C, C);
    std::fill(dhc.begin(), dhc.end(), 0.f);
    for (int64_t v0 = 0; v0 < V; v0 += kVocabChunk) {
      const int64_t vc = std::min(kVocabChunk, V - v0);
      gemm_any(false, true, tc, vc, C, 1.f, H, w.rows_from(v0), 0.f, logits.data(), vc);
#pragma omp parallel for schedule(static)
      for (int64_t r = 0; r < tc; ++r) {
        const int64_t n = rows[r0 + r];
        float* l = logits.data() + r * vc;
        const float z = lse[n];
        const float gl = dlogp ? dlogp[n] : 0.f;
        const float ge = dentropy ? dentropy[n] : 0.f;
        const float el = (dentropy && entropy) ? z - entropy[n] : 0.f;
        logits_to_grad(l, vc, z, el, gl, ge);
        const int64_t tgt = targets[n];
        if (tgt >= v0 && tgt < v0 + vc) l[tgt - v0] += gl;
        if (lop.bf16) round_to_bf16_serial(l, lop.lowp.data() + r * vc, vc);
      }
      const GemmOperand L = lop.bf16 ? lop.rounded(vc) : GemmOperand{logits.data(), nullptr, vc};
      gemm_any(false, false, tc, C, vc, 1.f, L, w.rows_from(v0), 1.f, dhc.data(), C);
      if (dw) gemm_any(true, false, vc, C, tc, 1.f, L, H, 1.f, dw + v0 * C, C);
    }
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < tc; ++r) std::copy(dhc.data() + r * C, dhc.data() + (r + 1) * C, dh + rows[r0 + r] * C);
  }
}

// One pass: per chunk of rows, the logits of the whole vocabulary ([tc, V], tc chosen so the
// buffer stays near 32 MB), then log-sum-exp, logp, entropy and dl in place, then dh and dW.
void logprob_fused(const float* h, GemmOperand w, const int32_t* targets, const float* dlogp, const float* dentropy,
                   int64_t N, int64_t C, int64_t V, float* logp, float* entropy, float* dh, float* dw) {
  const auto rows = rows_with_target(targets, N);
  std::fill(dh, dh + N * C, 0.f);
  for (int64_t n = 0; n < N; ++n) {
    logp[n] = 0.f;
    if (entropy) entropy[n] = 0.f;
  }
  const int64_t R = int64_t(rows.size());
  // Rows per chunk: as many as a ~32 MB logits buffer holds, then evened out so the last chunk
  // is not a sliver (a GEMM over the whole vocabulary for two rows wastes its weight traffic).
  const int64_t cap_rows = std::clamp<int64_t>((int64_t(8) << 20) / std::max<int64_t>(V, 1), 16, 256);
  const int64_t n_chunks = std::max<int64_t>(1, (int64_t(rows.size()) + cap_rows - 1) / cap_rows);
  const int64_t tc_max = std::max<int64_t>(1, (int64_t(rows.size()) + n_chunks - 1) / n_chunks);
  const int64_t cap = std::min(R, tc_max);
  std::vector<float> hc(size_t(cap) * C), dhc(size_t(cap) * C), logits(size_t(cap) * V);
  ChunkOperand hop(w.bf16 != nullptr, hc.size()), lop(w.bf16 != nullptr, logits.size());
  for (int64_t r0 = 0; r0 < R; r0 += tc_max) {
    const int64_t tc = std::min(tc_max, R - r0);
    gather_rows(h, rows, r0, tc, C, hc.data());
    const GemmOperand H = hop.of(hc.data(), tc * C, C);
    gemm_any(false, true, tc, V, C, 1.f, H, w, 0.f, logits.data(), V);
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < tc; ++r) {
      const int64_t n = rows[r0 + r];
      float* l = logits.data() + r * V;
      float mx = -std::numeric_limits<float>::infinity();
#pragma omp simd reduction(max : mx)
      for (int64_t j = 0; j < V; ++j) mx = std::max(mx, l[j]);
      float sum, dot;
      exp_sums(l, V, mx, &sum, &dot);
      const float z = mx + std::log(sum), ent = std::log(sum) - dot / sum, el = z - ent;
      const int64_t tgt = targets[n];
      logp[n] = l[tgt] - z;
      if (entropy) entropy[n] = ent;
      const float gl = dlogp ? dlogp[n] : 0.f, ge = dentropy ? dentropy[n] : 0.f;
      logits_to_grad(l, V, z, el, gl, ge);
      l[tgt] += gl;
      if (lop.bf16) round_to_bf16_serial(l, lop.lowp.data() + r * V, V);
    }
    const GemmOperand L = lop.bf16 ? lop.rounded(V) : GemmOperand{logits.data(), nullptr, V};
    gemm_any(false, false, tc, C, V, 1.f, L, w, 0.f, dhc.data(), C);
    if (dw) gemm_any(true, false, V, C, tc, 1.f, L, H, 1.f, dw, C);
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < tc; ++r) std::copy(dhc.data() + r * C, dhc.data() + (r + 1) * C, dh + rows[r0 + r] * C);
  }
}

}  // namespace tandem::cpu
