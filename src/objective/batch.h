// The objective layer's view of a batch: plain per-token and per-sequence spans, never a model.
// Owns: the Batch / Grads / Result shapes every term reads and writes, and their validation.
// Deliberately not here: how log-probs are computed (model), how sequences are collated (data),
// how advantages are made from rewards (advantage.h) — a Batch arrives with advantages already filled.
//
// Layout: B sequences flattened into N response tokens. Sequence b owns tokens [offsets[b], offsets[b+1]).
// Preference terms read sequences in pairs: (2p, 2p+1) = (chosen, rejected), P = B/2 pairs.
#pragma once
#include <cstdint>
#include <map>
#include <span>
#include <string>

namespace tandem::objective {

struct Batch {
  std::span<const int64_t> offsets;    // [B+1], offsets[0] = 0, non-decreasing, offsets[B] = N
  std::span<const float> mask;         // [N] 1 = token is in the loss (0/1; other values act as weights)
  std::span<const float> logp;         // [N] log pi_theta(o_t) under the current weights; the gradient flows here
  std::span<const float> old_logp;     // [N] behaviour/rollout policy; empty = on-policy (ratio 1)
  std::span<const float> ref_logp;     // [N] frozen reference; needed by KL terms and DPO/IPO/KTO
  std::span<const float> entropy;      // [N] exact per-token entropy H_t; the entropy term's gradient flows here
  std::span<const float> values;       // [N] critic (PPO value loss) or reward head (rm term, read at the last token)
  std::span<const float> old_values;   // [N] critic at rollout time (value clipping)
  std::span<const float> advantages;   // [N] from compute_advantages
  std::span<const float> returns;      // [N] value targets R̂_t
  std::span<const float> reward;       // [B] outcome reward (SRFT's ±1 split reads its sign)
  std::span<const uint8_t> is_demo;    // [B] 1 = demonstration / expert / hint segment; empty = none
  std::span<const float> label;        // [B] KTO: 1 desirable, 0 undesirable
  std::span<const float> margin;       // [P] rm: per-pair margin m; empty = 0
  double kto_kl = 0;                   // KTO: mean over mismatched pairs of (logp - ref_logp) sums; max(0,.) applied here
  // Normalisers (algorithms.md §1). 0 = use this batch's own count. Global counts make token-mean
  // independent of gradient accumulation and data parallelism; they apply to terms over all sequences.
  // Pass the count over every micro-batch and rank of the optimizer step, and SUM gradients across them.
  double global_tokens = 0;            // token-mean denominator
  double global_seqs = 0;              // seq-mean-* denominator B'
  // The same two counts over the demonstrations only and over the rollouts only, for terms restricted
  // to one part (TermSpec::subset: CHORD, ReLIFT, HPT, UFT normalise each part by its own size).
  double global_demo_tokens = 0, global_demo_seqs = 0;
  double global_rollout_tokens = 0, global_rollout_seqs = 0;
  int64_t pad_width = 0;               // T_pad for *-norm modes when no constant is configured; 0 = longest sequence
  int64_t step = 0;                    // optimizer step, for scheduled weights (CHORD mu)

  int64_t n_seq() const { return offsets.empty() ? 0 : int64_t(offsets.size()) - 1; }
  int64_t n_tok() const { return offsets.empty() ? 0 : offsets.back(); }
  bool demo(int64_t b) const { return !is_demo.empty() && is_demo[size_t(b)] != 0; }
};

// Gradient outputs, each [N] or empty when the caller does not want it; compute() overwrites them.
struct Grads {
  std::span<float> dlogp;
  std::span<float> dentropy;
  std::span<float> dvalues;
};

struct Result {
  double loss = 0;
  std::map<std::string, double> stats;  // metric names as TRL/verl print them: clip_frac, kl, rewards/margins, ...
};

// Throws Error("objective.batch.<field>") when a span's size does not match offsets.
void validate_batch(const Batch& b);

}  // namespace tandem::objective
