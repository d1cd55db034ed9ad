// Pair collation: sequences (2p, 2p+1) = (chosen, rejected), the completion mask, truncation modes,
// padded vs packed layouts addressing the same tokens, and the reward position rule.
#include <gtest/gtest.h>

#include "train/pref_collate.h"

namespace tandem::train {
namespace {

std::vector<data::PreferenceExample> two_pairs() {
  std::vector<data::PreferenceExample> v(2);
  v[0].prompt = {1, 2, 3};
  v[0].chosen = {4, 5};
  v[0].rejected = {6};
  v[1].prompt = {7};
  v[1].chosen = {8, 9, 10};
  v[1].rejected = {11, 12};
  return v;
}

// The token ids of sequence s read back through the compact index.
std::vector<int32_t> ids_of(const PrefBatch& pb, int64_t s) {
  std::vector<int32_t> out;
  for (int64_t k = pb.offsets[s]; k < pb.offsets[s + 1]; ++k) out.push_back(pb.tokens.tokens[pb.index[k]]);
  return out;
}

TEST(PrefCollate, PairsAreChosenThenRejectedWithCompletionMask) {
  const auto exs = two_pairs();
  const auto seqs = pair_sequences(exs);
  const PrefBatch pb = collate(seqs, {});
  ASSERT_EQ(pb.n_seq(), 4);
  EXPECT_EQ(ids_of(pb, 0), (std::vector<int32_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(ids_of(pb, 1), (std::vector<int32_t>{1, 2, 3, 6}));
  EXPECT_EQ(ids_of(pb, 2), (std::vector<int32_t>{7, 8, 9, 10}));
  EXPECT_EQ(ids_of(pb, 3), (std::vector<int32_t>{7, 11, 12}));
  EXPECT_EQ(std::vector<float>(pb.mask.begin(), pb.mask.begin() + 5), (std::vector<float>{0, 0, 0, 1, 1}));
  EXPECT_EQ(pb.tokens.B, 4);
  EXPECT_EQ(pb.tokens.T, 5);
  EXPECT_EQ(pb.reward_at[1], pb.offsets[1] + 3);
}

TEST(PrefCollate, PackedAddressesTheSameTokensInFewerRows) {
  const auto exs = two_pairs();
  const auto seqs = pair_sequences(exs);
  CollateOptions o;
  o.packing = true;
  o.max_length = 9;
  const PrefBatch packed = collate(seqs, o), padded = collate(seqs, {});
  EXPECT_EQ(packed.tokens.B, 2);
  EXPECT_EQ(packed.tokens.T, 9);
  for (int64_t s = 0; s < 4; ++s) EXPECT_EQ(ids_of(packed, s), ids_of(padded, s)) << s;
  EXPECT_EQ(packed.mask, padded.mask);
  // Positions restart in each sequence and attention segments differ between neighbours.
  const int64_t k0 = packed.index[packed.offsets[1]];
  EXPECT_EQ(packed.tokens.positions[k0], 0);
  EXPECT_NE(packed.tokens.segments[k0], packed.tokens.segments[k0 - 1]);
}

TEST(PrefCollate, TruncationModes) {
  const std::vector<int32_t> prompt = {1, 2, 3, 4}, completion = {5, 6, 7};
  CollateOptions o;
  o.max_length = 5;
  int64_t pl = 0;
  EXPECT_EQ(join_truncated({prompt, completion}, o, &pl), (std::vector<int32_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(pl, 4);
  o.truncation = "keep_end";
  EXPECT_EQ(join_truncated({prompt, completion}, o, &pl), (std::vector<int32_t>{3, 4, 5, 6, 7}));
  EXPECT_EQ(pl, 2);
  o.max_length = 2;
  EXPECT_EQ(join_truncated({prompt, completion}, o, &pl), (std::vector<int32_t>{5, 6}));
  EXPECT_EQ(pl, 0);
}

TEST(PrefCollate, GatherScatterRoundTrip) {
  const auto exs = two_pairs();
  const auto seqs = pair_sequences(exs);
  CollateOptions o;
  o.packing = true;
  o.max_length = 9;
  const PrefBatch pb = collate(seqs, o);
  std::vector<float> engine(size_t(pb.tokens.N()));
  for (size_t i = 0; i < engine.size(); ++i) engine[i] = float(i);
  const auto c = pb.gather(engine.data());
  std::vector<float> back(engine.size(), 0.f);
  pb.scatter(c, 2.0, back.data());
  for (size_t k = 0; k < pb.index.size(); ++k) EXPECT_EQ(back[pb.index[k]], 2.f * float(pb.index[k]));
}

TEST(PrefCollate, RewardPositionIsTheLastNonPadToken) {
  const std::vector<int32_t> ids = {5, 6, 0, 7, 0, 0};
  EXPECT_EQ(reward_position(ids, -1), 5);
  EXPECT_EQ(reward_position(ids, 0), 3);
  EXPECT_EQ(reward_position(std::vector<int32_t>{0, 0}, 0), 0);
}

}  // namespace
}  // namespace tandem::train
