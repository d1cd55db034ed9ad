// Collation of preference data into one engine batch: each (prompt, completion) becomes one
// sequence of a model::TokenBatch (right-padded rows, or packed rows of max_length), and the
// objective layer's compact view of the same tokens (objective::Batch offsets over the tokens of each
// sequence, the completion mask, and the engine position of every compact token, so per-token
// log-probs are gathered from the engine's [B*T] outputs and gradients scattered back).
// Pairs are laid out as sequences (2p, 2p+1) = (chosen, rejected), the objective's convention.
// Also here: where a sequence-classification head is read (the last non-padding token, as
// transformers reads it), shared by reward-model training and `tandem score`.
// Not here: reading or tokenizing files (data layer), log-prob sums (pref_step.h).
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "data/example.h"
#include "model/batch.h"

namespace tandem::train {

struct CollateOptions {
  int64_t max_length = 1024;
  std::string truncation = "truncate";  // truncate: drop the end of the completion | keep_end: drop the start of the prompt
  bool packing = false;                 // first-fit sequences into rows of max_length (attention never crosses them)
  int64_t pad_token_id = -1;            // reward position rule (reward_position); -1 = none
};

// One sequence: prompt tokens followed by completion tokens (spans into the caller's examples).
struct SeqRef {
  std::span<const int32_t> prompt, completion;
};

struct PrefBatch {
  model::TokenBatch tokens;        // engine layout, [B*T]
  std::vector<int64_t> offsets;    // [S+1]: sequence s owns compact tokens [offsets[s], offsets[s+1])
  std::vector<int64_t> index;      // [n]: compact token -> engine position (row * T + column)
  std::vector<float> mask;         // [n]: 1 on completion tokens (the ones whose log-prob is summed)
  std::vector<int64_t> reward_at;  // [S]: compact index of the token a scalar head is read at
  std::vector<int64_t> prompt_len; // [S]: prompt tokens kept after truncation
  int64_t n_seq() const { return int64_t(offsets.size()) - 1; }
  int64_t n_tok() const { return offsets.back(); }
  // Engine-layout [B*T] values gathered into the compact order, and back (scatter adds scale * v).
  std::vector<float> gather(const float* engine) const;
  void scatter(std::span<const float> compact, double scale, float* engine) const;
};

// Truncates prompt + completion to max_length as opts.truncation says; returns the kept tokens and
// the kept prompt length.
std::vector<int32_t> join_truncated(const SeqRef& s, const CollateOptions& opts, int64_t* prompt_len);

PrefBatch collate(std::span<const SeqRef> seqs, const CollateOptions& opts);

// Sequences of a micro-batch of pairs: prompt+chosen, prompt+rejected, pair after pair.
std::vector<SeqRef> pair_sequences(std::span<const data::PreferenceExample> exs);
// KTO: prompt+completion per example.
std::vector<SeqRef> unpaired_sequences(std::span<const data::UnpairedExample> exs);

// Where transformers' *ForSequenceClassification reads the score: the last token whose id is not
// pad_token_id; the last token when there is no pad id, the first when every token is the pad id
// (transformers: argmax over index * (id != pad)).
int64_t reward_position(std::span<const int32_t> ids, int64_t pad_token_id);

}  // namespace tandem::train
