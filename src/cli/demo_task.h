// The demo's task: multi-digit addition with a verifiable answer, a solver that writes short
// worked solutions (one column sum a step, right to left, with its carry), and the tokenizer and
// chat template the demo's model speaks: byte-level BPE with no merges (one token a byte) plus
// ChatML's special tokens, written as a tokenizer.json that the HF tokenizers library loads.
// Not here: training stages and the report (demo.cpp).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/json.h"

namespace tandem::cli {

struct AdditionProblem {
  std::string question;  // "Add 457 and 68."
  std::string solution;  // "7+8=15,5+6+1=12,4+1=5;525": columns right to left, then the sum
  std::string answer;    // "525"
};

// A problem whose operands have between min_digits and max_digits digits, drawn from (seed, index)
// alone, so problem i is the same whatever else is drawn.
AdditionProblem make_addition_problem(uint64_t seed, uint64_t index, int min_digits, int max_digits);

// The worked solution of a + b (decimal strings without signs).
std::string addition_solution(const std::string& a, const std::string& b);

// Vocabulary size of the demo tokenizer: 256 byte tokens and the special tokens after them.
inline constexpr int64_t kDemoVocab = 259;

// Writes tokenizer.json, tokenizer_config.json (with the ChatML chat template, eos <|im_end|>) and
// special_tokens_map.json into dir.
void write_demo_tokenizer(const std::string& dir);

}  // namespace tandem::cli
