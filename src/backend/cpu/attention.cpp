// Causal attention within segments (packed documents never see each other), with GQA and an
// optional sliding window, computed per (segment, head, block of 64 queries) with small GEMMs so
// the FLOPs run at GEMM speed. Only the log-sum-exp per query is kept for backward ([H, N]); the
// probabilities are recomputed there, as FlashAttention does, so memory is O(N) per head, not
// O(N^2). Keys past a query block's last query are never touched, which halves causal work.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "backend/cpu/fast_exp.h"
#include "backend/cpu/kernels.h"

namespace tandem::cpu {

namespace {

constexpr int64_t kQueryBlock = 64;

struct Segment {
  int64_t n0, len;  // first token (absolute index in [0, N)) and length
};

std::vector<Segment> segments_of(const AttnLayout& L) {
  std::vector<Segment> segs;
  for (int64_t b = 0; b < L.B; ++b) {
    int64_t t = 0;
    while (t < L.T) {
      const int32_t s = L.seg_start[b * L.T + t];
      if (s < 0) {
        ++t;
        continue;
      }
      const int64_t start = t;
      while (t < L.T && L.seg_start[b * L.T + t] == s) ++t;
      segs.push_back({b * L.T + start, t - start});
    }
  }
  return segs;
}

struct WorkItem {
  int32_t seg, head;
  int64_t r0, r1;  // query rows [r0, r1) relative to the segment
};

inline int64_t first_key(int64_t i, int64_t window) { return window > 0 ? std::max<int64_t>(0, i - window + 1) : 0; }

// P = softmax over keys [first_key(i), i] of S row i (scores for keys klo .. klo+L-1); others 0.
// Writes lse for the row; S is overwritten by P.
inline float softmax_row(float* S, int64_t i, int64_t klo, int64_t L, int64_t window) {
  const int64_t lo = first_key(i, window) - klo, hi = i - klo;  // inclusive, within [0, L)
  float m = -std::numeric_limits<float>::infinity();
#pragma omp simd reduction(max : m)
  for (int64_t j = lo; j <= hi; ++j) m = std::max(m, S[j]);
  float sum = 0.f;
  for (int64_t j = 0; j < lo; ++j) S[j] = 0.f;
  f8 sum8 = f8_splat(0.f);
  int64_t j = lo;
  for (; j + 8 <= hi + 1; j += 8) {
    const f8 e = exp8(f8_load(S + j) - m);
    f8_store(S + j, e);
    sum8 += e;
  }
  sum = f8_sum(sum8);
  for (; j <= hi; ++j) {
    S[j] = fast_exp(S[j] - m);
    sum += S[j];
  }
  for (int64_t j = hi + 1; j < L; ++j) S[j] = 0.f;
  const float inv = 1.f / sum;
  for (int64_t j = lo; j <= hi; ++j) S[j] *= inv;
  return m + std::log(sum);
}

}  // namespace

void attention_forward(const float* q, const float* k, const float* v, const AttnLayout& layout, AttnShape s,
                       float* out, float* lse) {
  const int64_t D = s.D, qs = s.H * D, ks = s.K * D, group = s.H / s.K;
  const auto segs = segments_of(layout);
  std::vector<WorkItem> work;
  for (size_t g = 0; g < segs.size(); ++g)
    for (int64_t h = 0; h < s.H; ++h)
      for (int64_t r0 = 0; r0 < segs[g].len; r0 += kQueryBlock)
        work.push_back({int32_t(g), int32_t(h), r0, std::min(segs[g].len, r0 + kQueryBlock)});
  // Padding rows are not covered by any segment: zero them so the output is defined everywhere.
  for (int64_t n = 0; n < s.N; ++n)
    if (layout.seg_start[n] < 0) {
      std::fill(out + n * qs, out + (n + 1) * qs, 0.f);
      for (int64_t h = 0; h < s.H; ++h) lse[h * s.N + n] = 0.f;
    }
  int64_t max_len = 0;
  for (const auto& g : segs) max_len = std::max(max_len, g.len);
#pragma omp parallel
  {
    std::vector<float> S(size_t(kQueryBlock) * std::max<int64_t>(max_len, 1));
#pragma omp for schedule(dynamic, 1)
    for (size_t w = 0; w < work.size(); ++w) {
      const WorkItem& it = work[w];
      const Segment& g = segs[it.seg];
      const int64_t h = it.head, kh = h / group, qb = it.r1 - it.r0;
      const int64_t klo = first_key(it.r0, s.window), L = it.r1 - klo;
      const float* Q = q + (g.n0 + it.r0) * qs + h * D;
      const float* Kp = k + (g.n0 + klo) * ks + kh * D;
      const float* Vp = v + (g.n0 + klo) * ks + kh * D;
      sgemm(false, true, qb, L, D, s.scale, Q, qs, Kp, ks, 0.f, S.data(), L);
      for (int64_t r = 0; r < qb; ++r)
        lse[h * s.N + g.n0 + it.r0 + r] = softmax_row(S.data() + r * L, it.r0 + r, klo, L, s.window);
      sgemm(false, false, qb, D, L, 1.f, S.data(), L, Vp, ks, 0.f, out + (g.n0 + it.r0) * qs + h * D, qs);
    }
  }
}

void attention_backward(const float* q, const float* k, const float* v, const float* out, const float* lse,
                        const float* dout, const AttnLayout& layout, AttnShape s, float* dq, float* dk, float* dv) {
  const int64_t D = s.D, N = s.N, qs = s.H * D, ks = s.K * D, group = s.H / s.K;
  const auto segs = segments_of(layout);
  struct Item {
    int32_t seg, head;
  };
  std::vector<Item> work;
  for (size_t g = 0; g < segs.size(); ++g)
    for (int64_t h = 0; h < s.H; ++h) work.push_back({int32_t(g), int32_t(h)});
  int64_t max_len = 0;
  for (const auto& g : segs) max_len = std::max(max_len, g.len);
  // Per query head dK, dV ([H, N, D]): each work item owns its (head, segment) slice, so no races;
  // the GQA sum over the heads of a group happens after, in a fixed order.
  std::vector<float> dk_h(size_t(s.H) * N * D, 0.f), dv_h(size_t(s.H) * N * D, 0.f);
  std::fill(dq, dq + N * qs, 0.f);
#pragma omp parallel
  {
    const size_t cap = size_t(kQueryBlock) * std::max<int64_t>(max_len, 1);
    std::vector<float> P(cap), dS(cap), delta(kQueryBlock);
#pragma omp for schedule(dynamic, 1)
    for (size_t w = 0; w < work.size(); ++w) {
      const Segment& g = segs[work[w].seg];
      const int64_t h = work[w].head, kh = h / group;
      float* dKh = dk_h.data() + (size_t(h) * N + g.n0) * D;
      float* dVh = dv_h.data() + (size_t(h) * N + g.n0) * D;
      for (int64_t r0 = 0; r0 < g.len; r0 += kQueryBlock) {
        const int64_t r1 = std::min(g.len, r0 + kQueryBlock), qb = r1 - r0;
        const int64_t klo = first_key(r0, s.window), L = r1 - klo;
        const float* Q = q + (g.n0 + r0) * qs + h * D;
        const float* dO = dout + (g.n0 + r0) * qs + h * D;
        const float* O = out + (g.n0 + r0) * qs + h * D;
        const float* Kp = k + (g.n0 + klo) * ks + kh * D;
        const float* Vp = v + (g.n0 + klo) * ks + kh * D;
        sgemm(false, true, qb, L, D, s.scale, Q, qs, Kp, ks, 0.f, P.data(), L);
        for (int64_t r = 0; r < qb; ++r) {
          const int64_t i = r0 + r, lo = first_key(i, s.window) - klo, hi = i - klo;
          const float l = lse[h * N + g.n0 + i];
          float* Pr = P.data() + r * L;
          for (int64_t j = 0; j < lo; ++j) Pr[j] = 0.f;
          int64_t j = lo;
          for (; j + 8 <= hi + 1; j += 8) f8_store(Pr + j, exp8(f8_load(Pr + j) - l));
          for (; j <= hi; ++j) Pr[j] = fast_exp(Pr[j] - l);
          for (j = hi + 1; j < L; ++j) Pr[j] = 0.f;
          float d = 0.f;
          for (int64_t c = 0; c < D; ++c) d += dO[r * qs + c] * O[r * qs + c];
          delta[r] = d;
        }
        sgemm(false, true, qb, L, D, 1.f, dO, qs, Vp, ks, 0.f, dS.data(), L);  // dP
        for (int64_t r = 0; r < qb; ++r) {
          float* dSr = dS.data() + r * L;
          const float* Pr = P.data() + r * L;
          for (int64_t j = 0; j < L; ++j) dSr[j] = Pr[j] * (dSr[j] - delta[r]);
        }
        sgemm(false, false, qb, D, L, s.scale, dS.data(), L, Kp, ks, 0.f, dq + (g.n0 + r0) * qs + h * D, qs);
        sgemm(true, false, L, D, qb, s.scale, dS.data(), L, Q, qs, 1.f, dKh + klo * D, D);
        sgemm(true, false, L, D, qb, 1.f, P.data(), L, dO, qs, 1.f, dVh + klo * D, D);
      }
    }
#pragma omp for schedule(static)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t j = 0; j < s.K; ++j) {
        float* dkn = dk + n * ks + j * D;
        float* dvn = dv + n * ks + j * D;
        for (int64_t c = 0; c < D; ++c) dkn[c] = dvn[c] = 0.f;
        for (int64_t h = j * group; h < (j + 1) * group; ++h) {
          const float* a = dk_h.data() + (size_t(h) * N + n) * D;
          const float* b = dv_h.data() + (size_t(h) * N + n) * D;
          for (int64_t c = 0; c < D; ++c) dkn[c] += a[c], dvn[c] += b[c];
        }
      }
  }
}

}  // namespace tandem::cpu
