// Jinja lexer: splits template source into text and tag tokens, applying jinja2's whitespace
// rules as transformers configures them (trim_blocks and lstrip_blocks on, `-`/`+` modifiers,
// newlines normalised to "\n", one trailing newline dropped, {% raw %} passed through).
// Not here: the grammar (parser.cpp).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tandem::tokenizer::jinja {

enum class Tok : uint8_t { kText, kVarBegin, kVarEnd, kBlockBegin, kBlockEnd, kName, kString, kInt, kFloat, kOp, kEof };

struct Token {
  Tok type = Tok::kEof;
  std::string text;  // text, name, decoded string literal, operator
  int64_t ival = 0;
  double fval = 0;
  int line = 1, col = 1;
};

struct LexOptions {
  bool trim_blocks = true;
  bool lstrip_blocks = true;
};

// origin names the template in error messages (e.g. "tokenizer_config.json chat_template").
std::vector<Token> lex(const std::string& source, const std::string& origin, const LexOptions& opt = {});

// Throws tandem::Error "[tokenizer.jinja] line L column C: what (origin)".
[[noreturn]] void template_error(const std::string& origin, int line, int col, const std::string& what);

const char* token_desc(Tok t);

}  // namespace tandem::tokenizer::jinja
