// The training loop every trainer shares: learning-rate schedule, optimizer, gradient clipping,
// checkpoints with exact resume, SIGINT/SIGTERM handling, the NaN guard, metrics, progress,
// periodic evaluation and the final HF folder. A trainer (sft, dpo, grpo, ...) supplies only an
// Algorithm: how the gradient of one optimizer step is computed, how it evaluates, and where its
// data stream stands.
// Not here: losses (objective layer), batching (data layer), generation (rollout layer).
#pragma once
#include <cstdint>
#include <string>

#include "core/json.h"
#include "dist/communicator.h"
#include "model/decoder.h"
#include "train/train_config.h"

namespace tandem::train {

// What one optimizer step produced besides the gradient.
struct StepResult {
  double loss = 0;
  int64_t tokens = 0;             // tokens through the engine this step (tokens/s)
  Json metrics = Json::object();  // the algorithm's own statistics, logged under their names
};

class Algorithm {
 public:
  virtual ~Algorithm() = default;
  // "sft", "dpo", ...: the prefix of messages.
  virtual std::string name() const = 0;
  // Optimizer steps in one pass over the training data (num_train_epochs -> max_steps); 0 when the
  // data has no end (online RL with max_steps required).
  virtual int64_t steps_per_epoch() const = 0;
  // Accumulates this rank's share of the gradient of optimizer step `step` (0-based) into the
  // policy's gradient buffer, which the loop has zeroed; the loop sums the shares over ranks.
  // Normalisers count the whole step over every micro-batch and rank (comm_), so N ranks with
  // batch b update like one rank with batch N*b. StepResult::loss and tokens are this rank's
  // shares (the loop sums them); metrics must already be global.
  virtual StepResult compute_gradients(int64_t step) = 0;
  // Held-out metrics (eval_loss, ...), or an empty object when there is no held-out data.
  // Collective: every rank calls it and every rank returns the same values.
  virtual Json evaluate() { return Json::object(); }
  virtual bool has_eval() const { return false; }
  // Fractional epoch for metrics.
  virtual double epoch() const = 0;
  // Everything besides weights and optimizer that a resumed run needs to continue bit for bit:
  // data position, random streams, buffers. Saved in the checkpoint's trainer_state.json.
  virtual Json state() const = 0;
  virtual void restore(const Json& state) = 0;
  // Writes the final model into dir (default: the policy as an HF folder with the starting
  // folder's tokenizer files and a generation_config.json).
  virtual void save_model(const std::string& dir, DType dtype);

 protected:
  explicit Algorithm(model::Decoder& policy, std::string model_dir)
      : policy_(policy), model_dir_(std::move(model_dir)) {}
  model::Decoder& policy_;
  std::string model_dir_;
  dist::Communicator& comm_ = dist::world();
};

// With lora (or adapter_name_or_path) in cfg: attaches new adapters initialised from cfg.seed (or the
// PEFT folder's) to policy, which freezes its base. run_training calls it; a trainer that needs the
// adapters earlier (e.g. to know its reference is the base with adapters off) may call it first.
void attach_lora(const TrainConfig& cfg, model::Decoder& policy);

// Sets the decoder's compute dtype from cfg.bf16 (Error "bf16" when this machine has no bf16
// GEMMs). run_training applies it to the policy; a trainer applies it to its other models (the
// reference) and may call it right after loading, to fail before its data is read.
void apply_compute_dtype(const TrainConfig& cfg, model::Decoder& dec);

// Copies tokenizer files and generation_config.json (written from config.json when absent) from
// the starting model folder into an output folder, so the result loads like the original.
void copy_tokenizer_files(const std::string& from, const std::string& to, const model::ModelConfig& mc);

// Runs the whole job: writes config.yaml, resumes when asked, trains to max_steps, saves the final
// model. resolved is the config as config.yaml and checkpoints record it. Returns the process exit
// code (0 also when stopped by SIGINT/SIGTERM after saving a checkpoint).
int run_training(const TrainConfig& cfg, const Json& resolved, const std::string& resolved_yaml,
                 model::Decoder& policy, Algorithm& algo);

}  // namespace tandem::train
