// Test corpora shared by the tokenizer tests: hand-written lines covering many scripts and edge
// cases, and seeded random lines built from awkward pieces.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tandem::tokenizer {

// Many scripts, emoji (incl. ZWJ and flags), code, whitespace runs, digits, contractions,
// inline special tokens, text that needs byte fallback, and text that needs normalisation.
inline std::vector<std::string> corpus() {
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
inline std::vector<std::string> random_lines(size_t n, uint64_t seed) {
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

}  // namespace tandem::tokenizer
