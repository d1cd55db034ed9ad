#include "rollout/stop_strings.h"

#include <algorithm>

#include "core/error.h"

namespace tandem::rollout {

TextTracker::TextTracker(const tokenizer::Tokenizer& tok, const std::vector<std::string>& stops, bool include_stop)
    : stream_(tok, /*skip_special=*/true), stops_(stops), include_stop_(include_stop) {
  for (const std::string& s : stops_) longest_ = std::max(longest_, s.size());
}

bool TextTracker::add(int32_t id) {
  TD_ASSERT(!stopped_ && !finished_, "text of a finished sequence");
  const std::string chunk = stream_.step(id);
  if (chunk.empty() || stops_.empty()) {
    text_ += chunk;
    return false;
  }
  // Only a match that ends in the new chunk is new: start longest - 1 bytes before it.
  const size_t from = text_.size() >= longest_ ? text_.size() - longest_ + 1 : 0;
  text_ += chunk;
  size_t best = std::string::npos, best_len = 0;
  for (const std::string& s : stops_) {
    const size_t at = text_.find(s, from);
    if (at < best) best = at, best_len = s.size();
  }
  if (best == std::string::npos) return false;
  text_.resize(include_stop_ ? best + best_len : best);
  shown_ = std::min(shown_, text_.size());
  stopped_ = true;
  return true;
}

void TextTracker::finish() {
  if (stopped_ || finished_) return;
  text_ += stream_.flush();
  finished_ = true;
}

size_t TextTracker::held_back() const {
  if (stopped_ || finished_) return 0;
  // The longest tail of text_ that is a proper prefix of some stop string. Stop strings begin on a
  // character boundary, so a matching tail does too and what is shown is always whole characters.
  const size_t most = std::min(text_.size(), longest_ > 0 ? longest_ - 1 : 0);
  for (size_t k = most; k > 0; --k)
    for (const std::string& s : stops_)
      if (s.size() > k && text_.compare(text_.size() - k, k, s, 0, k) == 0) return k;
  return 0;
}

std::string TextTracker::take_ready() {
  const size_t end = text_.size() - held_back();
  if (end <= shown_) return "";
  std::string out = text_.substr(shown_, end - shown_);
  shown_ = end;
  return out;
}

}  // namespace tandem::rollout
