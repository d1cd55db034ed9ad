// Syntax tree of a parsed template: expressions and statements, each with the line and column
// of the token that started it so that runtime errors can point into the template.
// One struct per family with a kind tag (not a class hierarchy): the interpreter switches on it.
// Not here: evaluation (interpreter.cpp).
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/jinja/value.h"

namespace tandem::tokenizer::jinja {

struct Pos {
  int line = 0, col = 0;
};

enum class EK : uint8_t {
  kLiteral,  // value
  kName,     // name
  kList,     // kids
  kTuple,    // kids
  kDict,     // kids: key0, value0, key1, value1, ...
  kAttr,     // kids[0].name
  kItem,     // kids[0][kids[1]]
  kSlice,    // kids[0][kids[1]:kids[2]:kids[3]] (null when omitted)
  kCall,     // kids[0](args, kwargs)
  kFilter,   // kids[0] | name(args, kwargs); kids[0] null inside {% filter %}
  kTest,     // kids[0] is [not] name(args)
  kUnary,    // op kids[0]: "-", "+", "not"
  kBinary,   // kids[0] op kids[1]: + - * / // % ** ~
  kAnd,
  kOr,
  kCompare,  // kids[0] ops[0] kids[1] ops[1] kids[2]...: == != < <= > >= in notin
  kCond,     // kids[1] if kids[0] else kids[2] (kids[2] null: undefined)
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  EK kind;
  Pos pos;
  Value value;
  std::string name;  // name, attribute, filter or test name, unary/binary operator
  std::vector<ExprPtr> kids;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::string> ops;  // kCompare
  bool negated = false;          // kTest: `is not`
  Expr(EK k, Pos p) : kind(k), pos(p) {}
};

enum class NK : uint8_t {
  kText,        // text
  kOutput,      // {{ expr }}
  kIf,          // expr, body, else_body (elif = nested kIf alone in else_body)
  kFor,         // targets, expr (iterable), cond (filter), body, else_body
  kSet,         // targets (or name + attr for ns.attr), expr; or body (block set) with filters
  kMacro,       // name, params, body
  kCallBlock,   // expr (the call), params (caller's), body
  kFilterBlock, // filters (kFilter chain with null innermost operand), body
  kWith,        // targets + values (params), body
  kBreak,
  kContinue,
  kGeneration,  // body
};

struct Node;
using NodePtr = std::unique_ptr<Node>;

struct Param {
  std::string name;
  ExprPtr dflt;  // may be null
};

struct Node {
  NK kind;
  Pos pos;
  std::string text;
  std::string name;                  // macro name; set: the namespace variable for `ns.attr`
  std::string attr;                  // set: attribute for `ns.attr`
  std::vector<std::string> targets;  // for/set names
  bool unpack = false;               // for/set target was a tuple
  ExprPtr expr;
  ExprPtr cond;
  ExprPtr filter;                    // block set / filter block: the filter chain
  std::vector<Param> params;
  std::vector<NodePtr> body, else_body;
  Node(NK k, Pos p) : kind(k), pos(p) {}
};

}  // namespace tandem::tokenizer::jinja
