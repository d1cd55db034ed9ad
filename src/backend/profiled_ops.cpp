#include "backend/profiled_ops.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <vector>

namespace tandem {

namespace {

struct Entry {
  double seconds = 0;
  int64_t calls = 0;
};
std::mutex g_mu;
std::map<std::string, Entry> g_table;
bool g_used = false;

class Timer {
 public:
  explicit Timer(const char* name) : name_(name), t0_(std::chrono::steady_clock::now()) {}
  ~Timer() {
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
    std::lock_guard<std::mutex> lock(g_mu);
    auto& e = g_table[name_];
    e.seconds += s;
    ++e.calls;
  }

 private:
  const char* name_;
  std::chrono::steady_clock::time_point t0_;
};

// GEMMs are split by transpose pattern, the part of the profile that tells forward from backward.
const char* gemm_name(bool ta, bool tb, bool bf16) {
  if (bf16) return ta ? (tb ? "gemm_TT bf16" : "gemm_TN bf16 (weight grads)") : (tb ? "gemm_NT bf16 (forward)" : "gemm_NN bf16 (input grads)");
  return ta ? (tb ? "gemm_TT" : "gemm_TN (weight grads)") : (tb ? "gemm_NT (forward)" : "gemm_NN (input grads)");
}

class ProfiledOps final : public Ops {
 public:
  explicit ProfiledOps(const Ops& in) : in_(in) {}
  void fill(Tensor& t, float v) const override { Timer _("fill"); in_.fill(t, v); }
  void convert(const Tensor& s, Tensor& d) const override { Timer _("convert/copy"); in_.convert(s, d); }
  void axpy(float a, const Tensor& x, Tensor& y) const override { Timer _("axpy"); in_.axpy(a, x, y); }
  void scale(Tensor& y, float a) const override { Timer _("scale"); in_.scale(y, a); }
  double sum_squares(const Tensor& x) const override { Timer _("sum_squares"); return in_.sum_squares(x); }
  bool bf16_gemm_available(std::string* why_not) const override { return in_.bf16_gemm_available(why_not); }
  void gemm(bool ta, bool tb, float al, const Tensor& a, const Tensor& b, float be, Tensor& c) const override {
    Timer _(gemm_name(ta, tb, a.dtype() == DType::kBF16 || b.dtype() == DType::kBF16));
    in_.gemm(ta, tb, al, a, b, be, c);
  }
  void bias_forward(Tensor& y, const Tensor& b) const override { Timer _("bias"); in_.bias_forward(y, b); }
  void bias_backward(const Tensor& dy, Tensor& db) const override { Timer _("bias"); in_.bias_backward(dy, db); }
  void embedding_forward(const Tensor& i, const Tensor& t, Tensor& o) const override { Timer _("embedding"); in_.embedding_forward(i, t, o); }
  void embedding_backward(const Tensor& i, const Tensor& d, Tensor& dt) const override { Timer _("embedding"); in_.embedding_backward(i, d, dt); }
  void rmsnorm_forward(const Tensor& x, const Tensor& w, float e, Tensor& y, Tensor& r) const override {
    Timer _("rmsnorm");
    in_.rmsnorm_forward(x, w, e, y, r);
  }
  void rmsnorm_backward(const Tensor& dy, const Tensor& x, const Tensor& w, const Tensor& r, Tensor& dx, Tensor& dw) const override {
    Timer _("rmsnorm");
    in_.rmsnorm_backward(dy, x, w, r, dx, dw);
  }
  void qkv_prep_forward(const Tensor& qkv, const Tensor& p, const RopeTable& r, const Tensor& qn, const Tensor& kn, float e,
                        int64_t H, int64_t K, Tensor& q, Tensor& k, Tensor& v) const override {
    Timer _("qkv_prep (rope, qk-norm)");
    in_.qkv_prep_forward(qkv, p, r, qn, kn, e, H, K, q, k, v);
  }
  void qkv_prep_backward(const Tensor& qkv, const Tensor& p, const RopeTable& r, const Tensor& qn, const Tensor& kn, float e,
                         int64_t H, int64_t K, const Tensor& dq, const Tensor& dk, const Tensor& dv, Tensor& dqkv,
                         Tensor& dqn, Tensor& dkn) const override {
    Timer _("qkv_prep (rope, qk-norm)");
    in_.qkv_prep_backward(qkv, p, r, qn, kn, e, H, K, dq, dk, dv, dqkv, dqn, dkn);
  }
  void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, const AttnLayout& l, int64_t w, float s,
                         Tensor& o, Tensor& lse) const override {
    Timer _("attention forward");
    in_.attention_forward(q, k, v, l, w, s, o, lse);
  }
  void attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& o, const Tensor& lse,
                          const Tensor& d, const AttnLayout& l, int64_t w, float s, Tensor& dq, Tensor& dk,
                          Tensor& dv) const override {
    Timer _("attention backward");
    in_.attention_backward(q, k, v, o, lse, d, l, w, s, dq, dk, dv);
  }
  void kv_cache_write(const Tensor& k, const Tensor& v, const Tensor& s, const Tensor& p, Tensor& kc,
                      Tensor& vc) const override {
    Timer _("kv_cache_write");
    in_.kv_cache_write(k, v, s, p, kc, vc);
  }
  void attention_decode(const Tensor& q, const Tensor& kc, const Tensor& vc, const Tensor& s, const Tensor& len,
                        int64_t w, float sc, Tensor& o) const override {
    Timer _("attention decode");
    in_.attention_decode(q, kc, vc, s, len, w, sc, o);
  }
  void swiglu_forward(const Tensor& gu, Tensor& o) const override { Timer _("swiglu"); in_.swiglu_forward(gu, o); }
  void swiglu_backward(const Tensor& gu, const Tensor& d, Tensor& dgu) const override { Timer _("swiglu"); in_.swiglu_backward(gu, d, dgu); }
  void logprob_forward(const Tensor& h, const Tensor& w, const Tensor& t, Tensor& lp, Tensor& lse, Tensor& e) const override {
    Timer _("lm-head logprob forward");
    in_.logprob_forward(h, w, t, lp, lse, e);
  }
  void logprob_backward(const Tensor& h, const Tensor& w, const Tensor& t, const Tensor& lse, const Tensor& e,
                        const Tensor& dl, const Tensor& de, Tensor& dh, Tensor& dw) const override {
    Timer _("lm-head logprob backward");
    in_.logprob_backward(h, w, t, lse, e, dl, de, dh, dw);
  }
  void logprob_fused(const Tensor& h, const Tensor& w, const Tensor& t, const Tensor& dl, const Tensor& de, Tensor& lp,
                     Tensor& e, Tensor& dh, Tensor& dw) const override {
    Timer _("lm-head logprob fused fwd+bwd");
    in_.logprob_fused(h, w, t, dl, de, lp, e, dh, dw);
  }

 private:
  const Ops& in_;
};

}  // namespace

const Ops& profiled(const Ops& inner) {
  static const ProfiledOps ops(inner);  // one inner table (CPU) exists in this build
  g_used = true;
  return ops;
}

std::string op_profile_report() {
  std::lock_guard<std::mutex> lock(g_mu);
  if (!g_used || g_table.empty()) return "";
  std::vector<std::pair<std::string, Entry>> rows(g_table.begin(), g_table.end());
  std::sort(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.second.seconds > b.second.seconds; });
  double total = 0;
  for (auto& r : rows) total += r.second.seconds;
  std::string out = "op                              seconds   share   calls\n";
  char line[160];
  for (auto& [name, e] : rows) {
    std::snprintf(line, sizeof line, "%-30s %9.4f  %5.1f%%  %6lld\n", name.c_str(), e.seconds, 100 * e.seconds / total,
                  (long long)e.calls);
    out += line;
  }
  std::snprintf(line, sizeof line, "%-30s %9.4f\n", "total in ops", total);
  return out + line;
}

void op_profile_reset() {
  std::lock_guard<std::mutex> lock(g_mu);
  g_table.clear();
}

}  // namespace tandem
