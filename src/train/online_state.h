// What an online run's checkpoint holds beyond weights, optimizer and the prompt stream's position:
// the rollout batches in flight (every sequence with its behaviour and reference log-probs, values,
// advantages and the mini-batch order still to train on) and ReLIFT's buffer, with the prompt
// examples they point to written out whole (ids, text, columns, demonstration), so a run resumed
// from a checkpoint taken inside a rollout batch trains on exactly the batch it left.
// Floats go through JSON as doubles, which holds every float exactly.
// Not here: when checkpoints are written (train/trainer.h), the stream's own state (data/stream.h).
#pragma once
#include <vector>

#include "core/json.h"
#include "train/online_step.h"

namespace tandem::train {

Json online_inflight_to_json(const std::vector<PreparedBatch>& batches, const std::vector<PromptRef>& relift_buffer);
// where: the dotted prefix of errors ("checkpoint.state.algorithm").
void online_inflight_from_json(const Json& j, const std::string& where, std::vector<PreparedBatch>& batches,
                               std::vector<PromptRef>& relift_buffer);

}  // namespace tandem::train
