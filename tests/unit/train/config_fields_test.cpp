#include "train/config_fields.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <limits>
#include <random>

#include "testing/testing.h"

namespace tandem::train {
namespace {

struct Optim {
  double learning_rate = 5e-5;
  int64_t warmup_steps = 0;
  template <class V> void for_each_field(V&& v) {
    v("learning_rate", learning_rate, "peak learning rate");
    v("warmup_steps", warmup_steps, "linear warm-up steps");
  }
};
struct RunConfig {
  std::string model_name_or_path;
  bool packing = false;
  int max_steps = 10;
  std::vector<std::string> target_modules;
  Json datasets;
  Optim optim;
  template <class V> void for_each_field(V&& v) {
    v("model_name_or_path", model_name_or_path, "HF model folder");
    v("packing", packing, "pack examples");
    v("max_steps", max_steps, "optimizer steps");
    v("target_modules", target_modules, "LoRA targets");
    v("datasets", datasets, "dataset list");
    v.section("optim", optim);
  }
};

template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ConfigFields, YamlThenOverridesThenRoundTrip) {
  testing::TempDir dir("cfg");
  std::ofstream(dir.file("run.yaml")) << "model_name_or_path: /models/qwen\npacking: true\noptim:\n  learning_rate: 1e-4\n"
                                         "target_modules: [q_proj, v_proj]\ndatasets:\n  - {path: a.jsonl, weight: 2}\n";
  RunConfig r;
  auto f = fields_of(r);
  apply_yaml_file(f, dir.file("run.yaml"));
  apply_override(f, "optim.warmup_steps=7", "argv[2]");
  apply_override(f, "max_steps=300", "argv[3]");
  EXPECT_EQ(r.model_name_or_path, "/models/qwen");
  EXPECT_TRUE(r.packing);
  EXPECT_DOUBLE_EQ(r.optim.learning_rate, 1e-4);
  EXPECT_EQ(r.optim.warmup_steps, 7);
  EXPECT_EQ(r.max_steps, 300);
  EXPECT_EQ(r.target_modules, (std::vector<std::string>{"q_proj", "v_proj"}));
  EXPECT_EQ(r.datasets[0]["weight"], 2);
  // What is saved loads back to the same config.
  std::ofstream(dir.file("saved.yaml")) << fields_to_yaml(f);
  RunConfig back;
  auto fb = fields_of(back);
  apply_yaml_file(fb, dir.file("saved.yaml"));
  EXPECT_EQ(fields_to_json(fb), fields_to_json(f));
}

TEST(ConfigFields, ErrorsNameKeyLineAndSuggest) {
  testing::TempDir dir("cfg-errors");
  RunConfig r;
  auto f = fields_of(r);
  std::ofstream(dir.file("a.yaml")) << "packing: true\noptim:\n  learnig_rate: 1e-4\n";
  const std::string e1 = error_of([&] { apply_yaml_file(f, dir.file("a.yaml")); });
  EXPECT_NE(e1.find("unknown key 'optim.learnig_rate'"), std::string::npos) << e1;
  EXPECT_NE(e1.find("a.yaml:3"), std::string::npos) << e1;
  EXPECT_NE(e1.find("did you mean 'optim.learning_rate'"), std::string::npos) << e1;
  std::ofstream(dir.file("b.yaml")) << "max_steps: lots\n";
  const std::string e2 = error_of([&] { apply_yaml_file(f, dir.file("b.yaml")); });
  EXPECT_NE(e2.find("[max_steps] expected an integer, got string"), std::string::npos) << e2;
  EXPECT_NE(e2.find("b.yaml:1"), std::string::npos) << e2;
  const std::string e3 = error_of([&] { apply_override(f, "packing=maybe", "argv[4]"); });
  EXPECT_NE(e3.find("[packing] expected true or false"), std::string::npos) << e3;
  EXPECT_NE(e3.find("argv[4]"), std::string::npos) << e3;
  const std::string e4 = error_of([&] { apply_override(f, "max_step=3", "argv[5]"); });
  EXPECT_NE(e4.find("did you mean 'max_steps'"), std::string::npos) << e4;
  std::ofstream(dir.file("c.yaml")) << "packing: [true\n";
  const std::string e5 = error_of([&] { apply_yaml_file(f, dir.file("c.yaml")); });
  EXPECT_NE(e5.find("invalid YAML"), std::string::npos) << e5;
}

// A hostile config's unknown key of megabytes: answered at once, without a hint (no known key is
// near it) and without echoing the whole key.
TEST(ConfigFields, HugeUnknownKeyIsRefusedQuicklyAndShortly) {
  RunConfig r;
  auto f = fields_of(r);
  const std::string key(1 << 20, 'q');
  EXPECT_EQ(nearest_key(f, key), "");
  const std::string e = error_of([&] { apply_override(f, key + "=1", "argv[2]"); });
  EXPECT_NE(e.find("unknown key 'qqqq"), std::string::npos) << e.substr(0, 300);
  EXPECT_NE(e.find("(1048576 bytes)"), std::string::npos) << e.substr(0, 300);
  EXPECT_EQ(e.find("did you mean"), std::string::npos);
  EXPECT_LT(e.size(), 400u);
  // A plausible typo still gets its hint, nearest first whatever the order of the keys.
  EXPECT_EQ(nearest_key(f, "max_stepss"), "max_steps");
  EXPECT_EQ(nearest_key(f, "optim.learnig_rat"), "optim.learning_rate");
  EXPECT_EQ(nearest_key(f, "packng"), "packing");
  EXPECT_EQ(nearest_key(f, "optim.warmup_step"), "optim.warmup_steps");
  // A key that is no typo of any known one gets no hint.
  EXPECT_EQ(nearest_key(f, "xyzzy_plugh"), "");
  EXPECT_EQ(nearest_key(f, "q"), "");
  const std::string e2 = error_of([&] { apply_override(f, "colour_scheme=dark", "argv[2]"); });
  EXPECT_EQ(e2.find("did you mean"), std::string::npos) << e2;
}

// The plain edit distance, every cell: the reference the pruned search must agree with.
size_t levenshtein(const std::string& a, const std::string& b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j)
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
  return d[a.size()][b.size()];
}

// Keys one to four random edits away from a known key, and random strings: the hint is a key at
// the smallest distance whenever that distance is at most max(2, length / 3), and none otherwise.
TEST(ConfigFields, HintIsTheNearestKeyWithinTheTypoBound) {
  RunConfig r;
  auto f = fields_of(r);
  std::vector<std::string> known;
  for (const auto& [k, v] : f) known.push_back(k);
  std::mt19937 rng(7);
  const std::string alphabet = "abcdefghijklmnopqrstuvwxyz_.0123456789";
  auto pick = [&](size_t n) { return size_t(rng() % n); };
  size_t hinted = 0, silent = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string key;
    if (trial % 4 == 3) {
      for (size_t n = 1 + pick(30); n > 0; --n) key += alphabet[pick(alphabet.size())];
    } else {
      key = known[pick(known.size())];
      for (size_t edits = 1 + pick(4); edits > 0; --edits) {
        const size_t at = pick(key.size() + 1);
        const char c = alphabet[pick(alphabet.size())];
        switch (pick(3)) {
          case 0: key.insert(at, 1, c); break;
          case 1: if (at < key.size()) key.erase(at, 1); break;
          default: if (at < key.size()) key[at] = c;
        }
      }
    }
    size_t best = std::numeric_limits<size_t>::max();
    for (const auto& k : known) best = std::min(best, levenshtein(key, k));
    const std::string got = nearest_key(f, key);
    if (best <= std::max<size_t>(2, key.size() / 3)) {
      ASSERT_FALSE(got.empty()) << key;
      EXPECT_EQ(levenshtein(key, got), best) << key << " -> " << got;
      ++hinted;
    } else {
      EXPECT_EQ(got, "") << key << " (nearest at " << best << ")";
      ++silent;
    }
  }
  EXPECT_GT(hinted, 1000u);
  EXPECT_GT(silent, 500u);
}

}  // namespace
}  // namespace tandem::train
