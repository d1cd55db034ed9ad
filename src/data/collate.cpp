#include "data/collate.h"

#include <algorithm>
#include <map>
#include <numeric>

#include "core/error.h"

namespace tandem::data {

int64_t Collated::tokens() const {
  int64_t n = 0;
  for (int32_t s : batch.segments) n += s >= 0;
  return n;
}

double Collated::efficiency() const { return batch.N() > 0 ? double(tokens()) / double(batch.N()) : 0.0; }

std::vector<std::vector<size_t>> best_fit_pack(const std::vector<int64_t>& lengths, int64_t capacity) {
  std::vector<size_t> order(lengths.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return lengths[a] > lengths[b]; });
  std::vector<std::vector<size_t>> rows;
  std::multimap<int64_t, size_t> room;  // free space -> row; equal space: the older row first
  for (size_t i : order) {
    const int64_t len = lengths[i];
    TD_ASSERT(len <= capacity, "item of ", len, " tokens in rows of ", capacity);
    auto it = room.lower_bound(len);
    size_t r;
    int64_t left;
    if (it == room.end()) {
      r = rows.size();
      rows.emplace_back();
      left = capacity;
    } else {
      r = it->second;
      left = it->first;
      room.erase(it);
    }
    rows[r].push_back(i);
    room.emplace(left - len, r);
  }
  return rows;
}

Collated collate(const std::vector<TokenSeq>& seqs, bool packing, int64_t max_length) {
  std::vector<int64_t> lengths(seqs.size());
  for (size_t i = 0; i < seqs.size(); ++i) {
    const TokenSeq& s = seqs[i];
    if (s.trained.size() != s.ids.size())
      throw Error("data.collate", cat("sequence ", i, " has ", s.ids.size(), " ids but ", s.trained.size(), " mask entries"));
    if (int64_t(s.ids.size()) > max_length)
      throw Error("data.collate", cat("sequence ", i, " has ", s.ids.size(), " tokens, more than max_length ", max_length,
                                      " (the dataset truncates; this is a caller bug)"));
    lengths[i] = int64_t(s.ids.size());
  }
  std::vector<std::vector<size_t>> rows;
  if (packing) {
    rows = best_fit_pack(lengths, max_length);
  } else {
    for (size_t i = 0; i < seqs.size(); ++i) rows.push_back({i});
  }
  Collated c;
  c.where.resize(seqs.size());
  std::vector<std::vector<std::vector<int32_t>>> docs(rows.size());
  for (size_t r = 0; r < rows.size(); ++r) {
    int64_t off = 0;
    for (size_t i : rows[r]) {
      if (seqs[i].ids.empty()) continue;
      docs[r].push_back(seqs[i].ids);
      c.where[i] = {int64_t(r), off, lengths[i]};
      off += lengths[i];
    }
  }
  c.batch = model::TokenBatch::packed(docs);
  c.mask.assign(size_t(c.batch.N()), 0.f);
  for (size_t i = 0; i < seqs.size(); ++i) {
    const Placement& p = c.where[i];
    for (int64_t t = 1; t < p.length; ++t)  // the first token of a document has no log-prob
      if (seqs[i].trained[size_t(t)]) {
        c.mask[size_t(p.row * c.batch.T + p.offset + t)] = 1.f;
        ++c.n_trained;
      }
  }
  return c;
}

TokenSeq completion_seq(const std::vector<int32_t>& prompt, const std::vector<int32_t>& completion) {
  TokenSeq s;
  s.ids = prompt;
  s.ids.insert(s.ids.end(), completion.begin(), completion.end());
  s.trained.assign(s.ids.size(), 0);
  for (size_t t = std::max<size_t>(prompt.size(), 1); t < s.ids.size(); ++t) s.trained[t] = 1;
  return s;
}

TokenSeq chosen_seq(const PreferenceExample& e) { return completion_seq(e.prompt, e.chosen); }
TokenSeq rejected_seq(const PreferenceExample& e) { return completion_seq(e.prompt, e.rejected); }
TokenSeq completion_seq(const UnpairedExample& e) { return completion_seq(e.prompt, e.completion); }
TokenSeq demonstration_seq(const PromptExample& e) {
  if (e.demonstration.empty())
    throw Error("data.demonstration", cat("the example at ", e.origin.str(), " has no demonstration (completion or solution)"));
  return completion_seq(e.prompt, e.demonstration);
}

}  // namespace tandem::data
