// One step of online RL, for every preset: draw prompts, sample G completions each with the rollout
// engine (recording the policy's per-token log-probs), score them with the reward functions, compute
// advantages once over the whole rollout batch, then ppo_epochs passes over num_mini_batches
// mini-batches with the behaviour log-probs, the frozen reference's log-probs and the preset's loss
// (objective::compute), token counts normalised over each optimizer step. The hybrids that only change
// the batch live here too: demonstrations placed in groups (LUFFY, SRFT), an expert sub-batch (CHORD),
// UFT's hinted groups with their hint rows (train/uft_hint.h), and the rollout metrics with pass@k.
// Deliberately not here: the optimizer, schedules, checkpoints and logging (the loop calls this with an
// OptimizerStep callback), reading files (the loop hands in PromptExamples or given sequences), and
// any arithmetic of the objective itself.
// Data parallel (dist::world() of N ranks): every rank holds the whole rollout batch and makes every
// batch-level decision (group filter, advantages, mini-batch order) on it, identically; only the model
// work is split. Each rank samples and scores a contiguous share of the prompts and the sequences are
// gathered in rank order (the order one rank makes them in); the passes before any update and each
// mini-batch's forward/backward take a contiguous share of the sequences; the normalisers count the
// whole mini-batch and the statistics are reduced over ranks, so N ranks make one rank's update.
#pragma once
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/json.h"
#include "data/example.h"
#include "dist/communicator.h"
#include "model/decoder.h"
#include "reward/reward.h"
#include "train/online_config.h"

namespace tandem::train {

// A prompt of the run, shared by the sequences sampled from it (and ReLIFT's buffer) while they live.
using PromptRef = std::shared_ptr<const data::PromptExample>;

// One sequence of a step: sampled, given, or a demonstration.
struct RolloutSeq {
  PromptRef ex;                             // its prompt's example (text and columns for the rewards)
  int64_t group = -1;                       // advantage group (prompt index in the step); -1 = none
  std::vector<int32_t> prompt, completion;
  int64_t hint_len = 0;                     // UFT: prompt ends with this many demonstration tokens (the hint)
  std::vector<float> old_logp;              // [L] log pi_old at sampling time; empty = recompute
  bool truncated = false;                   // stopped at max_new_tokens without an eos
  bool demo = false;                        // a demonstration (is_demo for the objective)
  bool has_reward = false;                  // reward already known (given-completions mode)
  double reward = 0;                        // total: weighted sum of the functions + overlong shaping
  std::vector<double> reward_parts;         // per reward function, unweighted
  double baseline = 0;                      // ReMax: reward of the greedy completion of the same prompt
};

// Token ids to the text reward functions see: the tokenizer's decode, or ids joined by spaces when
// the model folder has no tokenizer (tiny test models).
using TextFn = std::function<std::string(std::span<const int32_t>)>;

// The run's reward functions with their weights.
class RewardSet {
 public:
  RewardSet(std::vector<std::unique_ptr<reward::RewardFunction>> fns, std::vector<double> weights, TextFn text);
  // Fills reward and reward_parts of every sequence without has_reward. A UFT hint is part of the
  // solution the reward functions judge: they see the example's prompt and hint + completion.
  void score(std::vector<RolloutSeq>& seqs) const;
  size_t size() const { return fns_.size(); }
  const std::vector<std::string>& names() const { return names_; }
  const TextFn& text() const { return text_; }

 private:
  std::vector<std::unique_ptr<reward::RewardFunction>> fns_;
  std::vector<double> weights_;
  std::vector<std::string> names_;
  TextFn text_;
};

// Clips and applies the gradients in policy.grads(); returns the gradient norm before clipping.
using OptimizerStep = std::function<double()>;
// The next train_batch_size prompts of the data stream (called again by dynamic sampling).
using PromptSource = std::function<std::vector<PromptRef>()>;
// The next n examples of CHORD's own expert data (expert_file), each with a demonstration.
using ExpertSource = std::function<std::vector<PromptRef>(int64_t n)>;

// A rollout batch ready for its optimizer steps: old/reference log-probs, values and advantages
// computed over the whole batch, mini-batches laid out epoch after epoch.
struct PreparedBatch {
  std::vector<RolloutSeq> seqs;
  std::vector<int64_t> off;                    // [B+1] flat response-token offsets
  std::vector<float> old_logp, ref_logp, old_values, advantages, returns, reward;
  std::vector<uint8_t> is_demo;
  std::vector<std::vector<size_t>> mini_batches;  // sequence indices, in training order
  size_t next = 0;                             // the next mini-batch to train on
  int64_t rl_step = 0;                         // rollout batch index (seeds, CHORD mu)
  int64_t pad_width = 0;                       // L_norm of the *-norm normalisers
  Json metrics = Json::object();               // rollout and advantage metrics, logged with the first mini-batch
  bool done() const { return next >= mini_batches.size(); }
};

class OnlineStep {
 public:
  // policy: trained in place (with a score head when the preset has a value term); ref: frozen, needed
  // when r.needs_ref. Both must outlive this object.
  OnlineStep(const OnlineConfig& c, const ResolvedOnline& r, model::Decoder& policy, model::Decoder* ref,
             const RewardSet& rewards);

  // Samples, scores and (DAPO) filters groups until the batch is full; returns the batches to train on
  // in order (the RL batch; then, for ReLIFT, an SFT batch of demonstrations when its buffer fills).
  std::vector<PreparedBatch> collect(const PromptSource& next_prompts, int64_t rl_step);
  // Given-completions mode: scores the sequences without a reward, then prepares them.
  std::vector<PreparedBatch> collect_given(std::vector<RolloutSeq> seqs, int64_t rl_step);
  // Accumulates the gradient of pb's next mini-batch into policy.grads() (the caller zeroes them and
  // steps the optimizer) and advances pb; returns the mini-batch's statistics ("loss", ...).
  Json minibatch_gradients(PreparedBatch& pb);

  // collect + every optimizer step of the batches (benchmarks, tests): the metrics of the rollout
  // batch with the update statistics averaged over its optimizer steps.
  Json run(const PromptSource& next_prompts, int64_t rl_step, const OptimizerStep& optimizer_step);

  // Pieces, public for tests.
  // This rank's share of the prompts (all of them on one rank), sampled; seeds and group ids follow
  // each prompt's index in `prompts`, so they do not depend on the number of ranks.
  std::vector<RolloutSeq> sample(const std::vector<PromptRef>& prompts, int64_t rl_step, int64_t batch);
  // Held-out prompts: num_generations samples each (no demonstrations, hints or greedy rows), scored;
  // reward, accuracy, pass@k and lengths named as the rollout metrics with an eval_ prefix.
  Json evaluate(const std::vector<PromptRef>& prompts);
  // Reference log-probs, recomputed old log-probs, old values, advantages; epochs: passes (0 = ppo_epochs).
  PreparedBatch prepare(std::vector<RolloutSeq> seqs, int64_t rl_step, int64_t epochs = 0);

  std::vector<PromptRef>& relift_buffer() { return relift_buffer_; }
  // CHORD: draw the expert sub-batch from this source instead of the step's prompts' demonstrations.
  void set_expert_source(ExpertSource s) { expert_source_ = std::move(s); }

 private:
  // Where each rank's items of [0, n) begin (size + 1 bounds) when they are cut into chunks of k (the
  // micro-batches one process would make; k <= 0: one chunk): a contiguous run of whole chunks per
  // rank, in rank order, so every micro-batch is the one a single process computes.
  std::vector<size_t> share_bounds(size_t n, int64_t k) const;
  // [begin, end) of this rank's items.
  std::pair<size_t, size_t> share(size_t n, int64_t k = 1) const;
  // Every rank's sequences, concatenated in rank order; `examples` (held by every rank) holds the
  // examples they point to.
  std::vector<RolloutSeq> gather(std::vector<RolloutSeq> mine, const std::vector<PromptRef>& examples) const;

  void add_expert_rows(std::vector<RolloutSeq>& seqs) const;
  void shape_overlong(std::vector<RolloutSeq>& seqs) const;
  void hpt_switch(std::vector<RolloutSeq>& seqs) const;
  // ReLIFT: buffers prompts every sample failed; a full buffer becomes an SFT batch in out.
  void relift_collect(const std::vector<RolloutSeq>& seqs, int64_t rl_step, std::vector<PreparedBatch>& out);

  const OnlineConfig& c_;
  const ResolvedOnline& r_;
  model::Decoder& policy_;
  model::Decoder* ref_;
  const RewardSet& rewards_;
  std::vector<int32_t> stop_ids_;  // the model folder's eos ids (rollout/stop_ids.h)
  // UFT: the hint of each prompt (a prefix of its demonstration; empty = none), and their statistics
  // for the rollout batch's metrics.
  std::vector<std::vector<int32_t>> hints(const std::vector<PromptRef>& prompts, int64_t rl_step, int64_t batch);
  Json hint_metrics_ = Json::object();

  std::vector<PromptRef> relift_buffer_;  // ReLIFT: prompts every sample failed
  ExpertSource expert_source_;            // CHORD with expert_file
  dist::Communicator& comm_ = dist::world();
};

// Summary numbers of the sampled batch (rewards per function, accuracy, pass@k for each k of ks no
// larger than a group's samples, lengths, truncation) into m, each name prefixed by prefix.
void rollout_metrics(const std::vector<RolloutSeq>& seqs, const RewardSet& rewards, double success_threshold,
                     const std::vector<int64_t>& ks, Json& m, const std::string& prefix = "");

}  // namespace tandem::train
