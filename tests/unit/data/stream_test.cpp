// The Dataset as a trainer walks it: a restored stream continues exactly where the saved one was
// (including across epochs, drops and padding-free batches), read-ahead on 2 threads gives the
// same examples as 1, weights and held-out splits follow their definitions, and indexing a large
// file does not load it.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>

#include "data/stream.h"
#include "unit/data/data_testing.h"

namespace tandem::data {
namespace {

using namespace testing_data;
using tandem::testing::TempDir;

std::vector<std::string> numbered_lines(int n, const std::string& tag) {
  std::vector<std::string> lines;
  for (int i = 0; i < n; ++i) {
    std::string words;
    for (int k = 0; k <= i % 7; ++k) words += " w" + std::to_string(k);
    lines.push_back(cat(R"({"prompt": [{"role": "user", "content": ")", tag, i, words, R"("}], "completion": "ok )", i, R"("})"));
  }
  return lines;
}

std::vector<std::vector<int32_t>> ids_of(const std::vector<SftExample>& exs) {
  std::vector<std::vector<int32_t>> out;
  for (const auto& e : exs) out.push_back(e.seq.ids);
  return out;
}

TEST(Stream, RestoreContinuesExactlyAcrossEpochsAndDrops) {
  TempDir dir("data_stream_resume");
  auto lines = numbered_lines(23, "q");
  lines[4] = R"({"prompt": [{"role": "user", "content": ")" + std::string(400, 'x') + R"("}], "completion": "long"})";
  DataConfig cfg = config_for(write_jsonl(dir, "a.jsonl", lines));
  cfg.max_length = 64;
  cfg.truncation = "drop";
  Dataset ds(cfg, model_dir("qwen3"));
  SftStream full(ds, 7, 1);
  std::vector<SftExample> want;
  for (int k = 0; k < 60; ++k) want.push_back(full.next());  // about 2.7 epochs of 22 usable
  for (int cut : {0, 1, 21, 22, 23, 45}) {
    SftStream a(ds, 7, 2);
    for (int k = 0; k < cut; ++k) a.next();
    const Json saved = Json::parse(a.state().dump());  // through text, as a checkpoint stores it
    SftStream b(ds, 7, 2);
    b.restore(saved);
    std::vector<SftExample> got;
    for (int k = cut; k < 60; ++k) got.push_back(b.next());
    EXPECT_EQ(ids_of(got), ids_of(std::vector<SftExample>(want.begin() + cut, want.end()))) << "cut at " << cut;
    EXPECT_EQ(b.stats().examples, full.stats().examples);
    EXPECT_EQ(b.stats().dropped, full.stats().dropped);
  }
  EXPECT_EQ(full.epoch(), 2);
  EXPECT_GE(full.stats().dropped, 2);
  // Every epoch is a permutation of the usable examples.
  const auto all = ids_of(want);
  std::set<std::vector<int32_t>> first(all.begin(), all.begin() + 22);
  EXPECT_EQ(first.size(), 22u);
  // A state saved for other data or another seed is refused.
  SftStream other(ds, 8, 1);
  EXPECT_THROW(other.restore(full.state()), Error);
}

TEST(Stream, PaddingFreeBatchesByTokenBudgetResume) {
  TempDir dir("data_stream_tokens");
  Dataset ds(config_for(write_jsonl(dir, "a.jsonl", numbered_lines(30, "t"))), model_dir("llama3"));
  SftStream a(ds, 3, 1);
  std::vector<std::vector<SftExample>> batches;
  Json mid;
  for (int k = 0; k < 12; ++k) {
    if (k == 5) mid = a.state();
    batches.push_back(a.next_by_tokens(100));
    int64_t n = 0;
    for (const auto& e : batches.back()) n += token_count(e);
    EXPECT_TRUE(n <= 100 || batches.back().size() == 1);
  }
  SftStream b(ds, 3, 2);
  b.restore(mid);
  for (int k = 5; k < 12; ++k) EXPECT_EQ(ids_of(b.next_by_tokens(100)), ids_of(batches[size_t(k)])) << k;
}

TEST(Stream, WeightsAndHeldOutSplits) {
  TempDir dir("data_stream_mix");
  const std::string a = write_jsonl(dir, "a.jsonl", numbered_lines(10, "a"));
  const std::string b = write_jsonl(dir, "b.jsonl", numbered_lines(20, "b"));
  DataConfig cfg;
  cfg.datasets = Json::parse(cat(R"([{"path": ")", a, R"(", "weight": 2}, {"path": ")", b, R"(", "weight": 0.25}])"));
  Dataset ds(cfg, model_dir("qwen3"));
  EXPECT_EQ(ds.size(), 30u);
  EXPECT_EQ(ds.epoch_size(), 25u);  // 2 x 10 + 0.25 x 20
  for (int64_t e = 0; e < 3; ++e) {
    const auto plan = ds.epoch_plan(e, 5);
    std::map<uint32_t, int> seen;
    for (uint32_t i : plan) ++seen[i];
    for (uint32_t i = 0; i < 10; ++i) EXPECT_EQ(seen[i], 2);
    int from_b = 0;
    for (uint32_t i = 10; i < 30; ++i) {
      EXPECT_LE(seen[i], 1);
      from_b += seen[i];
    }
    EXPECT_EQ(from_b, 5);
    EXPECT_EQ(plan, ds.epoch_plan(e, 5));
  }
  EXPECT_NE(ds.epoch_plan(0, 5), ds.epoch_plan(1, 5));

  // By fraction: disjoint, complete, the same whatever the training seed.
  DataConfig f = config_for(b);
  f.eval_fraction = 0.25;
  Dataset tr(f, model_dir("qwen3"), Split::kTrain, 1), ev(f, model_dir("qwen3"), Split::kEval, 2);
  EXPECT_EQ(ev.size(), 5u);
  EXPECT_EQ(tr.size(), 15u);
  std::set<int64_t> lines;
  for (size_t i = 0; i < tr.size(); ++i) lines.insert(tr.origin(i).line);
  for (size_t i = 0; i < ev.size(); ++i) EXPECT_TRUE(lines.insert(ev.origin(i).line).second);
  EXPECT_EQ(lines.size(), 20u);
  Dataset ev2(f, model_dir("qwen3"), Split::kEval, 99);
  for (size_t i = 0; i < ev.size(); ++i) EXPECT_EQ(ev.origin(i).line, ev2.origin(i).line);
  // By file: the eval file is the eval split, and no fraction is taken from training data.
  DataConfig g = config_for(a);
  g.eval_file = b;
  g.eval_fraction = 0.5;
  EXPECT_EQ(Dataset(g, model_dir("qwen3"), Split::kTrain).size(), 10u);
  EXPECT_EQ(Dataset(g, model_dir("qwen3"), Split::kEval).size(), 20u);
}

TEST(Stream, ParallelReadAheadMatchesSequential) {
  TempDir dir("data_stream_par");
  DataConfig cfg = config_for(write_jsonl(dir, "a.jsonl", numbered_lines(200, "p")));
  cfg.assistant_only_loss = true;
  Dataset ds(cfg, model_dir("qwen3"));
  std::vector<uint32_t> idx(200);
  for (uint32_t i = 0; i < 200; ++i) idx[i] = 199 - i;
  DataStats s1, s2;
  const auto one = ds.get_many<SftExample>(idx, 1, s1), two = ds.get_many<SftExample>(idx, 2, s2);
  for (size_t k = 0; k < idx.size(); ++k) {
    ASSERT_TRUE(one[k] && two[k]);
    EXPECT_EQ(one[k]->seq.ids, two[k]->seq.ids);
    EXPECT_EQ(one[k]->seq.trained, two[k]->seq.trained);
  }
  EXPECT_EQ(s1.to_json(), s2.to_json());
}

// VmHWM (peak RSS) after resetting it through /proc/self/clear_refs; -1 when unavailable.
int64_t peak_rss_kb(bool reset) {
  if (reset) {
    std::ofstream c("/proc/self/clear_refs");
    c << "5";
    c.flush();
    if (!c) return -1;
  }
  std::ifstream s("/proc/self/status");
  std::string line;
  while (std::getline(s, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
  return -1;
}

TEST(Stream, IndexingDoesNotLoadTheFile) {
  TempDir dir("data_stream_big");
  const std::string path = dir.file("big.jsonl");
  {
    std::ofstream out(path, std::ios::binary);
    const std::string pad(255 * 1024, 'x');  // 256 lines of 255 KiB: 64 MiB
    for (int i = 0; i < 256; ++i) out << R"({"text": ")" << pad << R"(", "i": )" << i << "}\n";
  }
  if (peak_rss_kb(true) < 0) GTEST_SKIP() << "cannot reset the peak RSS here";
  const int64_t before = peak_rss_kb(false);
  JsonlIndex idx(path);
  const int64_t grew = peak_rss_kb(false) - before;
  EXPECT_EQ(idx.size(), 256u);
  EXPECT_LT(grew, 8 * 1024) << "peak RSS grew by " << grew << " KiB while indexing a 64 MiB file";
  EXPECT_LT(idx.index_bytes(), 8192u);
  const std::string last = idx.line(255);
  EXPECT_EQ(last.substr(last.size() - 9), R"("i": 255})");
  EXPECT_EQ(idx.line_number(255), 256);
}

// A line past the limit is refused while indexing, with its file and line, wherever it is.
TEST(Stream, IndexRefusesALineOverTheLimit) {
  TempDir dir("data_long_line");
  const std::string path = dir.file("d.jsonl");
  auto index_error = [&](const std::string& text) -> std::string {
    std::ofstream(path, std::ios::binary) << text;
    try {
      JsonlIndex idx(path, 100);
      return "";
    } catch (const Error& e) {
      return e.what();
    }
  };
  const std::string line100 = R"({"text": ")" + std::string(100 - 12, 'x') + R"("})";
  ASSERT_EQ(line100.size(), 100u);
  EXPECT_EQ(index_error(line100 + "\n\n" + line100), "");
  const std::string e1 = index_error(line100 + "\n\n" + line100 + "x\n{}\n");
  EXPECT_NE(e1.find("d.jsonl:3: a line of more than 100 bytes"), std::string::npos) << e1;
  const std::string e2 = index_error("{}\n" + line100 + " ");  // the last line, without a newline
  EXPECT_NE(e2.find("d.jsonl:2: a line of more than 100 bytes"), std::string::npos) << e2;
  JsonlIndex ok(path, 1000);
  EXPECT_EQ(ok.line(1), line100 + " ");
}

}  // namespace
}  // namespace tandem::data

#include "data/micro_batch.h"

namespace tandem::data {
namespace {

using namespace testing_data;
using tandem::testing::TempDir;

TEST(MicroBatch, FollowsTheConfig) {
  TempDir dir("data_micro_batch");
  std::vector<std::string> lines;
  for (int i = 0; i < 20; ++i) lines.push_back(cat(R"({"text": "sample number )", i, std::string(size_t(i % 5) * 6, 'x'), R"("})"));
  DataConfig cfg = config_for(write_jsonl(dir, "a.jsonl", lines));
  cfg.max_length = 32;
  Dataset ds(cfg, model_dir("qwen3"));
  {
    SftStream s(ds, 1);
    const Collated c = next_sft_micro_batch(s, cfg, 4);  // padded: one row per example
    EXPECT_EQ(c.batch.B, 4);
    EXPECT_EQ(c.where.size(), 4u);
  }
  cfg.packing = true;
  {
    SftStream s(ds, 1);
    const Collated c = next_sft_micro_batch(s, cfg, 8);
    EXPECT_EQ(c.where.size(), 8u);
    EXPECT_LT(c.batch.B, 8);
    EXPECT_LE(c.batch.T, 32);
  }
  cfg.max_tokens_per_batch = 64;
  {
    SftStream s(ds, 1);
    const Collated c = next_sft_micro_batch(s, cfg, 8);  // padding-free: one row within the budget
    EXPECT_EQ(c.batch.B, 1);
    EXPECT_LE(c.tokens(), 64);
    EXPECT_EQ(c.tokens(), c.batch.T);
  }
  cfg.max_tokens_per_batch = 16;
  SftStream s(ds, 1);
  EXPECT_THROW(next_sft_micro_batch(s, cfg, 8), Error);
}

}  // namespace
}  // namespace tandem::data
