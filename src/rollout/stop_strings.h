// The text side of one generated sequence: its ids decoded as they come (tokenizer::StreamDecoder,
// so a chunk never ends inside a UTF-8 character) and matched against stop strings on the decoded
// text, so a stop string that straddles tokens, or ends inside a multi-byte character that takes
// several byte tokens, is found as soon as its last byte has been decoded.
//
// Semantics (those of vLLM's SamplingParams.stop): when a stop string occurs, the earliest
// occurrence wins; the completion text ends just before it (or just after it with
// include_stop_str_in_output); the token ids are not cut: the token that completed the stop string
// is the last one generated. Streaming: ready() is the text that can be shown now: everything but a
// tail that could still grow into a stop string (held back until it either does, and is dropped, or
// cannot). Deliberately not here: stop token ids, lengths and finish reasons (rollout/engine.h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace tandem::rollout {

class TextTracker {
 public:
  // tok and stops must outlive this object. skip_special: special tokens (eos, ...) add no text.
  TextTracker(const tokenizer::Tokenizer& tok, const std::vector<std::string>& stops, bool include_stop);

  // Decodes one more id; true when the text now holds a stop string (the text is then final).
  bool add(int32_t id);
  // Ends the sequence (for a reason other than a stop string): releases text held back by the
  // stream decoder or as a possible stop string prefix.
  void finish();
  bool stopped() const { return stopped_; }

  // The completion text so far (final after add() returned true or finish()).
  const std::string& text() const { return text_; }
  // Text not yet returned by an earlier take_ready(), safe to show now.
  std::string take_ready();

 private:
  size_t held_back() const;  // bytes at the end of text_ that may begin a stop string

  tokenizer::StreamDecoder stream_;
  const std::vector<std::string>& stops_;
  bool include_stop_;
  size_t longest_ = 0;
  std::string text_;
  size_t shown_ = 0;
  bool stopped_ = false, finished_ = false;
};

}  // namespace tandem::rollout
