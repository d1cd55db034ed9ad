#include "data/truncation.h"

#include <algorithm>

#include "data/bad_line.h"

namespace tandem::data {

Truncation parse_truncation(const std::string& s) {
  if (s == "truncate") return Truncation::kTruncate;
  if (s == "keep_end") return Truncation::kKeepEnd;
  if (s == "drop") return Truncation::kDrop;
  throw Error("truncation", cat("expected truncate, keep_end or drop, got '", s, "'"));
}

void DataStats::merge(const DataStats& o) {
  examples += o.examples;
  tokens += o.tokens;
  trained += o.trained;
  truncated += o.truncated;
  tokens_cut += o.tokens_cut;
  dropped += o.dropped;
  skipped += o.skipped;
  for (const auto& s : o.skipped_lines)
    if (skipped_lines.size() < kMaxListed) skipped_lines.push_back(s);
}

Json DataStats::to_json() const {
  return Json{{"examples", examples}, {"tokens", tokens},   {"trained", trained}, {"truncated", truncated},
              {"tokens_cut", tokens_cut}, {"dropped", dropped}, {"skipped", skipped}};
}

DataStats DataStats::from_json(const Json& j) {
  DataStats s;
  auto get = [&](const char* k) { return j.contains(k) && j[k].is_number_integer() ? j[k].get<int64_t>() : int64_t(0); };
  s.examples = get("examples");
  s.tokens = get("tokens");
  s.trained = get("trained");
  s.truncated = get("truncated");
  s.tokens_cut = get("tokens_cut");
  s.dropped = get("dropped");
  s.skipped = get("skipped");
  return s;
}

std::string DataStats::summary() const {
  return cat(examples, " examples, ", tokens, " tokens (", trained, " trained), ", truncated, " truncated (", tokens_cut,
             " tokens cut), ", dropped, " dropped as too long, ", skipped, " bad lines skipped");
}

bool fit_sequence(TokenSeq& seq, int64_t max_length, Truncation policy, const Origin& origin, DataStats& stats) {
  const int64_t n = int64_t(seq.ids.size());
  if (n <= max_length) return true;
  if (policy == Truncation::kDrop) {
    ++stats.dropped;
    return false;
  }
  const int64_t cut = n - max_length;
  if (policy == Truncation::kTruncate) {
    seq.ids.resize(size_t(max_length));
    seq.trained.resize(size_t(max_length));
  } else {
    seq.ids.erase(seq.ids.begin(), seq.ids.begin() + cut);
    seq.trained.erase(seq.trained.begin(), seq.trained.begin() + cut);
    seq.trained[0] = 0;  // nothing predicts the first token
  }
  if (std::find(seq.trained.begin(), seq.trained.end(), uint8_t(1)) == seq.trained.end())
    throw BadLine(origin, "", cat("an example whose trained tokens survive truncation=",
                                  policy == Truncation::kTruncate ? "truncate" : "keep_end", " to max_length ", max_length),
                  cat(n, " tokens with none trained in the part kept (try truncation=",
                      policy == Truncation::kTruncate ? "keep_end" : "truncate", " or a larger max_length)"));
  ++stats.truncated;
  stats.tokens_cut += cut;
  return true;
}

namespace {

// max_prompt_length: the prompt's start is cut (or, with drop, the example left out: returns false).
// *cut receives the tokens removed; nothing is counted here.
bool limit_prompt(std::vector<int32_t>& prompt, int64_t max_prompt_length, Truncation policy, int64_t* cut) {
  *cut = 0;
  if (max_prompt_length <= 0 || int64_t(prompt.size()) <= max_prompt_length) return true;
  if (policy == Truncation::kDrop) return false;
  *cut = int64_t(prompt.size()) - max_prompt_length;
  prompt.erase(prompt.begin(), prompt.begin() + *cut);
  return true;
}

bool fit_pair_within(std::vector<int32_t>& prompt, std::vector<std::vector<int32_t>*> completions, int64_t max_length,
                     Truncation policy, const Origin& origin, DataStats& stats) {
  int64_t longest = 0;
  for (auto* c : completions) longest = std::max(longest, int64_t(c->size()));
  const int64_t p = int64_t(prompt.size());
  if (p + longest <= max_length) return true;
  if (policy == Truncation::kDrop) {
    ++stats.dropped;
    return false;
  }
  int64_t keep_prompt = p;
  if (policy == Truncation::kKeepEnd) keep_prompt = std::min(p, std::max(max_length - longest, max_length / 2));
  if (keep_prompt >= max_length)
    throw BadLine(origin, "prompt", cat("a prompt shorter than max_length ", max_length, " (room for the completion)"),
                  cat(p, " tokens (try truncation=keep_end)"));
  int64_t cut = p - keep_prompt;
  prompt.erase(prompt.begin(), prompt.begin() + cut);
  const int64_t room = max_length - keep_prompt;
  for (auto* c : completions)
    if (int64_t(c->size()) > room) {
      cut += int64_t(c->size()) - room;
      c->resize(size_t(room));
    }
  ++stats.truncated;
  stats.tokens_cut += cut;
  return true;
}

bool fit_prompt_within(std::vector<int32_t>& prompt, std::vector<int32_t>& demonstration, int64_t max_length,
                       Truncation policy, const Origin& origin, DataStats& stats) {
  if (demonstration.empty()) {
    const int64_t limit = max_length - 1;  // room for at least one generated token
    if (int64_t(prompt.size()) <= limit) return true;
    if (policy == Truncation::kDrop) {
      ++stats.dropped;
      return false;
    }
    const int64_t cut = int64_t(prompt.size()) - limit;
    prompt.erase(prompt.begin(), prompt.begin() + cut);
    ++stats.truncated;
    stats.tokens_cut += cut;
    return true;
  }
  return fit_pair_within(prompt, {&demonstration}, max_length,
                         policy == Truncation::kTruncate ? Truncation::kKeepEnd : policy, origin, stats);
}

// The prompt limit first, then the length limit; an example cut by both counts once in truncated.
template <class Fit>
bool fit_limited(std::vector<int32_t>& prompt, int64_t max_prompt_length, Truncation policy, DataStats& stats, Fit fit) {
  int64_t cut = 0;
  if (!limit_prompt(prompt, max_prompt_length, policy, &cut)) {
    ++stats.dropped;
    return false;
  }
  DataStats inner;
  if (!fit(inner)) {
    stats.merge(inner);
    return false;
  }
  if (cut > 0 && inner.truncated == 0) ++inner.truncated;
  inner.tokens_cut += cut;
  stats.merge(inner);
  return true;
}

}  // namespace

bool fit_pair(std::vector<int32_t>& prompt, std::vector<std::vector<int32_t>*> completions, int64_t max_length,
              int64_t max_prompt_length, Truncation policy, const Origin& origin, DataStats& stats) {
  return fit_limited(prompt, max_prompt_length, policy, stats, [&](DataStats& s) {
    return fit_pair_within(prompt, completions, max_length, policy, origin, s);
  });
}

bool fit_prompt(std::vector<int32_t>& prompt, std::vector<int32_t>& demonstration, int64_t max_length,
                int64_t max_prompt_length, Truncation policy, const Origin& origin, DataStats& stats) {
  return fit_limited(prompt, max_prompt_length, policy, stats, [&](DataStats& s) {
    return fit_prompt_within(prompt, demonstration, max_length, policy, origin, s);
  });
}

}  // namespace tandem::data
