// UTF-8 stepping, code point classes and the GPT-2 byte<->character table used by the tokenizer layer.
// Character classes follow Rust's char methods (is_whitespace, is_alphanumeric, is_numeric) because the
// Hugging Face tokenizers we must match use those; the Unicode tables come from utf8proc.
// Not here: normalization forms (normalizer.cpp) and regular expressions (pattern.cpp).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace tandem::tokenizer {

// Length in bytes of the UTF-8 sequence starting with lead byte b (1 for stray continuation bytes,
// so a scan over invalid input still advances).
inline int utf8_len(unsigned char b) {
  if (b < 0x80) return 1;
  if ((b >> 5) == 0x6) return 2;
  if ((b >> 4) == 0xE) return 3;
  if ((b >> 3) == 0x1E) return 4;
  return 1;
}

// Decodes the code point at s[i] and advances i; invalid bytes decode as U+FFFD.
uint32_t utf8_next(std::string_view s, size_t& i);
void utf8_append(std::string& out, uint32_t cp);
// True when s ends inside a multi-byte character (the stream decoder holds such text back).
bool utf8_incomplete_tail(std::string_view s);
// Replaces every invalid sequence by U+FFFD, as Rust's String::from_utf8_lossy does.
std::string utf8_lossy(std::string_view bytes);
bool utf8_valid(std::string_view bytes);
// Length of the longest valid UTF-8 prefix of bytes.
size_t utf8_valid_prefix(std::string_view bytes);

bool is_whitespace(uint32_t cp);    // Rust char::is_whitespace (White_Space property)
bool is_alphanumeric(uint32_t cp);  // Rust char::is_alphanumeric (L*, N*)
bool is_numeric(uint32_t cp);       // Rust char::is_numeric (Nd, Nl, No)
bool is_punctuation(uint32_t cp);   // ASCII punctuation or Unicode P* (BERT's rule)
uint32_t to_lower(uint32_t cp);

// GPT-2 byte-level alphabet: every byte maps to a printable code point.
uint32_t byte_to_char(uint8_t b);
// Inverse map; returns -1 for a code point outside the alphabet.
int char_to_byte(uint32_t cp);

}  // namespace tandem::tokenizer
