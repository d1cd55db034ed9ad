// Checkpoints: a folder checkpoint-<step>/ with the model (config.json + model.safetensors, an HF
// folder), optimizer.safetensors (AdamW m and v, F32), and trainer_state.json (step, optimizer
// step count, the trainer's data position and random streams, the resolved config). Written under a temporary name and
// renamed when whole, so an interrupted save never replaces a good checkpoint.
#pragma once
#include <string>
#include <vector>

#include "core/json.h"
#include "model/decoder.h"
#include "train/optimizer.h"

namespace tandem::train {

struct TrainerState {
  int64_t step = 0;          // optimizer steps done
  Json algorithm = Json::object();  // the trainer's own state: data position, random streams, buffers
  int64_t tokens_seen = 0;
  double elapsed_s = 0;
  Json to_json() const;
  static TrainerState from_json(const Json& j, const std::string& origin);
};

// Writes output_dir/checkpoint-<state.step>; removes the oldest beyond keep_last (0 = keep all).
std::string save_checkpoint(const std::string& output_dir, const model::Decoder& model, const AdamW* adam,
                            const TrainerState& state, const Json& config, int64_t keep_last);
// "latest" resolves to the highest-numbered complete checkpoint in output_dir ("" when none).
std::string resolve_checkpoint(const std::string& output_dir, const std::string& spec);
// Loads weights into model (same config), optimizer moments into adam (when given), and the state.
TrainerState load_checkpoint(const std::string& dir, model::Decoder& model, AdamW* adam);
std::vector<std::string> list_checkpoints(const std::string& output_dir);  // oldest first

}  // namespace tandem::train
