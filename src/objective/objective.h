// The unified estimator: one call turns a Batch and an ObjectiveConfig into the loss, its gradient with
// respect to every per-token input (what the model's backward takes), and the algorithm's statistics.
//   L = Σ_k weight_k · L_k,   L_k = Σ_t w_t ψ_{k,t}   (token terms, w_t from the aggregation mode)
//                             L_k = pair/example mean  (preference terms)
// Deliberately not here: advantages (advantage.h, computed once per rollout batch by the trainer,
// before mini-batching), the data loop, schedules other than CHORD's mu, and any model call.
#pragma once
#include "objective/batch.h"
#include "objective/config.h"

namespace tandem::objective {

// Validates batch against what cfg's terms need (Error names the missing field), then fills grads.
Result compute(const ObjectiveConfig& cfg, const Batch& batch, const Grads& grads);

}  // namespace tandem::objective
