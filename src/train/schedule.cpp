#include "train/schedule.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace tandem::train {

ScheduleType parse_schedule_type(const std::string& name, const std::string& where) {
  if (name == "constant" || name == "constant_with_warmup") return ScheduleType::kConstant;
  if (name == "linear") return ScheduleType::kLinear;
  if (name == "cosine") return ScheduleType::kCosine;
  throw Error(where, cat("unknown lr_scheduler_type '", name, "', expected constant, constant_with_warmup, linear or cosine"));
}

double lr_at(const ScheduleConfig& c, int64_t step) {
  if (step < c.warmup_steps) return c.peak_lr * double(step) / double(std::max<int64_t>(1, c.warmup_steps));
  if (c.type == ScheduleType::kConstant) return c.peak_lr;
  const double progress =
      double(step - c.warmup_steps) / double(std::max<int64_t>(1, c.total_steps - c.warmup_steps));
  double f;
  if (c.type == ScheduleType::kLinear) {
    f = std::max(0.0, 1.0 - progress);
  } else {
    f = std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * std::min(progress, 1.0))));
  }
  return c.peak_lr * (c.min_lr_ratio + (1.0 - c.min_lr_ratio) * f);
}

}  // namespace tandem::train
