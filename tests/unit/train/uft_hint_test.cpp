// UFT hints: the cosine schedule of p_t (values computed by hand from algorithms.md §UFT), the steps
// and segments of a tokenized demonstration, the binomial draw, and the rollout batch OnlineStep
// builds from them: every sample of a group continues the same hint, the hint itself is one
// demonstration row in no group (the NLL term's tokens), and the reward functions judge hint +
// completion against the prompt without the hint.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "model/config.h"
#include "model/decoder.h"
#include "model/init.h"
#include "train/online_step.h"
#include "train/uft_hint.h"

namespace tandem::train {
namespace {

TEST(UftHint, CosineSchedule) {
  EXPECT_DOUBLE_EQ(uft_hint_probability(0.05, 0.95, 300, 0), 0.95);
  EXPECT_NEAR(uft_hint_probability(0.05, 0.95, 300, 150), 0.5, 1e-12);          // cos(pi/2) = 0
  EXPECT_NEAR(uft_hint_probability(0.05, 0.95, 300, 75), 0.05 + 0.45 * (1 + std::sqrt(0.5)), 1e-12);
  EXPECT_NEAR(uft_hint_probability(0.05, 0.95, 300, 225), 0.05 + 0.45 * (1 - std::sqrt(0.5)), 1e-12);
  EXPECT_NEAR(uft_hint_probability(0.05, 0.95, 300, 300), 0.05, 1e-12);
  EXPECT_EQ(uft_hint_probability(0.05, 0.95, 300, 301), 0.0);  // after T_hint: no hints
  EXPECT_EQ(uft_hint_probability(0.05, 0.95, 0, 0), 0.0);
}

// Token texts of a made-up vocabulary: 2 and 4 end lines, 9 is the end of sequence.
std::string text_of(std::span<const int32_t> ids) {
  static const std::map<int32_t, std::string> t = {{1, "a"}, {2, "b\n"}, {3, "c"}, {4, "d\n"}, {5, "e"}, {9, "</s>"}};
  std::string s;
  for (int32_t i : ids) s += t.count(i) ? t.at(i) : std::to_string(i);
  return s;
}

TEST(UftHint, StepsAreLinesElseTokens) {
  const std::vector<int64_t> eos = {9};
  const std::vector<int32_t> demo = {1, 2, 3, 4, 5, 9};  // "ab\n" "cd\n" "e" then eos
  const auto ends = uft_step_ends(demo, eos, text_of);
  EXPECT_EQ(ends, (std::vector<size_t>{2, 4, 5}));
  EXPECT_EQ(uft_segments(ends.size(), 5), 3);
  EXPECT_EQ(uft_hint_tokens(ends, 3, 0), 0u);
  EXPECT_EQ(uft_hint_tokens(ends, 3, 1), 2u);
  EXPECT_EQ(uft_hint_tokens(ends, 3, 2), 4u);
  EXPECT_EQ(uft_hint_tokens(ends, 3, 3), 5u) << "the whole demonstration but its eos";
  // K = 2 segments of 3 steps: floor(1*3/2) = 1 step, then all 3.
  EXPECT_EQ(uft_segments(ends.size(), 2), 2);
  EXPECT_EQ(uft_hint_tokens(ends, 2, 1), 2u);
  EXPECT_EQ(uft_hint_tokens(ends, 2, 2), 5u);

  // One line (a newline only at the end) or none: every token is a step.
  EXPECT_EQ(uft_step_ends(std::vector<int32_t>{1, 3, 4}, eos, text_of), (std::vector<size_t>{1, 2, 3}));
  const std::vector<int32_t> ten = {10, 11, 12, 13, 14, 15, 16, 17, 18, 19};
  const auto t_ends = uft_step_ends(ten, eos, text_of);
  EXPECT_EQ(t_ends.size(), 10u);
  EXPECT_EQ(uft_segments(t_ends.size(), 5), 5);
  EXPECT_EQ(uft_hint_tokens(t_ends, 5, 1), 2u);
  EXPECT_EQ(uft_hint_tokens(t_ends, 5, 3), 6u);
  // Nothing but eos: no steps, no hint.
  EXPECT_TRUE(uft_step_ends(std::vector<int32_t>{9, 9}, eos, text_of).empty());
  EXPECT_EQ(uft_segments(0, 5), 0);
}

TEST(UftHint, BinomialSegments) {
  EXPECT_EQ(uft_sample_segments(5, 0.0, Rng(1, 2)), 0);
  EXPECT_EQ(uft_sample_segments(5, 1.0, Rng(1, 2)), 5);
  // Mean and variance of 4000 draws of Binomial(5, 0.3): 1.5 and 1.05 (standard errors ~0.016, ~0.02).
  double s = 0, s2 = 0;
  const int n = 4000;
  for (int i = 0; i < n; ++i) {
    const double l = double(uft_sample_segments(5, 0.3, Rng(7, uint64_t(i))));
    s += l, s2 += l * l;
  }
  const double mean = s / n, var = s2 / n - mean * mean;
  EXPECT_NEAR(mean, 1.5, 0.08);
  EXPECT_NEAR(var, 1.05, 0.1);
}

// Records what the reward functions see.
class Recorder : public reward::RewardFunction {
 public:
  explicit Recorder(std::vector<reward::RewardRequest>* seen) : seen_(seen) {}
  std::string name() const override { return "recorder"; }
  std::vector<reward::RewardScore> score(std::span<const reward::RewardRequest> reqs) override {
    seen_->insert(seen_->end(), reqs.begin(), reqs.end());
    return std::vector<reward::RewardScore>(reqs.size());
  }

 private:
  std::vector<reward::RewardRequest>* seen_;
};

std::string ids_text(std::span<const int32_t> ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) s += ' ';
    s += std::to_string(ids[i]);
  }
  return s;
}

struct UftFixture {
  std::unique_ptr<model::Decoder> dec;
  OnlineConfig c;
  ResolvedOnline r;
  std::vector<reward::RewardRequest> seen;
  std::unique_ptr<RewardSet> rewards;
  std::vector<PromptRef> prompts;

  UftFixture(double p, int64_t t_hint) {
    const Json mc = {{"architectures", {"Qwen3ForCausalLM"}}, {"model_type", "qwen3"}, {"hidden_size", 32},
                     {"intermediate_size", 64}, {"num_hidden_layers", 1}, {"num_attention_heads", 4},
                     {"num_key_value_heads", 2}, {"head_dim", 8}, {"vocab_size", 64}, {"max_position_embeddings", 128},
                     {"rms_norm_eps", 1e-6}, {"rope_theta", 10000.0}, {"tie_word_embeddings", false},
                     {"eos_token_id", 63}};
    dec = std::make_unique<model::Decoder>(model::ModelConfig::from_json(mc, "test"));
    model::init_random(dec->weights(), 0.05, 3);
    c.algorithm = "uft";
    c.num_generations = 3;
    c.max_new_tokens = 2;
    c.hint_p_lo = c.hint_p_hi = p;
    c.hint_steps = t_hint;
    c.seed = 5;
    r = resolve(c);
    std::vector<std::unique_ptr<reward::RewardFunction>> fns;
    fns.push_back(std::make_unique<Recorder>(&seen));
    rewards = std::make_unique<RewardSet>(std::move(fns), std::vector<double>{}, ids_text);
    for (int i = 0; i < 6; ++i) {
      auto e = std::make_shared<data::PromptExample>();
      e->prompt = {3, int32_t(4 + i)};
      e->demonstration = {10, 11, 12, 13, int32_t(14 + i), 63};  // 5 token steps, then eos
      e->columns = {{"answer", i}};
      prompts.push_back(e);
    }
  }
};

TEST(UftHint, HintedGroupsShareTheHintAndTrainItAsADemoRow) {
  UftFixture f(0.5, 10);
  EXPECT_TRUE(f.r.hints);
  EXPECT_EQ(f.r.hint_segments, 5);  // the uft preset's K
  OnlineStep step(f.c, f.r, *f.dec, f.dec.get(), *f.rewards);
  auto seqs = step.sample(f.prompts, 0, 0);
  std::map<int64_t, std::vector<int32_t>> hint_of;  // group -> hint
  std::map<const data::PromptExample*, int> demo_rows;
  int hinted = 0;
  for (const auto& s : seqs) {
    if (s.demo) {
      EXPECT_EQ(s.group, -1) << "a hint row is in no advantage group";
      EXPECT_EQ(s.prompt, s.ex->prompt) << "the hint row's prompt is the plain prompt";
      ++demo_rows[s.ex.get()];
      continue;
    }
    ASSERT_GE(s.group, 0);
    const std::vector<int32_t> hint(s.prompt.begin() + long(s.ex->prompt.size()), s.prompt.end());
    EXPECT_EQ(int64_t(hint.size()), s.hint_len);
    EXPECT_TRUE(std::equal(hint.begin(), hint.end(), s.ex->demonstration.begin())) << "a prefix of the demonstration";
    if (hint_of.count(s.group)) {
      EXPECT_EQ(hint_of[s.group], hint) << "one hint per group";
    }
    hint_of[s.group] = hint;
  }
  for (const auto& s : seqs)
    if (s.demo) {
      const auto at = std::find(f.prompts.begin(), f.prompts.end(), s.ex) - f.prompts.begin();
      EXPECT_EQ(s.completion, hint_of[at]) << "the demo row trains exactly its group's hint";
      ++hinted;
    }
  for (const auto& [g, h] : hint_of) {
    EXPECT_LE(h.size(), 5u) << "never the eos";
    EXPECT_EQ(demo_rows[f.prompts[size_t(g)].get()], h.empty() ? 0 : 1);
  }
  EXPECT_GT(hinted, 0);
  EXPECT_LT(hinted, 6) << "p = 0.5 over 5 segments leaves some prompt without a hint (seed 5)";

  // The reward functions judge hint + completion against the prompt without the hint.
  f.rewards->score(seqs);
  size_t k = 0;
  for (const auto& s : seqs) {
    if (s.demo) continue;
    ASSERT_LT(k, f.seen.size());
    EXPECT_EQ(f.seen[k].prompt, ids_text(s.ex->prompt));
    std::vector<int32_t> solution(s.prompt.end() - s.hint_len, s.prompt.end());
    solution.insert(solution.end(), s.completion.begin(), s.completion.end());
    EXPECT_EQ(f.seen[k].completion, ids_text(solution));
    EXPECT_EQ(f.seen[k].columns, s.ex->columns);
    ++k;
  }
  EXPECT_EQ(k, f.seen.size());
}

TEST(UftHint, FullHintsAtPOneAndNoneAfterTHint) {
  UftFixture f(1.0, 3);
  OnlineStep step(f.c, f.r, *f.dec, f.dec.get(), *f.rewards);
  const auto early = step.sample(f.prompts, 3, 0);  // t = T_hint: still hinted
  int demos = 0;
  for (const auto& s : early) {
    if (s.demo) {
      ++demos;
      EXPECT_EQ(s.completion.size(), 5u);
    } else {
      EXPECT_EQ(s.hint_len, 5);
    }
  }
  EXPECT_EQ(demos, 6);
  const auto late = step.sample(f.prompts, 4, 0);
  EXPECT_EQ(late.size(), 6u * 3u);
  for (const auto& s : late) {
    EXPECT_FALSE(s.demo);
    EXPECT_EQ(s.hint_len, 0);
    EXPECT_EQ(s.prompt, s.ex->prompt);
  }
}

}  // namespace
}  // namespace tandem::train
