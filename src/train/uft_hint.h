// UFT's hints (algorithms.md §UFT; Liu, Farina, Ozdaglar, arXiv 2505.16984): a prefix of a prompt's
// demonstration is appended to the prompt, the policy completes it, and the hint's length anneals to
// zero so that training moves from SFT-like to pure RL.
//   p_t = p_lo + (p_hi - p_lo)/2 * (1 + cos(pi t / T_hint))   for rollout batch t <= T_hint, then no hints
//   l   ~ Binomial(K, p_t),  K = min(max_segments, #steps)    one draw per prompt, shared by its group
// Steps of a tokenized demonstration (our definition; UFT splits solutions into reasoning steps):
//   - its tokens without trailing end-of-sequence tokens: the policy always writes the end itself;
//   - cut into lines: a step ends with a token whose text holds a newline (the last step ends with
//     the last token);
//   - a demonstration of one line (and any demonstration of a model without a tokenizer, whose token
//     text is its id) is cut into tokens instead, one step each.
// Segments: segment j of K holds steps [floor(j S/K), floor((j+1) S/K)) of the S steps, so the hint of
// l segments is the tokens of the first floor(l S/K) steps.
// Not here: building the hinted rollouts and the hint rows trained by NLL (online_step.cpp), the loss
// (the uft preset: GRPO clip on the generated suffix, beta_h token-mean NLL on the hint tokens).
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "core/rng.h"

namespace tandem::train {

// p_t of the schedule; 0 when step > t_hint (and always when t_hint = 0).
double uft_hint_probability(double p_lo, double p_hi, int64_t t_hint, int64_t step);

// The end (exclusive token index) of each step of demo, in order; empty when nothing is left once the
// trailing eos tokens are removed. text: a token's text (the run's decode).
std::vector<size_t> uft_step_ends(std::span<const int32_t> demo, std::span<const int64_t> eos_ids,
                                  const std::function<std::string(std::span<const int32_t>)>& text);

// K = min(max_segments, steps).
int64_t uft_segments(size_t steps, int64_t max_segments);

// Tokens of the hint made of the first l of K segments (0 <= l <= K).
size_t uft_hint_tokens(const std::vector<size_t>& step_ends, int64_t K, int64_t l);

// l ~ Binomial(K, p) from K uniforms of rng's stream (element i of the stream for trial i).
int64_t uft_sample_segments(int64_t K, double p, const Rng& rng);

}  // namespace tandem::train
