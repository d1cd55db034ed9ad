// From the fused QKV projection to attention inputs: split, optional per-head RMSNorm of q and k
// (Qwen3), RoPE on q and k (HF rotate_half: pairs (i, i + D/2)). One pass over the row, so the
// split costs no extra sweep. Backward recomputes the norm from the saved pre-norm qkv instead of
// storing normalised copies.
#include <omp.h>

#include <cmath>
#include <vector>

#include "backend/cpu/kernels.h"

namespace tandem::cpu {

namespace {

// y = w * x * r over one head of D values; returns r.
inline float head_norm(const float* x, const float* w, float eps, int64_t D, float* y) {
  float ss = 0.f;
  for (int64_t i = 0; i < D; ++i) ss += x[i] * x[i];
  const float r = 1.f / std::sqrt(ss / float(D) + eps);
  for (int64_t i = 0; i < D; ++i) y[i] = w[i] * x[i] * r;
  return r;
}

inline void rope_rotate(float* a, const float* c, const float* s, int64_t half) {
#pragma omp simd
  for (int64_t i = 0; i < half; ++i) {
    const float x1 = a[i], x2 = a[i + half];
    a[i] = x1 * c[i] - x2 * s[i];
    a[i + half] = x2 * c[i] + x1 * s[i];
  }
}

// Transpose of the rotation (the rotation is orthogonal up to the yarn factor folded into c, s).
inline void rope_rotate_back(float* a, const float* c, const float* s, int64_t half) {
#pragma omp simd
  for (int64_t i = 0; i < half; ++i) {
    const float g1 = a[i], g2 = a[i + half];
    a[i] = g1 * c[i] + g2 * s[i];
    a[i + half] = g2 * c[i] - g1 * s[i];
  }
}

}  // namespace

void qkv_prep_forward(const float* qkv, const int32_t* pos, const float* cos, const float* sin, const float* q_norm,
                      const float* k_norm, float eps, QkvShape s, float* q, float* k, float* v) {
  const int64_t D = s.D, half = D / 2, row = (s.H + 2 * s.K) * D;
#pragma omp parallel for schedule(static) if (s.N * row >= kMinParallelElems)
  for (int64_t n = 0; n < s.N; ++n) {
    const float* src = qkv + n * row;
    const float* c = cos + int64_t(pos[n]) * half;
    const float* sn = sin + int64_t(pos[n]) * half;
    for (int64_t h = 0; h < s.H; ++h) {
      float* dst = q + (n * s.H + h) * D;
      if (q_norm) head_norm(src + h * D, q_norm, eps, D, dst);
      else for (int64_t i = 0; i < D; ++i) dst[i] = src[h * D + i];
      rope_rotate(dst, c, sn, half);
    }
    for (int64_t h = 0; h < s.K; ++h) {
      float* dst = k + (n * s.K + h) * D;
      const float* x = src + (s.H + h) * D;
      if (k_norm) head_norm(x, k_norm, eps, D, dst);
      else for (int64_t i = 0; i < D; ++i) dst[i] = x[i];
      rope_rotate(dst, c, sn, half);
    }
    const float* vs = src + (s.H + s.K) * D;
    float* vd = v + n * s.K * D;
    for (int64_t i = 0; i < s.K * D; ++i) vd[i] = vs[i];
  }
}

void qkv_prep_backward(const float* qkv, const int32_t* pos, const float* cos, const float* sin, const float* q_norm,
                       const float* k_norm, float eps, QkvShape s, const float* dq, const float* dk, const float* dv,
                       float* dqkv, float* dq_norm, float* dk_norm) {
  const int64_t D = s.D, half = D / 2, row = (s.H + 2 * s.K) * D;
  const int nt = omp_get_max_threads();
  std::vector<float> part(size_t(nt) * 2 * D, 0.f);  // per-thread dq_norm | dk_norm
#pragma omp parallel num_threads(nt) if (s.N * row >= kMinParallelElems)
  {
    float* my_q = part.data() + size_t(omp_get_thread_num()) * 2 * D;
    float* my_k = my_q + D;
    std::vector<float> g(D);
#pragma omp for schedule(static)
    for (int64_t n = 0; n < s.N; ++n) {
      const float* src = qkv + n * row;
      float* dst = dqkv + n * row;
      const float* c = cos + int64_t(pos[n]) * half;
      const float* sn = sin + int64_t(pos[n]) * half;
      auto one_head = [&](const float* x, const float* dy_post, const float* w, float* dw, float* dx) {
        for (int64_t i = 0; i < D; ++i) g[i] = dy_post[i];
        rope_rotate_back(g.data(), c, sn, half);  // gradient w.r.t. the pre-RoPE (post-norm) head
        if (!w) {
          for (int64_t i = 0; i < D; ++i) dx[i] = g[i];
          return;
        }
        float ss = 0.f, dot = 0.f;
        for (int64_t i = 0; i < D; ++i) ss += x[i] * x[i];
        const float r = 1.f / std::sqrt(ss / float(D) + eps);
        for (int64_t i = 0; i < D; ++i) dot += w[i] * g[i] * x[i];
        const float coef = r * r * r * dot / float(D);
        for (int64_t i = 0; i < D; ++i) {
          dx[i] = r * w[i] * g[i] - coef * x[i];
          dw[i] += g[i] * x[i] * r;
        }
      };
      for (int64_t h = 0; h < s.H; ++h) one_head(src + h * D, dq + (n * s.H + h) * D, q_norm, my_q, dst + h * D);
      for (int64_t h = 0; h < s.K; ++h)
        one_head(src + (s.H + h) * D, dk + (n * s.K + h) * D, k_norm, my_k, dst + (s.H + h) * D);
      const float* dvs = dv + n * s.K * D;
      float* dvd = dst + (s.H + s.K) * D;
      for (int64_t i = 0; i < s.K * D; ++i) dvd[i] = dvs[i];
    }
  }
  for (int t = 0; t < nt; ++t)
    for (int64_t i = 0; i < D; ++i) {
      if (dq_norm) dq_norm[i] += part[size_t(t) * 2 * D + i];
      if (dk_norm) dk_norm[i] += part[size_t(t) * 2 * D + D + i];
    }
}

}  // namespace tandem::cpu
