// Scalar oracles for every CPU kernel: the plainest loops that state the math, templated on the
// element type so tests run them in double (value oracle) and std::complex<double> (complex-step
// derivatives, which need no subtraction and so are exact to rounding). Never optimise these.
// Shapes and conventions are those of tensor/ops.h.
#pragma once
#include <cmath>
#include <complex>
#include <cstdint>
#include <vector>

namespace tandem::ref {

inline double re(double x) { return x; }
inline double re(const std::complex<double>& x) { return x.real(); }

// y[r,i] = w[i] * x[r,i] / sqrt(mean_j x[r,j]^2 + eps)        x, y: [R, C]   w: [C]
template <class T>
void rmsnorm_forward(const T* x, const T* w, T* y, int64_t R, int64_t C, double eps) {
  using std::sqrt;
  for (int64_t r = 0; r < R; ++r) {
    T ss = T(0);
    for (int64_t i = 0; i < C; ++i) ss += x[r * C + i] * x[r * C + i];
    const T inv = T(1) / sqrt(ss / T(double(C)) + T(eps));
    for (int64_t i = 0; i < C; ++i) y[r * C + i] = w[i] * x[r * C + i] * inv;
  }
}

// qkv [N, (H+2K)D] -> q [N, H*D], k [N, K*D], v [N, K*D]: optional per-head RMSNorm of q and k
// (q_norm/k_norm may be null), then RoPE with angle pos[n] * inv_freq[i] on pairs (i, i + D/2).
template <class T>
void qkv_prep_forward(const T* qkv, const int32_t* pos, const double* inv_freq, double attn_factor, const T* q_norm,
                      const T* k_norm, double eps, int64_t N, int64_t H, int64_t K, int64_t D, T* q, T* k, T* v) {
  const int64_t half = D / 2, row = (H + 2 * K) * D;
  std::vector<T> tmp(D);
  auto head = [&](const T* x, const T* w, T* out) {
    if (w) rmsnorm_forward(x, w, tmp.data(), 1, D, eps);
    else for (int64_t i = 0; i < D; ++i) tmp[i] = x[i];
    for (int64_t i = 0; i < D; ++i) out[i] = tmp[i];
  };
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t h = 0; h < H; ++h) head(qkv + n * row + h * D, q_norm, q + (n * H + h) * D);
    for (int64_t h = 0; h < K; ++h) head(qkv + n * row + (H + h) * D, k_norm, k + (n * K + h) * D);
    for (int64_t i = 0; i < K * D; ++i) v[n * K * D + i] = qkv[n * row + (H + K) * D + i];
    auto rotate = [&](T* x) {
      for (int64_t i = 0; i < half; ++i) {
        const double ang = double(pos[n]) * double(float(inv_freq[i]));
        const T c = T(std::cos(ang) * attn_factor), s = T(std::sin(ang) * attn_factor);
        const T x1 = x[i], x2 = x[i + half];
        x[i] = x1 * c - x2 * s;
        x[i + half] = x2 * c + x1 * s;
      }
    };
    for (int64_t h = 0; h < H; ++h) rotate(q + (n * H + h) * D);
    for (int64_t h = 0; h < K; ++h) rotate(k + (n * K + h) * D);
  }
}

// Causal attention within segments with GQA (query head h uses kv head h / (H/K)) and an optional
// window (key j visible to query i iff seg_start(i) <= j <= i and i - j < window when window > 0).
// seg_start [B*T]: index within the row of the first token of the segment, -1 = padding (out 0).
template <class T>
void attention_forward(const T* q, const T* k, const T* v, const int32_t* seg_start, int64_t B, int64_t Tn,
                       int64_t H, int64_t K, int64_t D, int64_t window, double scale, T* out) {
  using std::exp;
  const int64_t group = H / K;
  std::vector<T> p(Tn);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < Tn; ++i)
      for (int64_t h = 0; h < H; ++h) {
        const int64_t n = b * Tn + i, kh = h / group;
        T* o = out + (n * H + h) * D;
        for (int64_t d = 0; d < D; ++d) o[d] = T(0);
        if (seg_start[n] < 0) continue;
        int64_t lo = seg_start[n];
        if (window > 0 && i - window + 1 > lo) lo = i - window + 1;
        double m = -1e300;
        for (int64_t j = lo; j <= i; ++j) {
          T s = T(0);
          for (int64_t d = 0; d < D; ++d) s += q[(n * H + h) * D + d] * k[((b * Tn + j) * K + kh) * D + d];
          p[j] = s * T(scale);
          if (re(p[j]) > m) m = re(p[j]);
        }
        T sum = T(0);
        for (int64_t j = lo; j <= i; ++j) sum += (p[j] = exp(p[j] - T(m)));
        for (int64_t j = lo; j <= i; ++j)
          for (int64_t d = 0; d < D; ++d) o[d] += p[j] / sum * v[((b * Tn + j) * K + kh) * D + d];
      }
}

// Decode attention against a KV cache, keys [S, K, D, M], values [S, K, M, D] (tensor/ops.h):
// row r's query q[r] [H, D] sits at position
// len[r] - 1 of slot slot[r] and sees positions j with j < len[r] and, when window > 0,
// (len[r] - 1) - j < window.
template <class T>
void attention_decode(const T* q, const T* k_cache, const T* v_cache, const int32_t* slot, const int32_t* len,
                      int64_t R, int64_t M, int64_t H, int64_t K, int64_t D, int64_t window, double scale, T* out) {
  using std::exp;
  for (int64_t r = 0; r < R; ++r)
    for (int64_t h = 0; h < H; ++h) {
      const int64_t kh = h / (H / K), i = len[r] - 1;
      std::vector<T> p(size_t(len[r]), T(0));
      double m = -1e300;
      for (int64_t j = 0; j <= i; ++j) {
        if (window > 0 && i - j >= window) continue;
        T s = T(0);
        for (int64_t d = 0; d < D; ++d) s += q[(r * H + h) * D + d] * k_cache[((slot[r] * K + kh) * D + d) * M + j];
        p[j] = s * T(scale);
        if (re(p[j]) > m) m = re(p[j]);
      }
      T sum = T(0);
      for (int64_t j = 0; j <= i; ++j)
        if (!(window > 0 && i - j >= window)) sum += (p[j] = exp(p[j] - T(m)));
      for (int64_t d = 0; d < D; ++d) {
        T o = T(0);
        for (int64_t j = 0; j <= i; ++j)
          if (!(window > 0 && i - j >= window)) o += p[j] / sum * v_cache[((slot[r] * K + kh) * M + j) * D + d];
        out[(r * H + h) * D + d] = o;
      }
    }
}

// out [N, I] = silu(g) * u with gate_up [N, 2I] = [g | u].
template <class T>
void swiglu_forward(const T* gate_up, T* out, int64_t N, int64_t I) {
  using std::exp;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t i = 0; i < I; ++i) {
      const T g = gate_up[n * 2 * I + i], u = gate_up[n * 2 * I + I + i];
      out[n * I + i] = g / (T(1) + exp(-g)) * u;
    }
}

// logits = h W^T; for rows with target >= 0: logp = logits[target] - logsumexp(logits),
// entropy = logsumexp - sum softmax * logits; rows without a target give 0.
template <class T>
void logprob_forward(const T* h, const T* w, const int32_t* targets, int64_t N, int64_t C, int64_t V, T* logp,
                     T* entropy) {
  using std::exp;
  using std::log;
  std::vector<T> l(V);
  for (int64_t n = 0; n < N; ++n) {
    logp[n] = T(0);
    if (entropy) entropy[n] = T(0);
    if (targets[n] < 0) continue;
    double m = -1e300;
    for (int64_t v = 0; v < V; ++v) {
      T s = T(0);
      for (int64_t c = 0; c < C; ++c) s += h[n * C + c] * w[v * C + c];
      l[v] = s;
      if (re(s) > m) m = re(s);
    }
    T z = T(0), dot = T(0);
    for (int64_t v = 0; v < V; ++v) {
      const T e = exp(l[v] - T(m));
      z += e;
      dot += e * l[v];
    }
    const T lse = T(m) + log(z);
    logp[n] = l[targets[n]] - lse;
    if (entropy) entropy[n] = lse - dot / z;
  }
}

}  // namespace tandem::ref
