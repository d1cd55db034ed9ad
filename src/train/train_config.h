// The keys every trainer shares (sft, the preference trainers, online RL), with the names TRL and
// transformers users know, listed once; a trainer's config derives from this struct and lists its
// own keys after calling TrainConfig::for_each_field. The data keys (data::DataConfig) are flat.
// Not here: a trainer's own keys (loss_type, beta, num_generations, ...).
#pragma once
#include <cmath>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "core/json.h"
#include "data/data_config.h"
#include "model/lora.h"

namespace tandem::train {

struct TrainConfig {
  std::string model_name_or_path, output_dir;
  data::DataConfig data;
  int64_t max_steps = -1;         // -1: from num_train_epochs
  double num_train_epochs = 1.0;
  int64_t per_device_train_batch_size = 8, per_device_eval_batch_size = 8, gradient_accumulation_steps = 1;
  double learning_rate = 2e-5;
  std::string lr_scheduler_type = "linear";
  int64_t warmup_steps = 0;
  double warmup_ratio = 0.0, min_lr_ratio = 0.0;
  double weight_decay = 0.0, adam_beta1 = 0.9, adam_beta2 = 0.999, adam_epsilon = 1e-8;
  double max_grad_norm = 1.0;     // 0 disables clipping
  std::string optim = "adamw";    // adamw | sgd
  int64_t seed = 42;
  int64_t logging_steps = 1, eval_steps = 0, save_steps = 0, save_total_limit = 0;
  std::string resume_from_checkpoint;  // "", "latest" or a checkpoint folder
  bool recompute = false;         // activation recomputation (gradient checkpointing)
  std::string save_dtype = "f32";   // f32 | bf16 for the final model
  bool bf16 = false;              // bf16 GEMMs, fp32 master weights and optimizer (docs/engine.md)
  int64_t zero_stage = 1;         // data parallel: 1 shards AdamW state over ranks, 0 replicates it
  double ddp_bucket_cap_mb = 25;  // data parallel: gradient buckets reduced during the backward (0: after it)
  Json lora;                        // null: full fine-tuning; else model::LoraConfig keys (docs/lora.md)
  std::string adapter_name_or_path;  // a PEFT LoRA folder to continue training (its config is used)
  bool lora_merge = false;          // also write output_dir/merged: the base with the adapters merged

  bool uses_lora() const { return !lora.is_null() || !adapter_name_or_path.empty(); }

  template <class V> void for_each_field(V&& v) {
    v("model_name_or_path", model_name_or_path, "HF model folder to start from");
    v("output_dir", output_dir, "run folder: config.yaml, metrics, checkpoints, final model");
    data.for_each_field(v);
    v("max_steps", max_steps, "optimizer steps (-1: from num_train_epochs)");
    v("num_train_epochs", num_train_epochs, "epochs when max_steps is -1");
    v("per_device_train_batch_size", per_device_train_batch_size, "examples per micro-batch");
    v("per_device_eval_batch_size", per_device_eval_batch_size, "examples per evaluation batch");
    v("gradient_accumulation_steps", gradient_accumulation_steps, "micro-batches per optimizer step");
    v("learning_rate", learning_rate, "peak learning rate");
    v("lr_scheduler_type", lr_scheduler_type, "constant | linear | cosine");
    v("warmup_steps", warmup_steps, "linear warm-up steps (wins over warmup_ratio)");
    v("warmup_ratio", warmup_ratio, "warm-up as a fraction of max_steps");
    v("min_lr_ratio", min_lr_ratio, "floor of the decay as a fraction of the peak");
    v("weight_decay", weight_decay, "decoupled weight decay on matrices (not norms, biases)");
    v("adam_beta1", adam_beta1, "AdamW beta1");
    v("adam_beta2", adam_beta2, "AdamW beta2");
    v("adam_epsilon", adam_epsilon, "AdamW epsilon");
    v("max_grad_norm", max_grad_norm, "clip the global gradient norm (0 disables)");
    v("optim", optim, "adamw | sgd");
    v("seed", seed, "seed of data order and every random stream");
    v("logging_steps", logging_steps, "write metrics every N steps");
    v("eval_steps", eval_steps, "evaluate every N steps (0: only at the end, when there is held-out data)");
    v("save_steps", save_steps, "checkpoint every N steps (0: only at the end)");
    v("save_total_limit", save_total_limit, "keep the last K checkpoints (0: all)");
    v("resume_from_checkpoint", resume_from_checkpoint, "\"latest\" or a checkpoint folder");
    v("recompute", recompute, "recompute activations in backward (less memory)");
    v("save_dtype", save_dtype, "f32 | bf16 for the saved model");
    v("bf16", bf16, "bf16 compute: GEMMs in bf16 with fp32 accumulation; weights, optimizer, norms, softmax stay fp32 (needs AVX512_BF16)");
    v("zero_stage", zero_stage, "data parallel (mpirun): 1 shards optimizer state over ranks, 0 keeps a full copy on each");
    v("ddp_bucket_cap_mb", ddp_bucket_cap_mb, "data parallel (mpirun): MB of gradients per bucket reduced while the backward runs (0: one reduce after it)");
    v("lora", lora, "LoRA adapters {r, alpha, dropout, target_modules, use_rslora}: only they train (unset: all weights)");
    v("adapter_name_or_path", adapter_name_or_path, "PEFT LoRA adapter folder to continue training");
    v("lora_merge", lora_merge, "with LoRA, also write output_dir/merged (an HF folder with the adapters merged)");
  }

  void validate() const {
    auto need = [](bool ok, const char* key, const std::string& what) {
      if (!ok) throw Error(key, what);
    };
    need(!model_name_or_path.empty(), "model_name_or_path", "required");
    need(!output_dir.empty(), "output_dir", "required");
    data.validate();
    need(max_steps == -1 || max_steps > 0, "max_steps", cat("must be -1 or > 0, got ", max_steps));
    need(num_train_epochs > 0, "num_train_epochs", cat("must be > 0, got ", num_train_epochs));
    need(per_device_train_batch_size > 0, "per_device_train_batch_size", "must be > 0");
    need(per_device_eval_batch_size > 0, "per_device_eval_batch_size", "must be > 0");
    need(gradient_accumulation_steps > 0, "gradient_accumulation_steps", "must be > 0");
    need(learning_rate >= 0, "learning_rate", "must be >= 0");
    need(warmup_steps >= 0, "warmup_steps", "must be >= 0");
    need(warmup_ratio >= 0 && warmup_ratio <= 1, "warmup_ratio", "must be in [0, 1]");
    need(min_lr_ratio >= 0 && min_lr_ratio <= 1, "min_lr_ratio", "must be in [0, 1]");
    need(weight_decay >= 0, "weight_decay", "must be >= 0");
    need(adam_beta1 >= 0 && adam_beta1 < 1, "adam_beta1", "must be in [0, 1)");
    need(adam_beta2 >= 0 && adam_beta2 < 1, "adam_beta2", "must be in [0, 1)");
    need(adam_epsilon > 0, "adam_epsilon", "must be > 0");
    need(max_grad_norm >= 0, "max_grad_norm", "must be >= 0");
    need(optim == "adamw" || optim == "sgd", "optim", cat("expected adamw or sgd, got '", optim, "'"));
    need(logging_steps > 0, "logging_steps", "must be > 0");
    need(eval_steps >= 0, "eval_steps", "must be >= 0");
    need(save_steps >= 0, "save_steps", "must be >= 0");
    need(save_total_limit >= 0, "save_total_limit", "must be >= 0");
    need(zero_stage == 0 || zero_stage == 1, "zero_stage", cat("expected 0 or 1, got ", zero_stage));
    need(std::isfinite(ddp_bucket_cap_mb) && ddp_bucket_cap_mb >= 0, "ddp_bucket_cap_mb",
         cat("expected a number of MB >= 0, got ", ddp_bucket_cap_mb));
    need(save_dtype == "f32" || save_dtype == "bf16", "save_dtype", cat("expected f32 or bf16, got '", save_dtype, "'"));
    if (!lora.is_null()) model::LoraConfig::from_json(lora, "lora", "the run's config");
    need(lora.is_null() || adapter_name_or_path.empty(), "adapter_name_or_path",
         "set either lora (new adapters) or adapter_name_or_path (continue a PEFT adapter), not both");
    need(!lora_merge || uses_lora(), "lora_merge", "needs lora or adapter_name_or_path");
  }
};

}  // namespace tandem::train
