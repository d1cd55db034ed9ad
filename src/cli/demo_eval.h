// Held-out evaluation for the demo: a model answers each problem greedily (temperature 0, the
// rollout engine with the model folder's own tokenizer and chat template), and the math reward of
// the reward layer, the same scorer the RL stages train with, marks each answer right or wrong.
// Not here: which problems (demo_task.h) and how the results are shown (demo_report.h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "cli/demo_task.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace tandem::cli {

struct EvalAnswer {
  std::string question, expected, completion;
  bool correct = false;
};

struct EvalResult {
  int64_t n = 0, correct = 0;
  int64_t well_formed = 0;          // answers shaped like a worked solution (demo_task.h), right or not
  double mean_tokens = 0;           // generated tokens per answer
  double seconds = 0;
  std::vector<EvalAnswer> answers;  // in problem order
  double accuracy() const { return n > 0 ? double(correct) / double(n) : 0.0; }
  double well_formed_share() const { return n > 0 ? double(well_formed) / double(n) : 0.0; }
};

// The token ids of a question as the model sees it: one user turn through the chat template with the
// generation prompt, encoded without adding special tokens again (transformers' apply_chat_template).
std::vector<int32_t> question_ids(const tokenizer::Tokenizer& tok, const tokenizer::ChatTemplate& tmpl,
                                  const std::string& question);

// Evaluates the weights in model_dir (an HF folder or a checkpoint folder: config.json +
// model.safetensors) with the tokenizer and chat template of tokenizer_dir.
EvalResult evaluate_greedy(const std::string& model_dir, const std::string& tokenizer_dir,
                           const std::vector<AdditionProblem>& problems, int64_t max_new_tokens);

}  // namespace tandem::cli
