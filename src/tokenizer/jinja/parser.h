// Jinja parser: tokens to syntax tree, with jinja2's operator precedence
// (condexpr < or < and < not < compare < +,- < ~ < *,/,//,% < ** < unary < postfix/filter/test).
// Syntax errors name the line and column and what was expected there.
// Not here: whitespace handling (lexer), meaning (interpreter).
#pragma once
#include <string>
#include <vector>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/lexer.h"

namespace tandem::tokenizer::jinja {

std::vector<NodePtr> parse(const std::vector<Token>& tokens, const std::string& origin);

}  // namespace tandem::tokenizer::jinja
