// The sampler on fixed logits, without a model: empirical frequencies over many counter-based
// draws match the filtered, tempered distribution (chi-square at a fixed seed, expected values
// computed here from the definitions, not by the sampler), filtered-out tokens never appear,
// greedy is the argmax, penalties follow the hand-computed vLLM/OpenAI rules, and the two
// returned log-probs are the policy's and the behaviour distribution's.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"
#include "rollout/sampler.h"
#include "testing/testing.h"

namespace tandem {
namespace {

using rollout::SamplingParams;

// The behaviour distribution written out plainly: softmax(z / T) over all ids, then the top-k
// prefix of the sorted order, then the top-p prefix of the renormalised rest, then min-p.
std::vector<double> expected(const std::vector<float>& logits, const SamplingParams& p) {
  const size_t V = logits.size();
  std::vector<double> q(V);
  double mx = *std::max_element(logits.begin(), logits.end()), s = 0;
  for (size_t i = 0; i < V; ++i) s += (q[i] = std::exp((logits[i] - mx) / p.temperature));
  for (auto& x : q) x /= s;
  std::vector<size_t> order(V);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return q[a] > q[b]; });
  std::vector<bool> keep(V, false);
  const size_t k = p.top_k > 0 ? std::min<size_t>(V, size_t(p.top_k)) : V;
  double mass_k = 0;
  for (size_t i = 0; i < k; ++i) mass_k += q[order[i]];
  double cum = 0;
  for (size_t i = 0; i < k; ++i) {
    keep[order[i]] = true;
    cum += q[order[i]] / mass_k;
    if (cum >= p.top_p) break;
  }
  double qmax = q[order[0]];
  for (size_t i = 0; i < V; ++i)
    if (q[i] < p.min_p * qmax) keep[i] = false;
  double z = 0;
  for (size_t i = 0; i < V; ++i) z += keep[i] ? q[i] : 0;
  for (size_t i = 0; i < V; ++i) q[i] = keep[i] ? q[i] / z : 0;
  return q;
}

void chi_square_case(const SamplingParams& p, const std::string& what) {
  const auto logits = testing::randn(24, 77, 1.5f);
  const auto want = expected(logits, p);
  const int draws = 40000;
  std::vector<int> count(logits.size(), 0);
  double lmax = *std::max_element(logits.begin(), logits.end()), lsum = 0;
  for (float l : logits) lsum += std::exp(l - lmax);
  for (int i = 0; i < draws; ++i) {
    const auto c = rollout::sample_next(logits.data(), int64_t(logits.size()), p, nullptr, 3, uint64_t(i));
    ASSERT_GE(c.id, 0);
    ++count[size_t(c.id)];
    if (i < 200) {
      EXPECT_NEAR(c.logprob, logits[size_t(c.id)] - lmax - std::log(lsum), 1e-5) << what;
      EXPECT_NEAR(c.behaviour_logprob, std::log(want[size_t(c.id)]), 1e-5) << what;
    }
  }
  double chi2 = 0;
  int df = -1;
  for (size_t v = 0; v < logits.size(); ++v) {
    if (want[v] == 0) {
      EXPECT_EQ(count[v], 0) << what << ": token " << v << " is filtered out but was sampled";
      continue;
    }
    const double e = want[v] * draws;
    chi2 += (count[v] - e) * (count[v] - e) / e;
    ++df;
  }
  // Above the 0.999 quantile of chi-square(df) for every df from 1 to 23 (checked against tables).
  const double limit = df + 4.5 * std::sqrt(2.0 * df) + 6;
  EXPECT_LT(chi2, limit) << what << ": chi-square " << chi2 << " with " << df << " degrees of freedom";
  EXPECT_GE(df, 1) << what;
}

TEST(Sampler, ChiSquareTemperatureOnly) { chi_square_case({.temperature = 0.8f}, "temperature 0.8"); }
TEST(Sampler, ChiSquareTopK) { chi_square_case({.temperature = 1.2f, .top_k = 6}, "top-k 6"); }
TEST(Sampler, ChiSquareTopP) { chi_square_case({.temperature = 1.f, .top_p = 0.7f}, "top-p 0.7"); }
TEST(Sampler, ChiSquareMinP) { chi_square_case({.temperature = 1.5f, .min_p = 0.1f}, "min-p 0.1"); }
TEST(Sampler, ChiSquareAllFilters) {
  chi_square_case({.temperature = 0.9f, .top_k = 10, .top_p = 0.85f, .min_p = 0.05f}, "top-k + top-p + min-p");
}

// Large vocabularies take the partial-sort path (the top m widened until it holds the top-p
// mass): it must keep exactly the set and probabilities the full sort gives.
TEST(Sampler, TopPOnLargeVocabularyMatchesFullSort) {
  for (float spread : {0.3f, 2.f, 6.f})
    for (float top_p : {0.5f, 0.9f, 0.99f}) {
      const auto logits = testing::randn(5000, 8, spread);
      const SamplingParams p{.temperature = 1.f, .top_p = top_p};
      const auto want = expected(logits, p);
      const auto got = rollout::behaviour_distribution(logits.data(), 5000, p, nullptr);
      std::vector<double> dense(5000, 0.0);
      for (const auto& [id, q] : got) dense[size_t(id)] = q;
      size_t kept = 0, mismatch = 0;
      for (size_t v = 0; v < 5000; ++v) {
        kept += want[v] > 0;
        mismatch += (want[v] > 0) != (dense[v] > 0) || std::abs(want[v] - dense[v]) > 1e-12;
      }
      EXPECT_EQ(mismatch, 0u) << "spread " << spread << " top_p " << top_p << " (" << kept << " kept)";
      EXPECT_EQ(got.size(), kept);
    }
}

// Without filters or penalties sample_next takes a shorter path (no distribution list, the
// vectorised exp): on a real vocabulary size it must pick the token the general walk over
// behaviour_distribution picks for the same draw, with the same two log-probs.
TEST(Sampler, PlainPathMatchesTheBehaviourDistribution) {
  const int64_t V = 49152;
  for (float T : {1.f, 0.7f, 1.6f}) {
    const auto logits = testing::randn(size_t(V), 21, 3.f);
    const SamplingParams p{.temperature = T, .seed = 4};
    const auto dist = rollout::behaviour_distribution(logits.data(), V, p, nullptr);
    ASSERT_EQ(dist.size(), size_t(V));
    double lmax = *std::max_element(logits.begin(), logits.end()), lsum = 0;
    for (float l : logits) lsum += std::exp(double(l) - lmax);
    int differ = 0;
    for (uint64_t step = 0; step < 300; ++step) {
      const auto c = rollout::sample_next(logits.data(), V, p, nullptr, 2, step);
      const double u = rollout::draw_uniform(p.seed, 2, step);
      double cum = 0;
      int32_t want = dist.back().first;
      for (const auto& [id, q] : dist)
        if (u < (cum += q)) {
          want = id;
          break;
        }
      differ += c.id != want;  // only a draw within float rounding of a boundary may differ
      EXPECT_NEAR(c.behaviour_logprob, std::log(dist[size_t(c.id)].second), 1e-5) << "T " << T;
      EXPECT_NEAR(c.logprob, logits[size_t(c.id)] - lmax - std::log(lsum), 1e-5) << "T " << T;
    }
    EXPECT_LE(differ, 1) << "T " << T;
  }
}

TEST(Sampler, GreedyIsArgmaxWithBehaviourProbabilityOne) {
  const auto logits = testing::randn(50, 5);
  const SamplingParams p{.temperature = 0.f};
  const size_t best = size_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
  for (uint64_t step = 0; step < 5; ++step) {
    const auto c = rollout::sample_next(logits.data(), 50, p, nullptr, step, step);
    EXPECT_EQ(size_t(c.id), best);
    EXPECT_EQ(c.behaviour_logprob, 0.f);
    EXPECT_LT(c.logprob, 0.f);
  }
}

TEST(Sampler, PenaltiesHandComputed) {
  const std::vector<float> logits = {2.f, -1.f, 3.f, 1.5f};
  rollout::TokenHistory h;
  h.set_prompt({1, 0, 0});
  h.add(2);
  h.add(2);
  const SamplingParams p{.temperature = 1.f, .repetition_penalty = 2.f, .presence_penalty = 0.5f, .frequency_penalty = 0.25f};
  // id 0: prompt, positive -> 2/2; id 1: prompt, negative -> -1*2; id 2: completion twice ->
  // 3/2 - 0.5 - 2*0.25; id 3: untouched.
  const std::vector<double> z = {1.0, -2.0, 0.5, 1.5};
  double s = 0;
  for (double v : z) s += std::exp(v);
  const auto dist = rollout::behaviour_distribution(logits.data(), 4, p, &h);
  ASSERT_EQ(dist.size(), 4u);
  for (const auto& [id, q] : dist) EXPECT_NEAR(q, std::exp(z[size_t(id)]) / s, 1e-12) << "id " << id;
  const SamplingParams g{.temperature = 0.f, .repetition_penalty = 2.f, .presence_penalty = 0.5f, .frequency_penalty = 0.25f};
  EXPECT_EQ(rollout::sample_next(logits.data(), 4, g, &h, 0, 0).id, 3);  // 2 without penalties
}

TEST(Sampler, DrawsArePureFunctionsOfSeedStreamStep) {
  EXPECT_EQ(rollout::draw_uniform(5, 1, 9), rollout::draw_uniform(5, 1, 9));
  EXPECT_NE(rollout::draw_uniform(5, 1, 9), rollout::draw_uniform(5, 2, 9));
  EXPECT_NE(rollout::draw_uniform(5, 1, 9), rollout::draw_uniform(6, 1, 9));
  double mean = 0;
  for (int i = 0; i < 10000; ++i) {
    const double u = rollout::draw_uniform(1, 0, uint64_t(i));
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    mean += u / 10000;
  }
  EXPECT_NEAR(mean, 0.5, 0.01);
}

TEST(Sampler, ValidateNamesTheField) {
  auto field_of = [](SamplingParams p) {
    try {
      p.validate("gen");
    } catch (const Error& e) {
      return e.where();
    }
    return std::string("no error");
  };
  EXPECT_EQ(field_of({.top_p = 0.f}), "gen.top_p");
  EXPECT_EQ(field_of({.temperature = -1.f}), "gen.temperature");
  EXPECT_EQ(field_of({.min_p = 1.5f}), "gen.min_p");
  EXPECT_EQ(field_of({.top_k = -2}), "gen.top_k");
  EXPECT_EQ(field_of({.max_new_tokens = 0}), "gen.max_new_tokens");
  EXPECT_EQ(field_of({.n = 0}), "gen.n");
  EXPECT_EQ(field_of({}), "no error");
}

}  // namespace
}  // namespace tandem
