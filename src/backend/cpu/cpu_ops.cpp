// CpuOps: checks shapes at the op entry (a mismatch here is a Tandem bug, so TD_ASSERT), then
// calls the raw-pointer kernels of kernels.h. Small elementwise ops live here directly.
#include "backend/cpu/cpu_ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "backend/cpu/kernels.h"

namespace tandem::cpu {

namespace {

void check_f32(const Tensor& t, const char* name) {
  TD_ASSERT(t.defined() && t.dtype() == DType::kF32 && t.device().kind == DeviceKind::kCpu, name,
            " must be a defined F32 CPU tensor");
}
const float* opt(const Tensor& t) { return t.defined() ? t.f32() : nullptr; }
// A 2-D F32 or BF16 tensor as a GEMM operand (row-major, leading dimension = its width).
GemmOperand operand(const Tensor& t, const char* name) {
  TD_ASSERT(t.defined() && t.device().kind == DeviceKind::kCpu && (t.dtype() == DType::kF32 || t.dtype() == DType::kBF16),
            name, " must be a defined F32 or BF16 CPU tensor");
  if (t.dtype() == DType::kF32) return {t.f32(), nullptr, t.dim(-1)};
  return {nullptr, t.data<uint16_t>(), t.dim(-1)};
}
float* opt_mut(Tensor& t) { return t.defined() ? t.f32() : nullptr; }

template <class F>
void convert_loop(int64_t n, F f) {
#pragma omp parallel for schedule(static) if (n >= kMinParallelElems)
  for (int64_t i = 0; i < n; ++i) f(i);
}

class CpuOps final : public Ops {
 public:
  void fill(Tensor& t, float value) const override {
    check_f32(t, "fill");
    float* p = t.f32();
    convert_loop(t.numel(), [&](int64_t i) { p[i] = value; });
  }

  void convert(const Tensor& src, Tensor& dst) const override {
    TD_ASSERT(src.numel() == dst.numel(), "convert ", shape_str(src.shape()), " -> ", shape_str(dst.shape()));
    const int64_t n = src.numel();
    const DType a = src.dtype(), b = dst.dtype();
    if (a == b) {
      std::memcpy(dst.raw(), src.raw(), src.nbytes());
      return;
    }
    // Through f64 for F64 endpoints, else through f32.
    if (b == DType::kF32) {
      float* o = dst.f32();
      switch (a) {
        case DType::kBF16: { auto* s = src.data<uint16_t>(); convert_loop(n, [&](int64_t i) { o[i] = bf16_to_f32(s[i]); }); return; }
        case DType::kF16: { auto* s = src.data<uint16_t>(); convert_loop(n, [&](int64_t i) { o[i] = f16_to_f32(s[i]); }); return; }
        case DType::kF64: { auto* s = src.data<double>(); convert_loop(n, [&](int64_t i) { o[i] = float(s[i]); }); return; }
        default: break;
      }
    } else if (a == DType::kF32) {
      const float* s = src.f32();
      switch (b) {
        case DType::kBF16: { auto* o = dst.data<uint16_t>(); convert_loop(n, [&](int64_t i) { o[i] = f32_to_bf16(s[i]); }); return; }
        case DType::kF16: { auto* o = dst.data<uint16_t>(); convert_loop(n, [&](int64_t i) { o[i] = f32_to_f16(s[i]); }); return; }
        case DType::kF64: { auto* o = dst.data<double>(); convert_loop(n, [&](int64_t i) { o[i] = s[i]; }); return; }
        default: break;
      }
    }
    TD_ASSERT(false, "convert ", dtype_name(a), " -> ", dtype_name(b), " not supported");
  }

  void axpy(float alpha, const Tensor& x, Tensor& y) const override {
    check_f32(x, "axpy.x");
    check_f32(y, "axpy.y");
    TD_ASSERT(x.numel() == y.numel(), "axpy sizes");
    const float* xp = x.f32();
    float* yp = y.f32();
    convert_loop(x.numel(), [&](int64_t i) { yp[i] += alpha * xp[i]; });
  }

  void scale(Tensor& y, float alpha) const override {
    check_f32(y, "scale");
    float* yp = y.f32();
    convert_loop(y.numel(), [&](int64_t i) { yp[i] *= alpha; });
  }

  double sum_squares(const Tensor& x) const override {
    check_f32(x, "sum_squares");
    // Fixed blocks summed in order: the result does not depend on the thread count, so a run
    // resumed with other threads logs the same gradient norm and clips by the same factor.
    const float* p = x.f32();
    const int64_t n = x.numel(), kBlocks = 64, per = (n + kBlocks - 1) / kBlocks;
    double part[kBlocks] = {};
#pragma omp parallel for schedule(static) if (n >= kMinParallelElems)
    for (int64_t b = 0; b < kBlocks; ++b) {
      double s = 0;
      for (int64_t i = b * per; i < std::min(n, (b + 1) * per); ++i) s += double(p[i]) * p[i];
      part[b] = s;
    }
    double s = 0;
    for (double v : part) s += v;
    return s;
  }

  bool bf16_gemm_available(std::string* why_not) const override { return cpu::bf16_gemm_available(why_not); }

  void gemm(bool ta, bool tb, float alpha, const Tensor& a, const Tensor& b, float beta, Tensor& c) const override {
    const GemmOperand ga = operand(a, "gemm.a"), gb = operand(b, "gemm.b");
    check_f32(c, "gemm.c");
    TD_ASSERT(a.ndim() == 2 && b.ndim() == 2 && c.ndim() == 2, "gemm wants 2-D");
    const int64_t M = ta ? a.dim(1) : a.dim(0), K = ta ? a.dim(0) : a.dim(1);
    const int64_t Kb = tb ? b.dim(1) : b.dim(0), N = tb ? b.dim(0) : b.dim(1);
    TD_ASSERT(K == Kb && c.dim(0) == M && c.dim(1) == N, "gemm shapes a", shape_str(a.shape()), (ta ? "^T" : ""),
              " b", shape_str(b.shape()), (tb ? "^T" : ""), " c", shape_str(c.shape()));
    gemm_any(ta, tb, M, N, K, alpha, ga, gb, beta, c.f32(), c.dim(1));
  }

  void bias_forward(Tensor& y, const Tensor& bias) const override {
    const int64_t O = bias.numel(), N = y.numel() / O;
    TD_ASSERT(y.dim(-1) == O, "bias size");
    float* yp = y.f32();
    const float* bp = bias.f32();
#pragma omp parallel for schedule(static) if (N * O >= kMinParallelElems)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t o = 0; o < O; ++o) yp[n * O + o] += bp[o];
  }

  void bias_backward(const Tensor& dy, Tensor& dbias) const override {
    const int64_t O = dbias.numel(), N = dy.numel() / O;
    TD_ASSERT(dy.dim(-1) == O, "bias size");
    const float* d = dy.f32();
    float* db = dbias.f32();
#pragma omp parallel for schedule(static) if (N * O >= kMinParallelElems)
    for (int64_t o = 0; o < O; ++o) {
      double s = 0;
      for (int64_t n = 0; n < N; ++n) s += d[n * O + o];
      db[o] += float(s);
    }
  }

  void embedding_forward(const Tensor& ids, const Tensor& table, Tensor& out) const override {
    const int64_t N = ids.numel(), V = table.dim(0), C = table.dim(1);
    TD_ASSERT(out.numel() == N * C, "embedding out");
    const int32_t* id = ids.i32();
    const float* tp = table.f32();
    float* o = out.f32();
#pragma omp parallel for schedule(static) if (N * C >= kMinParallelElems)
    for (int64_t n = 0; n < N; ++n) {
      const int64_t t = id[n];
      TD_ASSERT(t >= 0 && t < V, "token id ", t, " outside vocab ", V, " (validated at batch build)");
      std::memcpy(o + n * C, tp + t * C, size_t(C) * 4);
    }
  }

  void embedding_backward(const Tensor& ids, const Tensor& dout, Tensor& dtable) const override {
    // Sequential over tokens: repeated ids would race, and the order fixes the rounding.
    const int64_t N = ids.numel(), C = dtable.dim(1);
    const int32_t* id = ids.i32();
    const float* d = dout.f32();
    float* dt = dtable.f32();
    for (int64_t n = 0; n < N; ++n) {
      float* row = dt + int64_t(id[n]) * C;
      const float* g = d + n * C;
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) row[c] += g[c];
    }
  }

  void rmsnorm_forward(const Tensor& x, const Tensor& w, float eps, Tensor& y, Tensor& rstd) const override {
    const int64_t C = w.numel(), R = x.numel() / C;
    TD_ASSERT(x.dim(-1) == C && y.numel() == x.numel() && rstd.numel() == R, "rmsnorm shapes");
    cpu::rmsnorm_forward(x.f32(), w.f32(), y.f32(), rstd.f32(), R, C, eps);
  }

  void rmsnorm_backward(const Tensor& dy, const Tensor& x, const Tensor& w, const Tensor& rstd, Tensor& dx,
                        Tensor& dw) const override {
    const int64_t C = w.numel(), R = x.numel() / C;
    TD_ASSERT(dy.numel() == x.numel() && dx.numel() == x.numel() && dw.numel() == C && rstd.numel() == R,
              "rmsnorm backward shapes");
    cpu::rmsnorm_backward(dy.f32(), x.f32(), w.f32(), rstd.f32(), dx.f32(), dw.f32(), R, C);
  }

  void qkv_prep_forward(const Tensor& qkv, const Tensor& positions, const RopeTable& rope, const Tensor& q_norm,
                        const Tensor& k_norm, float eps, int64_t H, int64_t K, Tensor& q, Tensor& k,
                        Tensor& v) const override {
    const int64_t D = rope.head_dim, N = positions.numel();
    TD_ASSERT(qkv.numel() == N * (H + 2 * K) * D && q.numel() == N * H * D && k.numel() == N * K * D &&
                  v.numel() == N * K * D && D % 2 == 0,
              "qkv_prep shapes");
    cpu::qkv_prep_forward(qkv.f32(), positions.i32(), rope.cos.f32(), rope.sin.f32(), opt(q_norm), opt(k_norm), eps,
                          {N, H, K, D}, q.f32(), k.f32(), v.f32());
  }

  void qkv_prep_backward(const Tensor& qkv, const Tensor& positions, const RopeTable& rope, const Tensor& q_norm,
                         const Tensor& k_norm, float eps, int64_t H, int64_t K, const Tensor& dq, const Tensor& dk,
                         const Tensor& dv, Tensor& dqkv, Tensor& dq_norm, Tensor& dk_norm) const override {
    const int64_t D = rope.head_dim, N = positions.numel();
    TD_ASSERT(dqkv.numel() == N * (H + 2 * K) * D && dq.numel() == N * H * D, "qkv_prep backward shapes");
    cpu::qkv_prep_backward(qkv.f32(), positions.i32(), rope.cos.f32(), rope.sin.f32(), opt(q_norm), opt(k_norm), eps,
                           {N, H, K, D}, dq.f32(), dk.f32(), dv.f32(), dqkv.f32(), opt_mut(dq_norm),
                           opt_mut(dk_norm));
  }

  void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, const AttnLayout& layout, int64_t window,
                         float scale, Tensor& out, Tensor& lse) const override {
    const AttnShape s = attn_shape(q, k, layout, lse, window, scale);
    cpu::attention_forward(q.f32(), k.f32(), v.f32(), layout, s, out.f32(), lse.f32());
  }

  void attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out, const Tensor& lse,
                          const Tensor& dout, const AttnLayout& layout, int64_t window, float scale, Tensor& dq,
                          Tensor& dk, Tensor& dv) const override {
    const AttnShape s = attn_shape(q, k, layout, lse, window, scale);
    cpu::attention_backward(q.f32(), k.f32(), v.f32(), out.f32(), lse.f32(), dout.f32(), layout, s, dq.f32(),
                            dk.f32(), dv.f32());
  }

  void kv_cache_write(const Tensor& k, const Tensor& v, const Tensor& slots, const Tensor& positions, Tensor& k_cache,
                      Tensor& v_cache) const override {
    const CacheShape s = cache_shape(k_cache, v_cache, 0);
    const int64_t R = slots.numel();
    TD_ASSERT(positions.numel() == R && k.numel() == R * s.K * s.D && v.numel() == k.numel(), "kv_cache_write shapes");
    for (int64_t r = 0; r < R; ++r)
      TD_ASSERT(slots.i32()[r] >= 0 && slots.i32()[r] < s.S && positions.i32()[r] >= 0 && positions.i32()[r] < s.M,
                "kv_cache_write row ", r, " slot ", slots.i32()[r], " position ", positions.i32()[r]);
    cpu::kv_cache_write(k.f32(), v.f32(), slots.i32(), positions.i32(), R, s, k_cache.f32(), v_cache.f32());
  }

  void attention_decode(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache, const Tensor& slots,
                        const Tensor& lengths, int64_t window, float scale, Tensor& out) const override {
    const int64_t R = slots.numel();
    TD_ASSERT(q.ndim() == 3 && q.dim(0) == R && lengths.numel() == R && out.shape() == q.shape(),
              "attention_decode shapes q", shape_str(q.shape()), " out", shape_str(out.shape()));
    const CacheShape s = cache_shape(k_cache, v_cache, q.dim(1));
    TD_ASSERT(q.dim(2) == s.D && s.H % s.K == 0, "attention_decode heads H=", s.H, " K=", s.K, " D=", q.dim(2));
    for (int64_t r = 0; r < R; ++r)
      TD_ASSERT(slots.i32()[r] >= 0 && slots.i32()[r] < s.S && lengths.i32()[r] >= 1 && lengths.i32()[r] <= s.M,
                "attention_decode row ", r, " slot ", slots.i32()[r], " length ", lengths.i32()[r]);
    cpu::attention_decode(q.f32(), k_cache.f32(), v_cache.f32(), slots.i32(), lengths.i32(), R, s, window, scale,
                          out.f32());
  }

  void swiglu_forward(const Tensor& gate_up, Tensor& out) const override {
    const int64_t I = out.dim(-1), N = out.numel() / I;
    TD_ASSERT(gate_up.numel() == 2 * N * I, "swiglu shapes");
    cpu::swiglu_forward(gate_up.f32(), out.f32(), N, I);
  }

  void swiglu_backward(const Tensor& gate_up, const Tensor& dout, Tensor& dgate_up) const override {
    const int64_t I = dout.dim(-1), N = dout.numel() / I;
    TD_ASSERT(gate_up.numel() == 2 * N * I && dgate_up.numel() == 2 * N * I, "swiglu backward shapes");
    cpu::swiglu_backward(gate_up.f32(), dout.f32(), dgate_up.f32(), N, I);
  }

  void logprob_forward(const Tensor& h, const Tensor& w, const Tensor& targets, Tensor& logp, Tensor& lse,
                       Tensor& entropy) const override {
    const int64_t C = w.dim(1), V = w.dim(0), N = h.numel() / C;
    TD_ASSERT(h.dim(-1) == C && targets.numel() == N && logp.numel() == N && lse.numel() == N, "logprob shapes");
    cpu::logprob_forward(h.f32(), operand(w, "logprob.w"), targets.i32(), N, C, V, logp.f32(), lse.f32(), opt_mut(entropy));
  }

  void logprob_backward(const Tensor& h, const Tensor& w, const Tensor& targets, const Tensor& lse,
                        const Tensor& entropy, const Tensor& dlogp, const Tensor& dentropy, Tensor& dh,
                        Tensor& dw) const override {
    const int64_t C = w.dim(1), V = w.dim(0), N = h.numel() / C;
    TD_ASSERT(dh.numel() == N * C && (!dw.defined() || dw.numel() == V * C), "logprob backward shapes");
    TD_ASSERT(!dentropy.defined() || entropy.defined(), "entropy gradient needs the forward entropy");
    cpu::logprob_backward(h.f32(), operand(w, "logprob.w"), targets.i32(), lse.f32(), opt(entropy), opt(dlogp), opt(dentropy), N, C,
                          V, dh.f32(), opt_mut(dw));
  }

  void logprob_fused(const Tensor& h, const Tensor& w, const Tensor& targets, const Tensor& dlogp,
                     const Tensor& dentropy, Tensor& logp, Tensor& entropy, Tensor& dh, Tensor& dw) const override {
    const int64_t C = w.dim(1), V = w.dim(0), N = h.numel() / C;
    TD_ASSERT(targets.numel() == N && logp.numel() == N && dh.numel() == N * C && (!dw.defined() || dw.numel() == V * C),
              "logprob_fused shapes");
    TD_ASSERT(!dentropy.defined() || entropy.defined(), "entropy gradient needs the entropy output");
    cpu::logprob_fused(h.f32(), operand(w, "logprob.w"), targets.i32(), opt(dlogp), opt(dentropy), N, C, V, logp.f32(),
                       opt_mut(entropy), dh.f32(), opt_mut(dw));
  }

 private:
  static CacheShape cache_shape(const Tensor& k_cache, const Tensor& v_cache, int64_t H) {
    check_f32(k_cache, "k_cache");
    check_f32(v_cache, "v_cache");
    // values [S, K, M, D], keys transposed [S, K, D, M]
    TD_ASSERT(v_cache.ndim() == 4, "v_cache shape ", shape_str(v_cache.shape()));
    const Shape k_want = {v_cache.dim(0), v_cache.dim(1), v_cache.dim(3), v_cache.dim(2)};
    TD_ASSERT(k_cache.shape() == k_want, "kv cache shapes k", shape_str(k_cache.shape()), " v", shape_str(v_cache.shape()));
    return {v_cache.dim(0), v_cache.dim(2), H, v_cache.dim(1), v_cache.dim(3)};
  }

  static AttnShape attn_shape(const Tensor& q, const Tensor& k, const AttnLayout& layout, const Tensor& lse,
                              int64_t window, float scale) {
    const int64_t N = layout.B * layout.T, H = lse.numel() / std::max<int64_t>(N, 1);
    const int64_t D = N && H ? q.numel() / (N * H) : 0, K = N && D ? k.numel() / (N * D) : 0;
    TD_ASSERT(int64_t(layout.seg_start.size()) == N && q.numel() == N * H * D && K > 0 && H % K == 0,
              "attention shapes N=", N, " H=", H, " D=", D, " K=", K);
    return {N, H, K, D, window, scale};
  }
};

}  // namespace

const Ops& cpu_ops() {
  static const CpuOps ops;
  return ops;
}

}  // namespace tandem::cpu
