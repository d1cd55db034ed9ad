// Every CPU kernel against the scalar oracle of backend/ref (forward, in double) and every
// backward against complex-step derivatives of the oracle's forward (exact to rounding):
// L(x) = <dy, f(x)>  =>  dL/dx_k = Im L(x + i h e_k) / h.
#include <gtest/gtest.h>

#include <cstring>

#include "backend/ref/ref_ops.h"
#include "backend/registry.h"
#include "model/config.h"
#include "model/rope.h"
#include "testing/testing.h"

namespace tandem {
namespace {

using testing::all_close;
using testing::complex_step_grad;
using testing::randn;
using testing::to_double;
using Z = std::complex<double>;

const Ops& ops() { return ops_for(cpu_device()); }

std::vector<Z> zvec(const std::vector<float>& v) { return std::vector<Z>(v.begin(), v.end()); }
Z dot(const std::vector<float>& a, const std::vector<Z>& b) {
  Z s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += double(a[i]) * b[i];
  return s;
}
const testing::Tol kFwd{1e-5, 1e-5}, kBwd{2e-5, 1e-4};

TEST(Kernels, RmsNormForwardBackward) {
  for (int64_t C : {1, 31, 33, 256}) {
    const int64_t R = 5;
    const auto x = randn(R * C, 1 + C, 1.5f), w = randn(C, 2 + C), dy = randn(R * C, 3 + C);
    Tensor X = testing::f32_tensor(x, {R, C}), W = testing::f32_tensor(w, {C}), Y = Tensor::empty({R, C}), rstd = Tensor::empty({R});
    ops().rmsnorm_forward(X, W, 1e-6f, Y, rstd);
    std::vector<double> want(R * C);
    ref::rmsnorm_forward(to_double(x).data(), to_double(w).data(), want.data(), R, C, 1e-6);
    EXPECT_TRUE(all_close(testing::to_vec(Y), want, kFwd, "rmsnorm fwd"));
    Tensor dX = Tensor::empty({R, C}), dW = Tensor::zeros({C});
    ops().rmsnorm_backward(testing::f32_tensor(dy, {R, C}), X, W, rstd, dX, dW);
    auto loss_x = [&](const std::vector<Z>& xz) {
      std::vector<Z> y(R * C), wz = zvec(w);
      ref::rmsnorm_forward(xz.data(), wz.data(), y.data(), R, C, 1e-6);
      return dot(dy, y);
    };
    auto loss_w = [&](const std::vector<Z>& wz) {
      std::vector<Z> y(R * C), xz = zvec(x);
      ref::rmsnorm_forward(xz.data(), wz.data(), y.data(), R, C, 1e-6);
      return dot(dy, y);
    };
    EXPECT_TRUE(all_close(testing::to_vec(dX), complex_step_grad(loss_x, to_double(x)), kBwd, "rmsnorm dx C=" + std::to_string(C)));
    EXPECT_TRUE(all_close(testing::to_vec(dW), complex_step_grad(loss_w, to_double(w)), kBwd, "rmsnorm dw C=" + std::to_string(C)));
  }
}

TEST(Kernels, SwigluForwardBackward) {
  const int64_t N = 7, I = 33;
  const auto gu = randn(N * 2 * I, 11, 2.f), dy = randn(N * I, 12);
  Tensor GU = testing::f32_tensor(gu, {N, 2 * I}), out = Tensor::empty({N, I}), dGU = Tensor::empty({N, 2 * I});
  ops().swiglu_forward(GU, out);
  std::vector<double> want(N * I);
  ref::swiglu_forward(to_double(gu).data(), want.data(), N, I);
  EXPECT_TRUE(all_close(testing::to_vec(out), want, kFwd, "swiglu fwd"));
  ops().swiglu_backward(GU, testing::f32_tensor(dy, {N, I}), dGU);
  auto loss = [&](const std::vector<Z>& g) {
    std::vector<Z> y(N * I);
    ref::swiglu_forward(g.data(), y.data(), N, I);
    return dot(dy, y);
  };
  EXPECT_TRUE(all_close(testing::to_vec(dGU), complex_step_grad(loss, to_double(gu)), kBwd, "swiglu dgate_up"));
}

// RoPE + optional per-head q/k norm, with a yarn-scaled table so the attention factor is covered.
void check_qkv_prep(bool qk_norm, const std::string& rope_scaling) {
  const int64_t N = 6, H = 4, K = 2, D = 8, QKV = (H + 2 * K) * D;
  Json cj = {{"architectures", {"Qwen3ForCausalLM"}}, {"hidden_size", 32}, {"intermediate_size", 64},
             {"num_hidden_layers", 1}, {"num_attention_heads", H}, {"num_key_value_heads", K}, {"head_dim", D},
             {"vocab_size", 16}, {"rope_theta", 100.0}, {"max_position_embeddings", 64}};
  if (!rope_scaling.empty()) cj["rope_scaling"] = Json::parse(rope_scaling);
  const auto cfg = model::ModelConfig::from_json(cj, "test");
  double af = 1;
  const auto inv = model::rope_inv_freq(cfg, &af);
  const RopeTable rope = model::make_rope_table(cfg, 64);
  const std::vector<int32_t> pos = {0, 1, 2, 7, 33, 63};
  const auto qkv = randn(N * QKV, 21), qn = randn(D, 22), kn = randn(D, 23);
  const auto dq = randn(N * H * D, 24), dk = randn(N * K * D, 25), dv = randn(N * K * D, 26);
  Tensor QN = qk_norm ? testing::f32_tensor(qn, {D}) : Tensor(), KN = qk_norm ? testing::f32_tensor(kn, {D}) : Tensor();
  Tensor q = Tensor::empty({N, H * D}), k = Tensor::empty({N, K * D}), v = Tensor::empty({N, K * D});
  Tensor P = testing::i32_tensor(pos), QKVt = testing::f32_tensor(qkv, {N, QKV});
  ops().qkv_prep_forward(QKVt, P, rope, QN, KN, 1e-6f, H, K, q, k, v);
  auto ref_fwd = [&](const auto& x, const auto& wq, const auto& wk, auto* qo, auto* ko, auto* vo) {
    ref::qkv_prep_forward(x.data(), pos.data(), inv.data(), af, qk_norm ? wq.data() : nullptr,
                          qk_norm ? wk.data() : nullptr, 1e-6, N, H, K, D, qo, ko, vo);
  };
  std::vector<double> wq(N * H * D), wk(N * K * D), wv(N * K * D);
  ref_fwd(to_double(qkv), to_double(qn), to_double(kn), wq.data(), wk.data(), wv.data());
  EXPECT_TRUE(all_close(testing::to_vec(q), wq, kFwd, "qkv_prep q"));
  EXPECT_TRUE(all_close(testing::to_vec(k), wk, kFwd, "qkv_prep k"));
  EXPECT_TRUE(all_close(testing::to_vec(v), wv, kFwd, "qkv_prep v"));
  Tensor dQKV = Tensor::empty({N, QKV}), dQN = qk_norm ? Tensor::zeros({D}) : Tensor(),
         dKN = qk_norm ? Tensor::zeros({D}) : Tensor();
  ops().qkv_prep_backward(QKVt, P, rope, QN, KN, 1e-6f, H, K, testing::f32_tensor(dq, {N, H * D}), testing::f32_tensor(dk, {N, K * D}),
                          testing::f32_tensor(dv, {N, K * D}), dQKV, dQN, dKN);
  auto loss = [&](const std::vector<Z>& x, const std::vector<Z>& a, const std::vector<Z>& b) {
    std::vector<Z> qo(N * H * D), ko(N * K * D), vo(N * K * D);
    ref_fwd(x, a, b, qo.data(), ko.data(), vo.data());
    return dot(dq, qo) + dot(dk, ko) + dot(dv, vo);
  };
  EXPECT_TRUE(all_close(testing::to_vec(dQKV), complex_step_grad([&](const auto& x) { return loss(x, zvec(qn), zvec(kn)); }, to_double(qkv)),
                        kBwd, "qkv_prep dqkv"));
  if (qk_norm) {
    EXPECT_TRUE(all_close(testing::to_vec(dQN), complex_step_grad([&](const auto& a) { return loss(zvec(qkv), a, zvec(kn)); }, to_double(qn)),
                          kBwd, "qkv_prep dq_norm"));
    EXPECT_TRUE(all_close(testing::to_vec(dKN), complex_step_grad([&](const auto& b) { return loss(zvec(qkv), zvec(qn), b); }, to_double(kn)),
                          kBwd, "qkv_prep dk_norm"));
  }
}

TEST(Kernels, QkvPrepRopeOnly) { check_qkv_prep(false, ""); }
TEST(Kernels, QkvPrepQkNormAndYarn) {
  check_qkv_prep(true, R"({"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 16})");
}

// Two rows: row 0 packs documents of 5 and 3 tokens then 1 pad; row 1 is one document of 7 and 2
// pads; long enough for the 64-query blocks to be exercised by the third case.
void check_attention(int64_t window, int64_t T, std::vector<std::vector<int>> docs, int64_t H = 4, int64_t K = 2,
                     int64_t D = 8) {
  const int64_t B = int64_t(docs.size()), N = B * T;
  std::vector<int32_t> seg(N, -1);
  for (int64_t b = 0; b < B; ++b) {
    int64_t t = 0;
    for (int len : docs[b]) {
      for (int i = 0; i < len; ++i) seg[b * T + t + i] = int32_t(t);
      t += len;
    }
  }
  AttnLayout layout{B, T, seg};
  const auto q = randn(N * H * D, 31), k = randn(N * K * D, 32), v = randn(N * K * D, 33), dout = randn(N * H * D, 34);
  const float scale = 1.f / std::sqrt(float(D));
  Tensor Q = testing::f32_tensor(q, {N, H * D}), Kt = testing::f32_tensor(k, {N, K * D}), Vt = testing::f32_tensor(v, {N, K * D});
  Tensor out = Tensor::empty({N, H * D}), lse = Tensor::empty({H, N});
  ops().attention_forward(Q, Kt, Vt, layout, window, scale, out, lse);
  std::vector<double> want(N * H * D);
  ref::attention_forward(to_double(q).data(), to_double(k).data(), to_double(v).data(), seg.data(), B, T, H, K, D,
                         window, double(scale), want.data());
  EXPECT_TRUE(all_close(testing::to_vec(out), want, kFwd, "attention fwd"));
  Tensor dQ = Tensor::empty({N, H * D}), dK = Tensor::empty({N, K * D}), dV = Tensor::empty({N, K * D});
  ops().attention_backward(Q, Kt, Vt, out, lse, testing::f32_tensor(dout, {N, H * D}), layout, window, scale, dQ, dK, dV);
  auto loss = [&](const std::vector<Z>& qz, const std::vector<Z>& kz, const std::vector<Z>& vz) {
    std::vector<Z> o(N * H * D);
    ref::attention_forward(qz.data(), kz.data(), vz.data(), seg.data(), B, T, H, K, D, window, double(scale), o.data());
    return dot(dout, o);
  };
  EXPECT_TRUE(all_close(testing::to_vec(dQ), complex_step_grad([&](const auto& x) { return loss(x, zvec(k), zvec(v)); }, to_double(q)), kBwd, "attention dq"));
  EXPECT_TRUE(all_close(testing::to_vec(dK), complex_step_grad([&](const auto& x) { return loss(zvec(q), x, zvec(v)); }, to_double(k)), kBwd, "attention dk"));
  EXPECT_TRUE(all_close(testing::to_vec(dV), complex_step_grad([&](const auto& x) { return loss(zvec(q), zvec(k), x); }, to_double(v)), kBwd, "attention dv"));
}

TEST(Kernels, AttentionPackedPaddedGqa) { check_attention(0, 9, {{5, 3}, {7}}); }
TEST(Kernels, AttentionSlidingWindow) { check_attention(3, 9, {{5, 3}, {7}}); }
TEST(Kernels, AttentionAcrossQueryBlocks) {
  check_attention(50, 70, {{70}, {20, 45}}, 2, 1, 4);  // small heads: the oracle is O(T^2) per probe
}

TEST(Kernels, LogprobFusedHeadForwardBackward) {
  // V spans two vocabulary chunks (4096) to exercise the online log-sum-exp across chunks.
  const int64_t N = 6, C = 8, V = 4100;
  const std::vector<int32_t> targets = {3, -1, 4099, 0, 4096, 17};
  const auto h = randn(N * C, 41, 2.f), w = randn(V * C, 42), gl = randn(N, 43), ge = randn(N, 44);
  Tensor Ht = testing::f32_tensor(h, {N, C}), Wt = testing::f32_tensor(w, {V, C}), T = testing::i32_tensor(targets);
  Tensor logp = Tensor::empty({N}), lse = Tensor::empty({N}), ent = Tensor::empty({N});
  ops().logprob_forward(Ht, Wt, T, logp, lse, ent);
  std::vector<double> wl(N), we(N);
  ref::logprob_forward(to_double(h).data(), to_double(w).data(), targets.data(), N, C, V, wl.data(), we.data());
  EXPECT_TRUE(all_close(testing::to_vec(logp), wl, kFwd, "logp"));
  EXPECT_TRUE(all_close(testing::to_vec(ent), we, kFwd, "entropy"));
  Tensor dH = Tensor::empty({N, C}), dW = Tensor::zeros({V, C});
  ops().logprob_backward(Ht, Wt, T, lse, ent, testing::f32_tensor(gl, {N}), testing::f32_tensor(ge, {N}), dH, dW);
  auto loss = [&](const std::vector<Z>& hz, const std::vector<Z>& wz) {
    std::vector<Z> lp(N), en(N);
    ref::logprob_forward(hz.data(), wz.data(), targets.data(), N, C, V, lp.data(), en.data());
    return dot(gl, lp) + dot(ge, en);
  };
  EXPECT_TRUE(all_close(testing::to_vec(dH), complex_step_grad([&](const auto& x) { return loss(x, zvec(w)); }, to_double(h)), kBwd, "logprob dh"));
  // dW over all V*C entries is slow in complex step; check the rows of the targets and a few others.
  std::vector<int64_t> rows = {0, 3, 17, 100, 4095, 4096, 4099};
  std::vector<double> wz = to_double(w);
  std::vector<float> got;
  std::vector<double> want;
  for (int64_t r : rows)
    for (int64_t c = 0; c < C; ++c) {
      std::vector<Z> wzz(wz.begin(), wz.end());
      wzz[r * C + c] += Z(0, 1e-30);
      want.push_back(loss(zvec(h), wzz).imag() / 1e-30);
      got.push_back(dW.f32()[r * C + c]);
    }
  EXPECT_TRUE(all_close(got, want, kBwd, "logprob dw"));
}

}  // namespace
}  // namespace tandem
