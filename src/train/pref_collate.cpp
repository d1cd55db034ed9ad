#include "train/pref_collate.h"

#include <algorithm>

#include "core/error.h"

namespace tandem::train {

std::vector<float> PrefBatch::gather(const float* engine) const {
  std::vector<float> out(index.size());
  for (size_t k = 0; k < index.size(); ++k) out[k] = engine[index[k]];
  return out;
}

void PrefBatch::scatter(std::span<const float> compact, double scale, float* engine) const {
  TD_ASSERT(compact.size() == index.size(), "compact ", compact.size(), " vs ", index.size());
  for (size_t k = 0; k < index.size(); ++k) engine[index[k]] += float(scale * double(compact[k]));
}

std::vector<int32_t> join_truncated(const SeqRef& s, const CollateOptions& opts, int64_t* prompt_len) {
  const int64_t P = int64_t(s.prompt.size()), C = int64_t(s.completion.size()), L = opts.max_length;
  // keep_end drops the start of the prompt first; either way the completion then loses its end.
  const int64_t p0 = opts.truncation == "keep_end" ? std::clamp<int64_t>(P + C - L, 0, P) : 0;
  std::vector<int32_t> ids(s.prompt.begin() + p0, s.prompt.end());
  if (int64_t(ids.size()) > L) ids.resize(size_t(L));
  *prompt_len = int64_t(ids.size());
  const int64_t take = std::min(C, L - *prompt_len);
  ids.insert(ids.end(), s.completion.begin(), s.completion.begin() + take);
  return ids;
}

PrefBatch collate(std::span<const SeqRef> seqs, const CollateOptions& opts) {
  TD_ASSERT(opts.max_length >= 2, "max_length ", opts.max_length);
  PrefBatch pb;
  const size_t S = seqs.size();
  std::vector<std::vector<int32_t>> ids(S);
  pb.prompt_len.resize(S);
  for (size_t s = 0; s < S; ++s) ids[s] = join_truncated(seqs[s], opts, &pb.prompt_len[s]);

  // Rows: one per sequence, or first fit in order into rows of max_length (deterministic).
  std::vector<std::vector<std::vector<int32_t>>> rows;
  std::vector<int64_t> fill, row_of(S), col_of(S);
  for (size_t s = 0; s < S; ++s) {
    const int64_t len = int64_t(ids[s].size());
    size_t r = rows.size();
    if (opts.packing)
      for (size_t i = 0; i < rows.size(); ++i)
        if (fill[i] + len <= opts.max_length) {
          r = i;
          break;
        }
    if (r == rows.size()) rows.emplace_back(), fill.push_back(0);
    row_of[s] = int64_t(r);
    col_of[s] = fill[r];
    rows[r].push_back(ids[s]);
    fill[r] += len;
  }
  pb.tokens = model::TokenBatch::packed(rows);
  const int64_t T = pb.tokens.T;
  pb.offsets.assign(S + 1, 0);
  pb.reward_at.resize(S);
  for (size_t s = 0; s < S; ++s) {
    const int64_t len = int64_t(ids[s].size()), base = row_of[s] * T + col_of[s];
    pb.offsets[s + 1] = pb.offsets[s] + len;
    for (int64_t t = 0; t < len; ++t) {
      pb.index.push_back(base + t);
      pb.mask.push_back(t >= pb.prompt_len[s] ? 1.f : 0.f);
    }
    pb.reward_at[s] = pb.offsets[s] + (len > 0 ? reward_position(ids[s], opts.pad_token_id) : 0);
  }
  return pb;
}

std::vector<SeqRef> pair_sequences(std::span<const data::PreferenceExample> exs) {
  std::vector<SeqRef> out;
  out.reserve(2 * exs.size());
  for (const auto& e : exs) {
    out.push_back({e.prompt, e.chosen});
    out.push_back({e.prompt, e.rejected});
  }
  return out;
}

std::vector<SeqRef> unpaired_sequences(std::span<const data::UnpairedExample> exs) {
  std::vector<SeqRef> out;
  out.reserve(exs.size());
  for (const auto& e : exs) out.push_back({e.prompt, e.completion});
  return out;
}

int64_t reward_position(std::span<const int32_t> ids, int64_t pad_token_id) {
  if (ids.empty()) return 0;
  if (pad_token_id < 0) return int64_t(ids.size()) - 1;
  for (int64_t t = int64_t(ids.size()) - 1; t >= 0; --t)
    if (ids[size_t(t)] != pad_token_id) return t;
  return 0;
}

}  // namespace tandem::train
