#include "train/uft_hint.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace tandem::train {

double uft_hint_probability(double p_lo, double p_hi, int64_t t_hint, int64_t step) {
  if (t_hint <= 0 || step > t_hint) return 0.0;
  const double pi = std::acos(-1.0);
  return p_lo + 0.5 * (p_hi - p_lo) * (1.0 + std::cos(pi * double(step) / double(t_hint)));
}

std::vector<size_t> uft_step_ends(std::span<const int32_t> demo, std::span<const int64_t> eos_ids,
                                  const std::function<std::string(std::span<const int32_t>)>& text) {
  size_t n = demo.size();
  while (n > 0 && std::find(eos_ids.begin(), eos_ids.end(), int64_t(demo[n - 1])) != eos_ids.end()) --n;
  std::vector<size_t> lines;
  for (size_t t = 0; t < n; ++t)
    if (text(demo.subspan(t, 1)).find('\n') != std::string::npos) lines.push_back(t + 1);
  if (!lines.empty() && lines.back() != n) lines.push_back(n);
  if (lines.size() >= 2) return lines;
  std::vector<size_t> tokens(n);
  for (size_t t = 0; t < n; ++t) tokens[t] = t + 1;
  return tokens;
}

int64_t uft_segments(size_t steps, int64_t max_segments) {
  return std::min<int64_t>(int64_t(steps), max_segments);
}

size_t uft_hint_tokens(const std::vector<size_t>& step_ends, int64_t K, int64_t l) {
  TD_ASSERT(K >= 0 && l >= 0 && l <= K && K <= int64_t(step_ends.size()), "K=", K, " l=", l, " steps=", step_ends.size());
  if (l == 0) return 0;
  const size_t steps = size_t(int64_t(step_ends.size()) * l / K);  // floor(l S / K) >= 1
  return step_ends[steps - 1];
}

int64_t uft_sample_segments(int64_t K, double p, const Rng& rng) {
  int64_t l = 0;
  for (int64_t i = 0; i < K; ++i) l += double(rng.uniform(uint64_t(i))) < p;
  return l;
}

}  // namespace tandem::train
