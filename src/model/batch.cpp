#include "model/batch.h"

#include <algorithm>

#include "core/error.h"

namespace tandem::model {

TokenBatch TokenBatch::padded(const std::vector<std::vector<int32_t>>& seqs, int64_t T) {
  std::vector<std::vector<std::vector<int32_t>>> rows;
  rows.reserve(seqs.size());
  for (const auto& s : seqs) rows.push_back({s});
  return packed(rows, T);
}

TokenBatch TokenBatch::packed(const std::vector<std::vector<std::vector<int32_t>>>& rows, int64_t T) {
  TokenBatch b;
  b.B = int64_t(rows.size());
  int64_t longest = 0;
  for (const auto& r : rows) {
    int64_t n = 0;
    for (const auto& d : r) n += int64_t(d.size());
    longest = std::max(longest, n);
  }
  if (T == 0) T = longest;
  if (longest > T) throw Error("model.batch", cat("a row holds ", longest, " tokens, more than the row length ", T));
  b.T = T;
  b.tokens.assign(size_t(b.B * T), 0);
  b.positions.assign(size_t(b.B * T), 0);
  b.segments.assign(size_t(b.B * T), -1);
  for (int64_t r = 0; r < b.B; ++r) {
    int64_t t = 0;
    int32_t seg = 0;
    for (const auto& d : rows[r]) {
      if (d.empty()) continue;
      for (size_t i = 0; i < d.size(); ++i, ++t) {
        b.tokens[r * T + t] = d[i];
        b.positions[r * T + t] = int32_t(i);
        b.segments[r * T + t] = seg;
      }
      ++seg;
    }
  }
  return b;
}

void TokenBatch::validate(int64_t vocab_size, int64_t max_positions, const std::string& origin) const {
  for (int64_t n = 0; n < N(); ++n) {
    if (segments[n] < 0) continue;
    if (tokens[n] < 0 || tokens[n] >= vocab_size)
      throw Error("model.batch.input_ids", cat("token id ", tokens[n], " at row ", n / T, ", position ", n % T,
                                               " is outside the vocabulary [0, ", vocab_size, ") (", origin, ")"));
    if (positions[n] < 0 || positions[n] >= max_positions)
      throw Error("model.batch.positions", cat("position ", positions[n], " at row ", n / T, " exceeds the model's ",
                                               "max_position_embeddings ", max_positions, " (", origin, ")"));
  }
}

AttnLayout TokenBatch::layout() const {
  AttnLayout l;
  l.B = B;
  l.T = T;
  l.seg_start.assign(size_t(N()), -1);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) {
      const int64_t n = b * T + t;
      if (segments[n] < 0) continue;
      const bool starts = t == 0 || segments[n - 1] != segments[n];
      l.seg_start[n] = starts ? int32_t(t) : l.seg_start[n - 1];
    }
  return l;
}

std::vector<int32_t> TokenBatch::next_targets() const {
  std::vector<int32_t> tg(size_t(N()), -1);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t + 1 < T; ++t) {
      const int64_t n = b * T + t;
      if (segments[n] >= 0 && segments[n + 1] == segments[n]) tg[n] = tokens[n + 1];
    }
  return tg;
}

std::vector<float> TokenBatch::logp_mask() const {
  std::vector<float> m(size_t(N()), 0.f);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 1; t < T; ++t) {
      const int64_t n = b * T + t;
      if (segments[n] >= 0 && segments[n - 1] == segments[n]) m[n] = 1.f;
    }
  return m;
}

int64_t TokenBatch::max_position() const {
  int64_t m = 0;
  for (int64_t n = 0; n < N(); ++n)
    if (segments[n] >= 0) m = std::max<int64_t>(m, positions[n]);
  return m;
}

}  // namespace tandem::model
