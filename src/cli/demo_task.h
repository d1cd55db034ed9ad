// The demo's task and the language its model speaks: multi-digit addition with a verifiable answer;
// a solver that writes short worked solutions (one column sum a step, right to left, with its carry,
// then the sum after ';'); disjoint problem sets for demonstrations, RL prompts and held-out
// evaluation (in distribution and with longer numbers); and the tokenizer files: byte-level BPE
// with no merges (one token a byte, so digits are tokens of their own) plus ChatML's special tokens,
// written as a tokenizer.json that the HF tokenizers library loads, with a ChatML chat template.
// Not here: training stages, evaluation and the report (demo.cpp, demo_eval.h, demo_report.h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tandem::cli {

struct AdditionProblem {
  std::string question;  // "Add 457 and 68."
  std::string solution;  // "7+8=15,5+6+1=12,4+1=5;525": columns right to left, then the sum
  std::string answer;    // "525"
};

// A problem whose operands have between min_digits and max_digits digits (each drawn on its own),
// drawn from (seed, stream, index) alone, so problem i is the same whatever else is drawn.
AdditionProblem make_addition_problem(uint64_t seed, uint64_t stream, uint64_t index, int min_digits, int max_digits);

// The worked solution of a + b (decimal strings without signs or leading zeros).
std::string addition_solution(const std::string& a, const std::string& b);

// Whether text has the shape of a worked solution: column terms "d[+d][+1]=n" joined by ',', then
// ';' and the sum. Says nothing about whether the arithmetic is right.
bool is_worked_solution(const std::string& text);

struct DigitRange {
  int min = 1, max = 3;
  std::string text() const;  // "1-2 digit", "3 digit"
};

struct TaskSizes {
  int64_t demonstrations = 0;  // problems with worked solutions (SFT, and the hybrid's expert data)
  int64_t rl_prompts = 0;      // problems with only their answer (RL), none of them a demonstration
  int64_t eval = 0;            // held-out problems per evaluation set
  DigitRange train;            // demonstrations, RL prompts and the in-distribution evaluation
  DigitRange ood;              // the out-of-distribution evaluation (longer numbers)
};

struct TaskSplits {
  std::vector<AdditionProblem> demonstrations, rl_prompts, eval_in, eval_ood;
};

// Draws every set; no question appears twice across or within sets, so the evaluation problems are
// held out from everything trained on. Error when the digit range has too few distinct problems.
TaskSplits make_task_splits(uint64_t seed, const TaskSizes& sizes);

// Vocabulary size of the demo tokenizer: 256 byte tokens and the special tokens after them.
inline constexpr int64_t kDemoVocab = 259;
inline constexpr int64_t kDemoPadId = 256;  // <|endoftext|>
inline constexpr int64_t kDemoBosId = 257;  // <|im_start|>
inline constexpr int64_t kDemoEosId = 258;  // <|im_end|>

// Writes tokenizer.json, tokenizer_config.json (with the ChatML chat template, eos <|im_end|>) and
// special_tokens_map.json into dir.
void write_demo_tokenizer(const std::string& dir);

}  // namespace tandem::cli
