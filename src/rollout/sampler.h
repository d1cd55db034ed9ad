// Next-token sampling from one row of logits: penalties, temperature, top-k, top-p, min-p,
// greedy at temperature 0, and a counter-based draw so a sample's tokens depend only on its
// (seed, stream, step) and its own logits, never on which other rows share the batch.
//
// The distribution sampled from ("behaviour" distribution), in this order:
//   1. z = logits with penalties on the token history: repetition r (tokens of prompt or
//      completion: z > 0 ? z / r : z * r), presence p and frequency f (completion tokens:
//      z -= p * [count > 0] + f * count), the vLLM/OpenAI conventions;
//   2. temperature 0: argmax of z (lowest id on ties), probability 1;
//   3. else q = softmax(z / T); keep the top_k most likely (ties: lower id first); then the
//      smallest most-likely prefix whose renormalised mass reaches top_p; then tokens with
//      q >= min_p * max q; renormalise over what is kept (HF's warper order).
// Per chosen token two log-probs are returned:
//   logprob           log softmax(logits)[id]: the unmodified policy at temperature 1, before
//                     penalties and filters (what RL's importance ratios need, and what
//                     Decoder::forward gives for the same sequence);
//   behaviour_logprob log of the renormalised probability of id in the distribution of step 3
//                     (0 for greedy): the proposal distribution actually sampled from.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace tandem::rollout {

struct SamplingParams {
  float temperature = 1.f;  // 0 = greedy
  int64_t top_k = 0;        // 0 = off
  float top_p = 1.f;        // 1 = off
  float min_p = 0.f;        // 0 = off
  float repetition_penalty = 1.f, presence_penalty = 0.f, frequency_penalty = 0.f;
  int64_t max_new_tokens = 16;
  std::vector<int32_t> stop_ids = {};  // generation ends after emitting one of these (it is kept)
  // Generation ends when the decoded text holds one of these (rollout/stop_strings.h); the text
  // ends before it unless include_stop_str_in_output. Needs the engine to have a tokenizer.
  std::vector<std::string> stop = {};
  bool include_stop_str_in_output = false;
  int64_t n = 1;                  // samples per prompt
  uint64_t seed = 0;              // sample j of a request draws from stream j of this seed

  bool has_penalties() const { return repetition_penalty != 1.f || presence_penalty != 0.f || frequency_penalty != 0.f; }
  // Error naming the field for out-of-range values; where = e.g. "generate".
  void validate(const std::string& where) const;
};

// Token history of one sample, for the penalties.
struct TokenHistory {
  std::vector<int32_t> prompt;                       // unique prompt tokens (sorted)
  std::unordered_map<int32_t, int32_t> completion;  // counts of generated tokens
  void set_prompt(const std::vector<int32_t>& ids);
  void add(int32_t id) { ++completion[id]; }
};

struct TokenChoice {
  int32_t id = -1;
  float logprob = 0.f;            // unmodified policy, temperature 1 (see above)
  float behaviour_logprob = 0.f;  // the distribution actually sampled from
};

// The behaviour distribution (step 3 above; a one-hot for greedy) as (id, probability) pairs of
// the kept tokens, in the order the draw walks them. Exposed for tests and diagnostics.
std::vector<std::pair<int32_t, double>> behaviour_distribution(const float* logits, int64_t V, const SamplingParams& p,
                                                               const TokenHistory* history);

// Draws the next token with uniform u in [0, 1) taken from (seed, stream, step).
TokenChoice sample_next(const float* logits, int64_t V, const SamplingParams& p, const TokenHistory* history,
                        uint64_t stream, uint64_t step);

// A uniform double in [0, 1) with 53 random bits, a pure function of (seed, stream, step).
double draw_uniform(uint64_t seed, uint64_t stream, uint64_t step);

}  // namespace tandem::rollout
