#include "rollout/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "backend/cpu/fast_exp.h"
#include "core/error.h"
#include "core/rng.h"

namespace tandem::rollout {

void SamplingParams::validate(const std::string& where) const {
  auto bad = [&](const char* field, const std::string& want, double got) {
    throw Error(cat(where, ".", field), cat("expected ", want, ", got ", got));
  };
  if (!(temperature >= 0.f) || !std::isfinite(temperature)) bad("temperature", "a finite value >= 0", temperature);
  if (top_k < 0) bad("top_k", ">= 0 (0 = off)", double(top_k));
  if (!(top_p > 0.f && top_p <= 1.f)) bad("top_p", "a value in (0, 1]", top_p);
  if (!(min_p >= 0.f && min_p <= 1.f)) bad("min_p", "a value in [0, 1]", min_p);
  if (!(repetition_penalty > 0.f) || !std::isfinite(repetition_penalty)) bad("repetition_penalty", "a finite value > 0", repetition_penalty);
  if (!std::isfinite(presence_penalty)) bad("presence_penalty", "a finite value", presence_penalty);
  if (!std::isfinite(frequency_penalty)) bad("frequency_penalty", "a finite value", frequency_penalty);
  if (max_new_tokens < 1) bad("max_new_tokens", ">= 1", double(max_new_tokens));
  if (n < 1) bad("n", ">= 1", double(n));
  for (size_t i = 0; i < stop.size(); ++i)
    if (stop[i].empty()) throw Error(cat(where, ".stop"), cat("expected non-empty stop strings, got an empty one at index ", i));
}

void TokenHistory::set_prompt(const std::vector<int32_t>& ids) {
  prompt = ids;
  std::sort(prompt.begin(), prompt.end());
  prompt.erase(std::unique(prompt.begin(), prompt.end()), prompt.end());
  completion.clear();
}

double draw_uniform(uint64_t seed, uint64_t stream, uint64_t step) {
  const Rng rng(seed, stream);
  const uint64_t hi = rng.bits(2 * step) >> 5, lo = rng.bits(2 * step + 1) >> 6;  // 27 + 26 bits
  return double((hi << 26) | lo) * (1.0 / 9007199254740992.0);
}

namespace {

// z = logits in double with the penalties applied.
std::vector<double> penalised(const float* logits, int64_t V, const SamplingParams& p, const TokenHistory* h) {
  std::vector<double> z(logits, logits + V);
  if (!h || !p.has_penalties()) return z;
  const double r = p.repetition_penalty;
  auto repeat = [&](int32_t id) { z[size_t(id)] = z[size_t(id)] > 0 ? z[size_t(id)] / r : z[size_t(id)] * r; };
  if (r != 1.0) {
    for (int32_t id : h->prompt) repeat(id);
    for (const auto& [id, c] : h->completion)
      if (!std::binary_search(h->prompt.begin(), h->prompt.end(), id)) repeat(id);
  }
  for (const auto& [id, c] : h->completion) z[size_t(id)] -= double(p.presence_penalty) + double(p.frequency_penalty) * c;
  return z;
}

int32_t argmax(const std::vector<double>& z) {
  return int32_t(std::max_element(z.begin(), z.end()) - z.begin());  // first maximum = lowest id
}

}  // namespace

std::vector<std::pair<int32_t, double>> behaviour_distribution(const float* logits, int64_t V, const SamplingParams& p,
                                                               const TokenHistory* history) {
  std::vector<double> z = penalised(logits, V, p, history);
  if (p.temperature == 0.f) return {{argmax(z), 1.0}};
  const double inv_t = 1.0 / double(p.temperature);
  double m = -std::numeric_limits<double>::infinity();
  for (double v : z) m = std::max(m, v);
  for (double& v : z) v = std::exp((v - m) * inv_t);
  std::vector<int32_t> ids;
  auto more_likely = [&](int32_t a, int32_t b) { return z[size_t(a)] > z[size_t(b)] || (z[size_t(a)] == z[size_t(b)] && a < b); };
  const bool need_order = p.top_k > 0 || p.top_p < 1.f;
  if (need_order) {
    ids.resize(size_t(V));
    std::iota(ids.begin(), ids.end(), 0);
    if (p.top_k > 0 && p.top_k < V) {
      std::nth_element(ids.begin(), ids.begin() + p.top_k, ids.end(), more_likely);
      ids.resize(size_t(p.top_k));
    }
    double kept = 0;
    for (int32_t id : ids) kept += z[size_t(id)];
    // Only the most likely prefix that top-p keeps needs sorting: sort the top m, widen m until
    // their mass reaches top_p (a full sort of a 150k vocabulary per token would dominate).
    size_t m = p.top_p < 1.f ? std::min<size_t>(ids.size(), 256) : ids.size();
    for (;;) {
      if (m < ids.size()) std::nth_element(ids.begin(), ids.begin() + ptrdiff_t(m), ids.end(), more_likely);
      std::sort(ids.begin(), ids.begin() + ptrdiff_t(m), more_likely);
      double mass = 0;
      for (size_t i = 0; i < m; ++i) mass += z[size_t(ids[i])];
      if (m == ids.size() || mass >= double(p.top_p) * kept) break;
      m = std::min(ids.size(), m * 8);
    }
    ids.resize(m);
    if (p.top_p < 1.f) {
      double cum = 0;
      size_t n = 0;
      while (n < ids.size()) {
        cum += z[size_t(ids[n++])];
        if (cum >= double(p.top_p) * kept) break;
      }
      ids.resize(n);
    }
  } else {
    ids.resize(size_t(V));
    std::iota(ids.begin(), ids.end(), 0);
  }
  if (p.min_p > 0.f) {
    double mx = 0;
    for (int32_t id : ids) mx = std::max(mx, z[size_t(id)]);
    const double cut = double(p.min_p) * mx;
    std::erase_if(ids, [&](int32_t id) { return z[size_t(id)] < cut; });
  }
  double kept = 0;
  for (int32_t id : ids) kept += z[size_t(id)];
  std::vector<std::pair<int32_t, double>> out;
  out.reserve(ids.size());
  for (int32_t id : ids) out.emplace_back(id, z[size_t(id)] / kept);
  return out;
}

namespace {

struct TemperedRow {
  float max;   // max_v l_v
  double sum;  // sum_v w[v], accumulated in double
};

// w[v] = e^{(l_v - max l) / T} for the whole row, 8 lanes at a time (the backend's exp, the one
// training's log-softmax uses).
TemperedRow tempered_weights(const float* l, int64_t V, double inv_t, float* w) {
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t v = 0; v < V; ++v) m = std::max(m, l[v]);
  const float it = float(inv_t);
  double sum = 0;
  int64_t v = 0;
  for (; v + 8 <= V; v += 8) {
    const cpu::f8 e = cpu::exp8((cpu::f8_load(l + v) - m) * it);
    cpu::f8_store(w + v, e);
    sum += double(cpu::f8_sum(e));
  }
  for (; v < V; ++v) sum += double(w[v] = cpu::fast_exp((l[v] - m) * it));
  return {m, sum};
}

// log softmax(l)[id] at temperature 1.
float policy_logprob(const float* l, int64_t V, int32_t id, std::vector<float>& scratch) {
  scratch.resize(size_t(V));
  const TemperedRow t = tempered_weights(l, V, 1.0, scratch.data());
  return float(double(l[id]) - double(t.max) - std::log(t.sum));
}

// The first of n items whose cumulative probability q(0) + ... + q(i) exceeds u; the last item
// when rounding leaves the total a hair under u.
template <class Probability>
int64_t walk(int64_t n, double u, Probability q) {
  double cum = 0;
  for (int64_t i = 0; i < n; ++i)
    if (u < (cum += q(i))) return i;
  return n - 1;
}

}  // namespace

TokenChoice sample_next(const float* logits, int64_t V, const SamplingParams& p, const TokenHistory* history,
                        uint64_t stream, uint64_t step) {
  thread_local std::vector<float> w;
  w.resize(size_t(V));
  TokenChoice c;
  const bool plain = p.temperature > 0.f && p.top_k == 0 && p.top_p >= 1.f && p.min_p == 0.f &&
                     !(history && p.has_penalties());
  if (plain) {
    // softmax(z / T) over the whole vocabulary, walked in id order: the distribution
    // behaviour_distribution gives for these parameters, without building it (a vocabulary-sized
    // list per token per row was most of the sampler's time).
    const double kept = tempered_weights(logits, V, 1.0 / double(p.temperature), w.data()).sum;
    c.id = int32_t(walk(V, draw_uniform(p.seed, stream, step), [&](int64_t v) { return double(w[size_t(v)]) / kept; }));
    // The rounding guard (the last id) could be a zero-weight id: take the last nonzero one.
    while (c.id > 0 && w[size_t(c.id)] == 0.f) --c.id;
    c.behaviour_logprob = float(std::log(double(w[size_t(c.id)]) / kept));
    c.logprob = p.temperature == 1.f ? c.behaviour_logprob : policy_logprob(logits, V, c.id, w);
    return c;
  }
  const auto dist = behaviour_distribution(logits, V, p, history);  // one id with probability 1 when greedy
  const auto& [id, q] = dist[size_t(walk(int64_t(dist.size()), draw_uniform(p.seed, stream, step),
                                         [&](int64_t i) { return dist[size_t(i)].second; }))];
  c.id = id;
  c.behaviour_logprob = float(std::log(q));
  c.logprob = policy_logprob(logits, V, c.id, w);
  return c;
}

}  // namespace tandem::rollout
