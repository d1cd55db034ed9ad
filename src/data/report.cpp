#include "data/report.h"

#include <algorithm>
#include <cmath>

#include "data/collate.h"

namespace tandem::data {

std::string LengthStats::str() const {
  char mean_s[32];
  std::snprintf(mean_s, sizeof mean_s, "%.1f", mean);
  return cat("min ", min, ", median ", median, ", p95 ", p95, ", max ", max, " (mean ", mean_s, ", n ", count, ")");
}

LengthStats length_stats(std::vector<int64_t> v) {
  LengthStats s;
  s.count = int64_t(v.size());
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {  // nearest rank
    const size_t r = size_t(std::ceil(q * double(v.size())));
    return v[std::min(v.size(), std::max<size_t>(r, 1)) - 1];
  };
  s.min = v.front();
  s.max = v.back();
  s.median = at(0.5);
  s.p95 = at(0.95);
  double sum = 0;
  for (int64_t x : v) sum += double(x);
  s.mean = sum / double(v.size());
  return s;
}

double packing_efficiency(const std::vector<int64_t>& lengths, int64_t max_length, int64_t* rows) {
  if (lengths.empty()) return 0;
  std::vector<int64_t> l(lengths);
  for (auto& x : l) x = std::min(x, max_length);
  const auto packed = best_fit_pack(l, max_length);
  double tokens = 0;
  for (int64_t x : l) tokens += double(x);
  if (rows) *rows = int64_t(packed.size());
  return tokens / (double(packed.size()) * double(max_length));
}

double padding_efficiency(const std::vector<int64_t>& lengths, int64_t batch_size) {
  double tokens = 0, slots = 0;
  for (size_t b = 0; b < lengths.size(); b += size_t(batch_size)) {
    const size_t e = std::min(lengths.size(), b + size_t(batch_size));
    int64_t longest = 0;
    for (size_t i = b; i < e; ++i) tokens += double(lengths[i]), longest = std::max(longest, lengths[i]);
    slots += double(longest) * double(e - b);
  }
  return slots > 0 ? tokens / slots : 0;
}

std::string detect_kind(const OrderedJson& l) {
  if (l.contains("chosen") || l.contains("chosen_input_ids")) return "preference";
  if (l.contains("label")) return "unpaired";
  if (l.contains("messages") || l.contains("text") || l.contains("input_ids") || l.contains("completion") ||
      l.contains("completion_input_ids"))
    return "sft";
  return "prompt";
}

std::string highlight(const tokenizer::Tokenizer& tok, const std::vector<int32_t>& ids,
                      const std::vector<uint8_t>& trained, bool color) {
  std::string out;
  size_t t = 0;
  while (t < ids.size()) {
    const bool on = t < trained.size() && trained[t];
    size_t e = t;
    while (e < ids.size() && (e < trained.size() && trained[e]) == on) ++e;
    const std::string text = tok.decode(std::span<const int32_t>(ids.data() + t, e - t));
    if (on) out += color ? "\x1b[1;32m" + text + "\x1b[0m" : "[[" + text + "]]";
    else out += color ? "\x1b[2m" + text + "\x1b[0m" : text;
    t = e;
  }
  return out;
}

}  // namespace tandem::data
