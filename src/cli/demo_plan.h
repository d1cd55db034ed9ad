// What `tandem demo` runs: the model's shape, the task's sizes, and the settings of its three
// stages (SFT, GRPO from the SFT model, and a single-stage hybrid from the base), for the full demo
// and for --quick. The numbers were chosen by measurement (docs/demo.md): the full plan finishes in
// under 10 minutes on 2 cores and shows what each stage changes; the quick plan runs in about a
// minute and only has to show that SFT learns.
// Not here: running the stages (demo.cpp) or writing their configs (demo_stages.h).
#pragma once
#include <cstdint>
#include <string>

#include "cli/demo_task.h"

namespace tandem::cli {

struct DemoPlan {
  std::string name;  // "full" | "quick"
  // The model: Qwen3-shaped, tied embeddings, random initialisation.
  int64_t layers = 4, hidden = 128, heads = 4, kv_heads = 2, intermediate = 384;
  TaskSizes task;
  int64_t max_new_tokens = 48;  // the longest worked solution of the OOD set fits
  // Stage 1: SFT on the demonstrations.
  int64_t sft_steps = 0, sft_batch = 32;
  double sft_lr = 2e-3;
  std::string sft_schedule = "constant";  // lr_scheduler_type (after a short warm-up)
  // Stage 2: GRPO from the SFT model on the RL prompts (no demonstrations).
  int64_t rl_steps = 0, rl_prompts_per_step = 16, rl_generations = 8;
  double rl_lr = 5e-4;
  // Stage 3: the hybrid from the base model, on the RL prompts and the demonstrations.
  int64_t hybrid_prompts_per_step = 4;
  double hybrid_expert_ratio = 0.5;  // with 4 x 8 rollouts: 32 demonstrations a step, the SFT batch
  double hybrid_mu = 0.5;            // the SFT term's weight, constant (docs/demo.md: why not decaying)
  std::string hybrid = "chord_mu";  // CHORD with plain NLL and a falling mu: from a random model, phi = p(1-p) is ~0
  int64_t hybrid_steps = 0;
  double hybrid_lr = 2e-3;
  // Held-out accuracy is measured at this many checkpoints of each stage (the curves), and at the end.
  int64_t curve_points = 5;
};

// The plan; TANDEM_DEBUG_DEMO_PLAN=file.json overrides any of its fields by name (the numbers are
// tuned with it; an unknown name is an Error).
DemoPlan demo_plan(bool quick);

}  // namespace tandem::cli
