// Every bad-input case of the data layer: the message names file:line[:column], the field, what
// was expected and what was found; the default stops at the first bad line, skip_bad_lines skips
// and counts them (and lists which), and nothing else is ever skipped.
#include <gtest/gtest.h>

#include "data/stream.h"
#include "unit/data/data_testing.h"

namespace tandem::data {
namespace {

using namespace testing_data;
using tandem::testing::TempDir;

struct Case {
  const char* name;
  const char* line;
  const char* kind;      // sft | preference | prompt | unpaired
  const char* expected;  // substring of the message after "file:line"
  int64_t max_length = 1024;
};

const Case kCases[] = {
    {"invalid_json", R"({"messages": [}")", "sft", ":1:15: JSON: expected a JSON object, found invalid JSON"},
    {"not_an_object", R"([1, 2])", "sft", ":1:1: expected a JSON object, found a list of 2"},
    {"no_known_shape", R"({"question": "hi"})", "sft", ":1: expected an SFT shape: text, messages, prompt + completion, or input_ids, found fields question"},
    {"missing_completion", R"({"prompt": "hi"})", "sft", ":1: completion: expected the completion that goes with prompt, found nothing"},
    {"missing_rejected", R"({"prompt": "hi", "chosen": "a"})", "preference", ":1: rejected: expected a preference pair"},
    {"wrong_type_content", R"({"messages": [{"role": "user", "content": 3}]})", "sft", ":1: messages[0].content: expected a string or a list of content parts, found integer 3"},
    {"wrong_type_text", R"({"text": ["a"]})", "sft", ":1: text: expected a string, found a list of 1"},
    {"wrong_type_label", R"({"prompt": "a", "completion": "b", "label": 1})", "unpaired", ":1: label: expected true or false, found integer 1"},
    {"unknown_role", R"({"messages": [{"role": "bot", "content": "hi"}]})", "sft", ":1: messages[0].role: expected system, user, assistant or tool, found string 'bot'"},
    {"empty_assistant", R"({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": ""}]})", "sft", ":1: messages[1].content: expected a non-empty assistant turn, found string ''"},
    {"chosen_equals_rejected", R"({"prompt": "Q", "chosen": " A", "rejected": " A"})", "preference", ":1: rejected: expected a completion different from chosen, found the same"},
    {"chosen_equals_rejected_msgs", R"({"prompt": [{"role": "user", "content": "Q"}], "chosen": "A", "rejected": "A"})", "preference", ":1: rejected: expected a completion different from chosen, found the same"},
    {"bad_token_id", R"({"input_ids": [1, -2]})", "sft", ":1: input_ids[1]: expected a token id in [0, 2^31), found integer -2"},
    {"mask_length", R"({"input_ids": [1, 2], "completion_mask": [1]})", "sft", ":1: completion_mask: expected a list of 2 zeros and ones (one per input id), found a list of 1"},
    {"no_prompt", R"({"question": "x"})", "prompt", ":1: prompt: expected a prompt (a string or a list of messages) or prompt_input_ids, found nothing"},
    {"cannot_fit", R"({"prompt": "one two three four five six seven eight nine ten eleven twelve", "completion": " end", "label": true})", "unpaired", ":1: prompt: expected a prompt shorter than max_length 8", 8},
};

template <class T>
void get(const Dataset& ds) {
  DataStats s;
  ds.get<T>(0, s);
}

void run_kind(const Dataset& ds, const std::string& kind) {
  if (kind == "sft") get<SftExample>(ds);
  else if (kind == "preference") get<PreferenceExample>(ds);
  else if (kind == "unpaired") get<UnpairedExample>(ds);
  else get<PromptExample>(ds);
}

TEST(BadInput, EachCaseNamesFileLineFieldExpectedAndFound) {
  TempDir dir("data_bad");
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.name);
    const std::string path = write_jsonl(dir, std::string(c.name) + ".jsonl", {c.line});
    DataConfig cfg = config_for(path);
    cfg.max_length = c.max_length;
    Dataset ds(cfg, model_dir("qwen3"));
    const std::string msg = bad_line_message([&] { run_kind(ds, c.kind); });
    EXPECT_NE(msg.find(path + c.expected), std::string::npos) << "got: " << msg;
  }
}

TEST(BadInput, StopsAtFirstByDefaultAndSkipBadLinesCountsWhich) {
  TempDir dir("data_bad_skip");
  const std::string path = write_jsonl(dir, "a.jsonl", {
      R"({"text": "good one"})", R"({"text": 3})", "", R"({"text": "good two"})", R"(not json)", R"({"text": "good three"})"});
  DataConfig cfg = config_for(path);
  {
    Dataset ds(cfg, model_dir("qwen3"));
    EXPECT_EQ(ds.size(), 5u);  // blank lines are not examples
    SftStream st(ds, 1);
    std::string msg;
    try {
      for (int k = 0; k < 5; ++k) st.next();
    } catch (const BadLine& e) {
      msg = e.message();
    }
    EXPECT_FALSE(msg.empty());
  }
  cfg.skip_bad_lines = true;
  Dataset ds(cfg, model_dir("qwen3"));
  DataStats stats;
  int good = 0;
  for (size_t i = 0; i < ds.size(); ++i) good += ds.get<SftExample>(i, stats).has_value();
  EXPECT_EQ(good, 3);
  EXPECT_EQ(stats.skipped, 2);
  EXPECT_EQ(stats.examples, 3);
  ASSERT_EQ(stats.skipped_lines.size(), 2u);
  EXPECT_EQ(stats.skipped_lines[0].rfind(path + ":2: text: expected a string", 0), 0u) << stats.skipped_lines[0];
  EXPECT_EQ(stats.skipped_lines[1].rfind(path + ":5:2: JSON:", 0), 0u) << stats.skipped_lines[1];
}

TEST(BadInput, TruncationPoliciesAreCountedNeverSilent) {
  TempDir dir("data_trunc");
  const std::string path = write_jsonl(dir, "a.jsonl", {
      R"({"prompt": "a b c d e f g h i j k l m n o p", "completion": " q r s t"})", R"({"prompt": "a", "completion": " b"})"});
  DataConfig cfg = config_for(path);
  cfg.max_length = 10;
  cfg.truncation = "drop";
  {
    Dataset ds(cfg, model_dir("qwen3"));
    DataStats s;
    EXPECT_FALSE(ds.get<SftExample>(0, s).has_value());
    EXPECT_TRUE(ds.get<SftExample>(1, s).has_value());
    EXPECT_EQ(s.dropped, 1);
    EXPECT_EQ(s.examples, 1);
  }
  cfg.truncation = "keep_end";
  {
    Dataset ds(cfg, model_dir("qwen3"));
    DataStats s;
    const auto ex = ds.get<SftExample>(0, s);
    ASSERT_TRUE(ex);
    EXPECT_EQ(ex->seq.ids.size(), 10u);
    EXPECT_EQ(s.truncated, 1);
    EXPECT_GT(s.tokens_cut, 0);
    const std::string text = ds.renderer().tokenizer().decode(ex->seq.ids), tail = " q r s t<|im_end|>";
    EXPECT_EQ(text.substr(text.size() - tail.size()), tail);
  }
  cfg.truncation = "truncate";  // the completion starts past max_length: nothing trained survives
  {
    Dataset ds(cfg, model_dir("qwen3"));
    const std::string msg = bad_line_message([&] { ds.sft(0); });
    EXPECT_NE(msg.find(path + ":1: expected an example whose trained tokens survive truncation=truncate"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace tandem::data
