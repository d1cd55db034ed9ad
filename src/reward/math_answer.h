// Verifying final answers of math problems: pull the answer out of a completion, read it as a
// number when it is one, and decide whether two answers are the same.
//   extraction: the last complete \boxed{...} (nested braces; \fbox too), else the text after the
//     last "####" (GSM8K's marker), else the last number in the text (integer, decimal, a/b,
//     \frac{a}{b}, thousands separators, a sign when it is not a binary minus);
//   numbers: integers, decimals, a/b, \frac \dfrac \tfrac (nested), signs, 1,234 and 1{,}234
//     separators, exponents (1e5, 2\times10^{3}); $, %, degrees, \text{units}, trailing unit words
//     and a leading "x =" are stripped. Values are exact rationals while they fit in 64 bits,
//     doubles beyond that (plain decimals of any length also keep their exact digits);
//   equality: exact when both are exact (decimal digits or rationals), else
//     |a-b| <= rel_tol * max(|a|,|b|); answers
//     that are not numbers compare as normalised strings (spacing and LaTeX spacing removed).
// Not here: symbolic equivalence (sqrt, pi, intervals, expressions compare as strings only).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tandem::reward {

struct MathNumber {
  bool exact = false;  // num/den hold the value (den > 0, reduced)
  int64_t num = 0, den = 1;
  double value = 0;  // always set
  // A plain decimal literal of any length, canonical: "-12345e-2" for -123.450; empty otherwise.
  // Two of these compare exactly even past 64 bits (long integers are common contest answers).
  std::string decimal;
};

// The answer text of a model completion; nullopt when there is none. boxed_only: \boxed only.
std::optional<std::string> extract_math_answer(std::string_view completion, bool boxed_only = false);

// The answer held by a reference column: a \boxed{} or "####" answer inside it when present, else
// the whole text, else (long prose whose whole text is no answer) its last number.
std::string reference_math_answer(std::string_view reference);

// The value of an answer that is a single number; nullopt for anything else ("x+1", "(1,2)").
std::optional<MathNumber> parse_math_number(std::string_view answer);

// Answer text with LaTeX decorations, spacing, $ and text wrappers removed, for string comparison.
std::string normalize_math_text(std::string_view answer);

// Whether two extracted answers agree (numbers numerically, anything else as normalised text).
bool math_answers_equal(std::string_view a, std::string_view b, double rel_tol = 1e-9);

}  // namespace tandem::reward
