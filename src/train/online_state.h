// What an online run's checkpoint holds beyond weights, optimizer and the prompt stream's position:
// the rollout batches in flight (every sequence with its behaviour and reference log-probs, values,
// advantages and the mini-batch order still to train on) and ReLIFT's buffer, with the prompt
// examples they point to written out whole (ids, text, columns, demonstration), so a run resumed
// from a checkpoint taken inside a rollout batch trains on exactly the batch it left. The same
// sequence form carries the sequences each rank sampled to the others in a data-parallel run.
// Floats go through JSON as doubles, which holds every float exactly.
// Not here: when checkpoints are written (train/trainer.h), the stream's own state (data/stream.h).
#pragma once
#include <string>
#include <vector>

#include "core/json.h"
#include "train/online_step.h"

namespace tandem::train {

Json online_inflight_to_json(const std::vector<PreparedBatch>& batches, const std::vector<PromptRef>& relift_buffer);
// where: the dotted prefix of errors ("checkpoint.state.algorithm").
void online_inflight_from_json(const Json& j, const std::string& where, std::vector<PreparedBatch>& batches,
                               std::vector<PromptRef>& relift_buffer);

// Sequences between the ranks of a data-parallel run (each made part of a rollout batch): the same
// per-sequence fields, exact, with each sequence's example named by its index in `examples`, a list
// every rank holds (the rollout batch's prompts), instead of written out.
std::string rollout_seqs_to_bytes(const std::vector<RolloutSeq>& seqs, const std::vector<PromptRef>& examples);
std::vector<RolloutSeq> rollout_seqs_from_bytes(const std::string& bytes, const std::vector<PromptRef>& examples);

}  // namespace tandem::train
