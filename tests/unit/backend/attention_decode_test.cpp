// The generation kernels (kv_cache_write, attention_decode) against the scalar oracle in double,
// and decode attention against the training kernel: a query decoded against the cache must see
// exactly what attention_forward gives the same token in a full causal pass (GQA, windows).
#include <gtest/gtest.h>

#include <cstring>

#include "backend/ref/ref_ops.h"
#include "backend/registry.h"
#include "testing/testing.h"

namespace tandem {
namespace {

using testing::all_close;
using testing::randn;
using testing::to_double;

const Ops& ops() { return ops_for(cpu_device()); }

// Head dims that take the vector path for the values (16, 64, 80) or not (8); GQA groups of 1 to
// 8 query heads (chunks of 4 plus every remainder); lengths ending inside and on the 16- and
// 32-position blocks of the scores.
TEST(AttentionDecode, MatchesOracleGqaWindows) {
  const int64_t S = 3, M = 70;
  for (int64_t D : {8, 16, 64, 80})
    for (auto [H, K] : {std::pair<int64_t, int64_t>{4, 2}, {3, 3}, {4, 1}, {9, 3}, {10, 2}, {8, 1}, {14, 2}})
      for (int64_t window : {0, 1, 5, 40}) {
        const uint64_t seed = uint64_t(D * 1000 + H * 10 + K + window * 7);
        const auto kc = randn(S * M * K * D, seed), vc = randn(S * M * K * D, seed + 1);
        const std::vector<int32_t> slots = {2, 0, 1, 0, 2, 1, 0}, lens = {1, 70, 9, 20, 33, 48, 64};
        const int64_t R = int64_t(slots.size());
        const auto q = randn(R * H * D, seed + 2, 2.f);
        Tensor Kc = testing::f32_tensor(kc, {S, K, D, M}), Vc = testing::f32_tensor(vc, {S, K, M, D}), out = Tensor::empty({R, H, D});
        const float scale = 1.f / std::sqrt(float(D));
        ops().attention_decode(testing::f32_tensor(q, {R, H, D}), Kc, Vc, testing::i32_tensor(slots), testing::i32_tensor(lens), window, scale, out);
        std::vector<double> want(R * H * D);
        ref::attention_decode(to_double(q).data(), to_double(kc).data(), to_double(vc).data(), slots.data(), lens.data(),
                              R, M, H, K, D, window, scale, want.data());
        EXPECT_TRUE(all_close(testing::to_vec(out), want, {1e-5, 1e-5}, cat("decode D=", D, " H=", H, " K=", K, " window=", window)));
      }
}

TEST(AttentionDecode, CacheWritePlacesRows) {
  const int64_t S = 2, M = 5, K = 2, D = 4, R = 3;
  Tensor Kc = Tensor::zeros({S, K, D, M}), Vc = Tensor::zeros({S, K, M, D});
  const auto k = randn(R * K * D, 1), v = randn(R * K * D, 2);
  const std::vector<int32_t> slots = {1, 0, 1}, pos = {4, 0, 2};
  ops().kv_cache_write(testing::f32_tensor(k, {R, K * D}), testing::f32_tensor(v, {R, K * D}), testing::i32_tensor(slots), testing::i32_tensor(pos), Kc, Vc);
  for (int64_t r = 0; r < R; ++r)
    for (int64_t i = 0; i < K * D; ++i) {
      EXPECT_EQ(Kc.f32()[(slots[r] * K * D + i) * M + pos[r]], k[r * K * D + i]);  // keys transposed
      EXPECT_EQ(Vc.f32()[((slots[r] * K + i / D) * M + pos[r]) * D + i % D], v[r * K * D + i]);  // head-major
    }
  double untouched = 0;
  for (int64_t p = 0; p < M; ++p)
    if (p != 0) untouched += std::abs(Kc.f32()[p]) + std::abs(Vc.f32()[p * D]);
  EXPECT_EQ(untouched, 0.0);
}

// Decoding token t of a sequence against its cached keys 0..t equals row t of the training kernel.
TEST(AttentionDecode, EqualsTrainingKernelRowByRow) {
  const int64_t T = 70, H = 4, K = 2, D = 16;
  for (int64_t window : {0, 7}) {
    const auto q = randn(T * H * D, 41), k = randn(T * K * D, 42), v = randn(T * K * D, 43);
    AttnLayout layout{1, T, std::vector<int32_t>(size_t(T), 0)};
    Tensor out = Tensor::empty({T, H * D}), lse = Tensor::empty({H, T});
    const float scale = 0.3f;
    ops().attention_forward(testing::f32_tensor(q, {T, H * D}), testing::f32_tensor(k, {T, K * D}), testing::f32_tensor(v, {T, K * D}), layout, window, scale,
                            out, lse);
    Tensor Kc = Tensor::zeros({1, K, D, T}), Vc = Tensor::zeros({1, K, T, D});
    std::vector<int32_t> pos(T);
    for (int64_t t = 0; t < T; ++t) pos[t] = int32_t(t);
    ops().kv_cache_write(testing::f32_tensor(k, {T, K * D}), testing::f32_tensor(v, {T, K * D}), testing::i32_tensor(std::vector<int32_t>(T, 0)), testing::i32_tensor(pos),
                         Kc, Vc);
    std::vector<int32_t> slots(T, 0), lens(T);
    for (int64_t t = 0; t < T; ++t) lens[t] = int32_t(t + 1);
    Tensor dec = Tensor::empty({T, H, D});
    ops().attention_decode(testing::f32_tensor(q, {T, H, D}), Kc, Vc, testing::i32_tensor(slots), testing::i32_tensor(lens), window, scale, dec);
    EXPECT_TRUE(all_close(testing::to_vec(dec), to_double(testing::to_vec(out)), {2e-6, 1e-5}, cat("decode vs training window=", window)));
  }
}

}  // namespace
}  // namespace tandem
