// The demo's two plans (see demo_plan.h); docs/demo.md records the measurements behind them.
#include "cli/demo_plan.h"

namespace tandem::cli {

DemoPlan demo_plan(bool quick) {
  DemoPlan p;
  p.task.train = {1, 2};
  p.task.ood = {3, 3};
  if (quick) {
    p.name = "quick";
    p.task.demonstrations = 500;
    p.task.rl_prompts = 500;
    p.task.eval = 60;
    p.sft_steps = 300;
    p.sft_lr = 3e-3;
    p.rl_lr = 5e-5;
    p.rl_steps = 4;
    p.rl_prompts_per_step = 8;
    p.hybrid_steps = 4;
    p.curve_points = 2;
    return p;
  }
  p.name = "full";
  p.task.demonstrations = 1500;
  p.task.rl_prompts = 4000;
  p.task.eval = 200;
  p.sft_steps = 300;
  p.rl_steps = 60;
  p.rl_lr = 2e-4;
  p.hybrid_steps = 120;
  return p;
}

}  // namespace tandem::cli
