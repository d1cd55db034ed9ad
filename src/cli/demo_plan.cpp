// The demo's two plans (see demo_plan.h); docs/demo.md records the measurements behind them.
#include "cli/demo_plan.h"

#include <cstdlib>

#include "core/error.h"
#include "core/json.h"

namespace tandem::cli {

namespace {

// Enough for SFT to learn the format and some sums; the other stages only run.
DemoPlan quick_plan() {
  DemoPlan p;
  p.name = "quick";
  p.task.train = {1, 2};
  p.task.ood = {3, 3};
  p.task.demonstrations = 500;
  p.task.rl_prompts = 500;
  p.task.eval = 60;
  p.sft_steps = 300;
  p.sft_lr = 3e-3;
  p.rl_steps = 4;
  p.rl_prompts_per_step = 8;
  p.rl_lr = 5e-5;
  p.hybrid_steps = 4;
  p.hybrid_prompts_per_step = 4;
  p.curve_points = 2;
  return p;
}

DemoPlan full_plan() {
  DemoPlan p;
  p.name = "full";
  p.task.train = {1, 2};
  p.task.ood = {3, 3};
  p.task.demonstrations = 1000;
  p.task.rl_prompts = 4000;
  p.task.eval = 200;
  p.sft_steps = 300;
  p.rl_steps = 50;
  p.rl_lr = 3e-4;
  p.hybrid_steps = 250;  // its wall time matches SFT's and GRPO's together (docs/demo.md)
  return p;
}

void apply_overrides(DemoPlan& p, const std::string& path) {
  const Json j = read_json_file(path, "demo.plan");
  const std::string where = "TANDEM_DEBUG_DEMO_PLAN";
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    auto i64 = [&](int64_t& f) { f = json_int(j, k, where, path); };
    auto f64 = [&](double& f) { f = it->get<double>(); };
    if (k == "layers") i64(p.layers);
    else if (k == "hidden") i64(p.hidden);
    else if (k == "intermediate") i64(p.intermediate);
    else if (k == "demonstrations") i64(p.task.demonstrations);
    else if (k == "rl_prompts") i64(p.task.rl_prompts);
    else if (k == "eval") i64(p.task.eval);
    else if (k == "train_min_digits") p.task.train.min = int(json_int(j, k, where, path));
    else if (k == "train_max_digits") p.task.train.max = int(json_int(j, k, where, path));
    else if (k == "ood_min_digits") p.task.ood.min = int(json_int(j, k, where, path));
    else if (k == "ood_max_digits") p.task.ood.max = int(json_int(j, k, where, path));
    else if (k == "sft_steps") i64(p.sft_steps);
    else if (k == "sft_batch") i64(p.sft_batch);
    else if (k == "sft_lr") f64(p.sft_lr);
    else if (k == "sft_schedule") p.sft_schedule = it->get<std::string>();
    else if (k == "rl_steps") i64(p.rl_steps);
    else if (k == "rl_prompts_per_step") i64(p.rl_prompts_per_step);
    else if (k == "rl_generations") i64(p.rl_generations);
    else if (k == "rl_lr") f64(p.rl_lr);
    else if (k == "hybrid_steps") i64(p.hybrid_steps);
    else if (k == "hybrid_prompts_per_step") i64(p.hybrid_prompts_per_step);
    else if (k == "hybrid_expert_ratio") f64(p.hybrid_expert_ratio);
    else if (k == "hybrid_lr") f64(p.hybrid_lr);
    else if (k == "hybrid_mu") f64(p.hybrid_mu);
    else if (k == "curve_points") i64(p.curve_points);
    else throw Error(where + "." + k, cat("unknown plan field (", path, ")"));
  }
  p.name += "+overrides";
}

}  // namespace

DemoPlan demo_plan(bool quick) {
  DemoPlan p = quick ? quick_plan() : full_plan();
  if (const char* f = std::getenv("TANDEM_DEBUG_DEMO_PLAN")) apply_overrides(p, f);
  return p;
}

}  // namespace tandem::cli
