// Collation: best-fit packing keeps every document whole inside rows of max_length, the mask lands
// on the right tokens, and packed and padded batches of the same sequences give the same per-token
// log-probs through the engine (a tiny random Qwen3), which is what makes packing safe.
#include <gtest/gtest.h>

#include <numeric>

#include "data/collate.h"
#include "model/decoder.h"
#include "model/init.h"
#include "testing/testing.h"

namespace tandem::data {
namespace {

std::vector<TokenSeq> random_seqs(const std::vector<int>& lengths, int vocab, uint64_t seed) {
  std::vector<TokenSeq> out;
  uint64_t x = seed;
  for (int n : lengths) {
    TokenSeq s;
    for (int t = 0; t < n; ++t) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      s.ids.push_back(int32_t((x >> 33) % uint64_t(vocab)));
      s.trained.push_back(t >= n / 3 ? 1 : 0);  // a "prompt" third untrained
    }
    out.push_back(s);
  }
  return out;
}

TEST(Collate, BestFitPacksWholeDocumentsIntoRows) {
  const std::vector<int64_t> len = {7, 3, 5, 5, 2, 8, 1, 4};
  const auto rows = best_fit_pack(len, 10);
  std::vector<int> seen(len.size(), 0);
  for (const auto& r : rows) {
    int64_t sum = 0;
    for (size_t i : r) sum += len[i], ++seen[i];
    EXPECT_LE(sum, 10);
  }
  for (int s : seen) EXPECT_EQ(s, 1);
  // 35 tokens in rows of 10: best fit decreasing reaches the bound of 4 rows here
  // (8+2, 7+3, 5+5, 4+1).
  EXPECT_EQ(rows.size(), 4u);
}

TEST(Collate, MaskAndPlacementFollowTheSequences) {
  const auto seqs = random_seqs({5, 9, 2, 7}, 50, 1);
  for (bool packing : {false, true}) {
    const Collated c = collate(seqs, packing, 12);
    int64_t want = 0;
    for (size_t i = 0; i < seqs.size(); ++i) {
      const Placement& p = c.where[i];
      ASSERT_EQ(p.length, int64_t(seqs[i].ids.size()));
      for (int64_t t = 0; t < p.length; ++t) {
        const size_t n = size_t(p.row * c.batch.T + p.offset + t);
        EXPECT_EQ(c.batch.tokens[n], seqs[i].ids[size_t(t)]);
        EXPECT_EQ(c.batch.positions[n], t);  // positions restart per document
        EXPECT_EQ(c.mask[n], t > 0 && seqs[i].trained[size_t(t)] ? 1.f : 0.f);
        want += t > 0 && seqs[i].trained[size_t(t)];
      }
    }
    EXPECT_EQ(c.n_trained, want);
    EXPECT_EQ(float(c.n_trained), std::accumulate(c.mask.begin(), c.mask.end(), 0.f));
    EXPECT_EQ(c.tokens(), 23);
    if (packing) {
      EXPECT_EQ(c.batch.B, 2);  // 9+2, 7+5
    }
  }
  EXPECT_THROW(collate(seqs, true, 8), Error);  // longer than max_length: a caller bug, reported
}

TEST(Collate, PackedAndPaddedGiveTheSameLogProbsThroughTheEngine) {
  const Json cfg = {{"architectures", {"Qwen3ForCausalLM"}}, {"hidden_size", 32}, {"intermediate_size", 64},
                    {"num_hidden_layers", 2}, {"num_attention_heads", 4}, {"num_key_value_heads", 2},
                    {"head_dim", 8}, {"vocab_size", 97}, {"rms_norm_eps", 1e-6}, {"rope_theta", 10000.0},
                    {"tie_word_embeddings", false}};
  model::Decoder dec(model::ModelConfig::from_json(cfg, "test"));
  model::init_random(dec.weights(), 0.2, 11);
  const auto seqs = random_seqs({13, 5, 31, 2, 17, 9, 24}, 97, 3);
  const Collated padded = collate(seqs, false, 40), packed = collate(seqs, true, 40);
  ASSERT_LT(packed.batch.B, padded.batch.B);
  const auto lp_padded = tandem::testing::to_vec(dec.forward(padded.batch, {}).logp);
  const auto lp_packed = tandem::testing::to_vec(dec.forward(packed.batch, {}).logp);
  std::vector<float> a, b;
  for (size_t i = 0; i < seqs.size(); ++i)
    for (int64_t t = 1; t < int64_t(seqs[i].ids.size()); ++t) {
      const Placement &p = padded.where[i], &q = packed.where[i];
      a.push_back(lp_padded[size_t(p.row * padded.batch.T + p.offset + t)]);
      b.push_back(lp_packed[size_t(q.row * packed.batch.T + q.offset + t)]);
    }
  EXPECT_TRUE(tandem::testing::all_close(b, a, {.atol = 2e-5, .rtol = 1e-4}, "packed vs padded log-probs"));
  // The masked sums a trainer forms agree too.
  double sa = 0, sb = 0;
  for (size_t n = 0; n < lp_padded.size(); ++n) sa += padded.mask[n] * lp_padded[n];
  for (size_t n = 0; n < lp_packed.size(); ++n) sb += packed.mask[n] * lp_packed[n];
  EXPECT_NEAR(sa, sb, 1e-3 * std::abs(sa));
}

TEST(Collate, PairSequencesTrainOnlyTheCompletion) {
  PreferenceExample e;
  e.prompt = {1, 2, 3};
  e.chosen = {4, 5};
  e.rejected = {6};
  const TokenSeq c = chosen_seq(e), r = rejected_seq(e);
  EXPECT_EQ(c.ids, (std::vector<int32_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(c.trained, (std::vector<uint8_t>{0, 0, 0, 1, 1}));
  EXPECT_EQ(r.trained, (std::vector<uint8_t>{0, 0, 0, 1}));
  PromptExample p;
  EXPECT_THROW(demonstration_seq(p), Error);
}

}  // namespace
}  // namespace tandem::data
