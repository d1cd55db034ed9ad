// From examples to what the engine eats: token sequences with their loss masks collated into a
// model::TokenBatch plus the float mask aligned to it, either one sequence per right-padded row or
// best-fit packed into rows of max_length (documents keep their boundaries: positions restart and
// the engine never attends across segments), and where each sequence landed so trainers can sum
// per-sequence log-probs. Also the sequences a pair or an RL demonstration stands for.
// Not here: reading or truncating examples (the dataset did that; a sequence longer than
// max_length here is a caller bug reported as an Error).
#pragma once
#include <cstdint>
#include <vector>

#include "data/example.h"
#include "model/batch.h"

namespace tandem::data {

struct Placement {
  int64_t row = 0, offset = 0, length = 0;  // tokens [offset, offset + length) of row `row`
};

struct Collated {
  model::TokenBatch batch;
  std::vector<float> mask;        // [B*T] 1 where the token's log-prob enters the loss
  int64_t n_trained = 0;          // sum of mask
  std::vector<Placement> where;   // [seqs.size()]
  int64_t tokens() const;         // non-padding tokens
  double efficiency() const;      // tokens / (B*T)
};

// packing: best-fit decreasing into rows of max_length tokens (rows as long as the longest row);
// else one sequence per row, right-padded to the longest. max_length bounds every sequence.
Collated collate(const std::vector<TokenSeq>& seqs, bool packing, int64_t max_length);

// Best-fit decreasing: rows[r] = indices of lengths packed into row r, each row's sum <= capacity.
// Ties in length keep input order; each item goes to the fullest row that still has room.
std::vector<std::vector<size_t>> best_fit_pack(const std::vector<int64_t>& lengths, int64_t capacity);

// The trained sequences of a pair / unpaired example / demonstration: prompt (never trained)
// followed by the completion (every token trained).
TokenSeq completion_seq(const std::vector<int32_t>& prompt, const std::vector<int32_t>& completion);
TokenSeq chosen_seq(const PreferenceExample& e);
TokenSeq rejected_seq(const PreferenceExample& e);
TokenSeq completion_seq(const UnpairedExample& e);
TokenSeq demonstration_seq(const PromptExample& e);  // Error when it has no demonstration

}  // namespace tandem::data
