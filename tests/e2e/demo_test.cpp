// `tandem demo --quick` end to end: the report, its charts (valid PNG files), the configs, the
// models and the GGUF exist; the accuracies the report states are recomputed here from the answers
// it saved and were measured on problems no stage trained on; SFT raised accuracy over the base;
// every demonstration is right (checked with this file's own arithmetic); the tokenizer loads in
// the Hugging Face tokenizers library; and llama.cpp runs the GGUF to the same greedy answer.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "core/file.h"
#include "core/json.h"
#include "testing/testing.h"

namespace tandem {
namespace {

// a + b on decimal strings, schoolbook, independent of the demo's solver.
std::string add_strings(const std::string& a, const std::string& b) {
  std::string out;
  int carry = 0;
  for (size_t i = 0; i < std::max(a.size(), b.size()) || carry; ++i) {
    const int s = (i < a.size() ? a[a.size() - 1 - i] - '0' : 0) + (i < b.size() ? b[b.size() - 1 - i] - '0' : 0) + carry;
    out.insert(out.begin(), char('0' + s % 10));
    carry = s / 10;
  }
  return out;
}

// "Add 457 and 68." -> {"457", "68"}
std::pair<std::string, std::string> operands(const std::string& q) {
  std::smatch m;
  EXPECT_TRUE(std::regex_match(q, m, std::regex(R"(Add (\d+) and (\d+)\.)"))) << q;
  return {m[1], m[2]};
}

// The last run of digits in text ("" when none): what the math reward compares for these answers.
std::string last_number(const std::string& text) {
  std::string last, cur;
  for (char c : text) {
    if (c >= '0' && c <= '9') cur += c;
    else if (!cur.empty()) last = cur, cur.clear();
  }
  return cur.empty() ? last : cur;
}

bool is_png(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string head(24, '\0');
  if (!in.read(head.data(), 24)) return false;
  const auto u32 = [&](size_t at) {
    return (uint32_t(uint8_t(head[at])) << 24) | (uint32_t(uint8_t(head[at + 1])) << 16) | (uint32_t(uint8_t(head[at + 2])) << 8) |
           uint32_t(uint8_t(head[at + 3]));
  };
  return head.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0 && head.compare(12, 4, "IHDR") == 0 && u32(16) > 0 && u32(20) > 0;
}

class DemoQuick : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir("demo");
    out_ = dir_->file("report");
    rc_ = testing::run_command(testing::tandem_binary() + " --threads 1 demo --quick --out " + out_, &log_);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string path(const std::string& rel) { return out_ + "/" + rel; }
  static inline testing::TempDir* dir_ = nullptr;
  static inline std::string out_, log_;
  static inline int rc_ = -1;
};

TEST_F(DemoQuick, WritesReportChartsConfigsModelsAndGguf) {
  ASSERT_EQ(rc_, 0) << log_;
  for (const char* f : {"report.md", "report.html", "samples.jsonl", "configs/1-sft.yaml", "configs/2-grpo.yaml",
                        "configs/3-chord_mu.yaml", "models/base/tokenizer.json", "models/base/tokenizer_config.json"})
    EXPECT_TRUE(file_exists(path(f))) << f;
  for (const char* run : {"runs/1-sft", "runs/2-grpo", "runs/3-chord_mu"}) {
    EXPECT_TRUE(file_exists(path(std::string(run) + "/model.safetensors"))) << run;
    EXPECT_TRUE(file_exists(path(std::string(run) + "/config.json"))) << run;
    EXPECT_TRUE(file_exists(path(std::string(run) + "/tokenizer.json"))) << run;
    EXPECT_FALSE(testing::read_jsonl(path(std::string(run) + "/metrics.jsonl")).empty()) << run;
  }
  // Every chart the report shows is a real PNG, and both renderings show the same ones.
  const std::string md = read_file(path("report.md")), html = read_file(path("report.html"));
  const std::regex img(R"(!\[[^\]]*\]\((charts/[^)]+\.png)\))");
  int charts = 0;
  for (auto it = std::sregex_iterator(md.begin(), md.end(), img); it != std::sregex_iterator(); ++it, ++charts) {
    const std::string rel = (*it)[1];
    EXPECT_TRUE(is_png(path(rel))) << rel;
    EXPECT_NE(html.find("src=\"" + rel + "\""), std::string::npos) << rel;
  }
  EXPECT_GE(charts, 6);  // accuracy, held-out curve, loss, reward, accuracy, length (KL when a stage logs it)
  for (const char* name : {"accuracy.png", "heldout_over_training.png", "stage_loss.png", "stage_reward.png"})
    EXPECT_NE(md.find(std::string("charts/") + name), std::string::npos) << name;
  // A GGUF of the best model.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(md, m, std::regex(R"(`(models/[^`]+\.gguf)`)"))) << md;
  const std::string gguf = path(m[1]);
  ASSERT_TRUE(file_exists(gguf));
  EXPECT_EQ(read_file(gguf).substr(0, 4), "GGUF");
}

TEST_F(DemoQuick, AccuraciesAreMeasuredOnHeldOutProblemsAndSftLearned) {
  ASSERT_EQ(rc_, 0) << log_;
  // Held out: no evaluation question is in any training file.
  std::set<std::string> trained;
  for (const Json& j : testing::read_jsonl(path("data/sft.jsonl"))) trained.insert(j["prompt"][0]["content"].get<std::string>());
  for (const Json& j : testing::read_jsonl(path("data/rl_prompts.jsonl"))) trained.insert(j["prompt"][0]["content"].get<std::string>());
  ASSERT_GT(trained.size(), 100u);
  std::map<std::string, std::vector<std::string>> eval_questions;
  for (const char* set : {"in_distribution", "longer_numbers"}) {
    const std::string f = std::string("data/") + (std::string(set) == "in_distribution" ? "eval_in.jsonl" : "eval_ood.jsonl");
    for (const Json& j : testing::read_jsonl(path(f))) {
      const std::string q = j["question"];
      EXPECT_EQ(trained.count(q), 0u) << q << " is both trained on and evaluated";
      const auto [a, b] = operands(q);
      EXPECT_EQ(j["answer"].get<std::string>(), add_strings(a, b)) << q;
      eval_questions[set].push_back(q);
    }
  }
  // Each model answered exactly the held-out problems; its accuracy is recomputed from the answers
  // and must be the one the report's table states.
  std::map<std::string, std::map<std::string, std::pair<int, int>>> score;  // model -> set -> (right, n)
  std::map<std::string, std::map<std::string, size_t>> seen;
  for (const Json& j : testing::read_jsonl(path("samples.jsonl"))) {
    const std::string model = j["model"], set = j["set"], q = j["question"];
    const size_t i = seen[model][set]++;
    ASSERT_LT(i, eval_questions[set].size());
    EXPECT_EQ(q, eval_questions[set][i]);
    const bool right = last_number(j["completion"]) == j["expected"].get<std::string>();
    EXPECT_EQ(j["correct"].get<bool>(), right) << j.dump();
    score[model][set].first += right;
    score[model][set].second += 1;
  }
  ASSERT_EQ(score.size(), 4u);
  const std::string md = read_file(path("report.md"));
  auto pct = [](std::pair<int, int> s) {
    const double p = std::round(1000.0 * s.first / s.second) / 10.0;
    std::ostringstream o;
    o << p << "%";
    return o.str();
  };
  for (const auto& [model, sets] : score) {
    ASSERT_EQ(sets.at("in_distribution").second, int(eval_questions["in_distribution"].size()));
    const std::string row_start = "| " + model + " |";
    const size_t at = md.find(row_start);
    ASSERT_NE(at, std::string::npos) << model;
    const std::string row = md.substr(at, md.find('\n', at) - at);
    EXPECT_NE(row.find("| " + pct(sets.at("in_distribution")) + " (±"), std::string::npos) << row;
    EXPECT_NE(row.find("| " + pct(sets.at("longer_numbers")) + " (±"), std::string::npos) << row;
  }
  EXPECT_GT(score["SFT"]["in_distribution"].first, score["Base (random)"]["in_distribution"].first)
      << "SFT did not raise held-out accuracy over the random base";
}

TEST_F(DemoQuick, DemonstrationsAreRightAndConfigsRerun) {
  ASSERT_EQ(rc_, 0) << log_;
  const auto demos = testing::read_jsonl(path("data/sft.jsonl"));
  ASSERT_FALSE(demos.empty());
  for (const Json& j : demos) {
    const auto [a, b] = operands(j["prompt"][0]["content"]);
    const std::string sol = j["completion"][0]["content"];
    ASSERT_NE(sol.find(';'), std::string::npos) << sol;
    EXPECT_EQ(sol.substr(sol.rfind(';') + 1), add_strings(a, b)) << sol;
    // Column k (from the right) sums the k-th digits and the carry into it.
    std::vector<std::string> cols;
    std::stringstream ss(sol.substr(0, sol.rfind(';')));
    for (std::string c; std::getline(ss, c, ',');) cols.push_back(c);
    ASSERT_EQ(cols.size(), std::max(a.size(), b.size())) << sol;
    int carry = 0;
    for (size_t k = 0; k < cols.size(); ++k) {
      const int s = (k < a.size() ? a[a.size() - 1 - k] - '0' : 0) + (k < b.size() ? b[b.size() - 1 - k] - '0' : 0) + carry;
      EXPECT_EQ(cols[k].substr(cols[k].find('=') + 1), std::to_string(s)) << sol;
      carry = s / 10;
    }
  }
  // The configs are ordinary run configs: the SFT one validates through `tandem data inspect`.
  std::string out;
  EXPECT_EQ(testing::run_command(testing::tandem_binary() + " data inspect --config " + path("configs/1-sft.yaml") + " --examples 1",
                                 &out),
            0)
      << out;
}

TEST_F(DemoQuick, TokenizerLoadsInHfTokenizersAndGgufRunsInLlamaCpp) {
  ASSERT_EQ(rc_, 0) << log_;
  // The HF Rust tokenizers library loads the demo's tokenizer.json and encodes like Tandem: one
  // token per byte, the chat markers as single special tokens.
  const std::string in = dir_->file("texts.jsonl"), hf = dir_->file("hf.jsonl");
  const std::string text = "<|im_start|>user\nAdd 457 and 68.<|im_end|>\n";
  std::ofstream(in) << Json{{"text", text}}.dump() << "\n";
  std::string out;
  ASSERT_EQ(testing::run_command("node " + testing::source_dir() + "/tests/reference/hf_tokenize.js " +
                                     path("models/base/tokenizer.json") + " " + in + " " + hf,
                                 &out),
            0)
      << out;
  const auto rows = testing::read_jsonl(hf);
  ASSERT_EQ(rows.size(), 1u);
  ASSERT_FALSE(rows[0].contains("load_error")) << rows[0].dump();
  std::vector<int64_t> want = {257};
  for (unsigned char c : std::string("user\nAdd 457 and 68.")) want.push_back(c);
  want.push_back(258);
  want.push_back('\n');
  EXPECT_EQ(rows[0]["ids"].get<std::vector<int64_t>>(), want);

  // llama.cpp loads the exported GGUF and answers a held-out question greedily as Tandem did.
  const std::string md = read_file(path("report.md"));
  std::smatch m;
  ASSERT_TRUE(std::regex_search(md, m, std::regex(R"(`(models/([^`]+)\.gguf)`: the best model \(([^)]+)\))"))) << md;
  const std::string gguf = path(m[1]), label = m[3];
  Json sample;
  for (const Json& j : testing::read_jsonl(path("samples.jsonl")))
    if (j["model"] == label && j["set"] == "in_distribution") {
      sample = j;
      break;
    }
  ASSERT_FALSE(sample.is_null()) << label;
  std::vector<int64_t> prompt = {257};
  for (unsigned char c : "user\n" + sample["question"].get<std::string>()) prompt.push_back(c);
  for (int64_t t : {258, int('\n'), 257}) prompt.push_back(t);
  for (unsigned char c : std::string("assistant\n")) prompt.push_back(c);
  const std::string req = dir_->file("llama_req.json"), res = dir_->file("llama_out.json");
  std::ofstream(req) << Json::array({{{"model", gguf}, {"prompts", {prompt}}, {"max_new_tokens", 48}, {"top", 1}}}).dump();
  ASSERT_EQ(testing::run_command("node " + testing::source_dir() + "/tests/reference/llama_cpp_gguf.js " + req + " " + res, &out), 0)
      << out;
  const Json got = Json::parse(read_file(res));
  std::string text_out;
  for (const auto& t : got[0]["generations"][0]["ids"]) {
    if (t.get<int64_t>() >= 256) break;  // the end of the turn
    text_out += char(t.get<int64_t>());
  }
  EXPECT_EQ(text_out, sample["completion"].get<std::string>()) << "llama.cpp and Tandem answer differently";
}

}  // namespace
}  // namespace tandem
