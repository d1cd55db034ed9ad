// Learning-rate schedules as transformers defines them (get_scheduler): constant, linear, cosine,
// each with linear warm-up; plus a floor (min_lr_ratio of the peak) that linear and cosine decay
// towards instead of 0. Pure functions of the step, so a resumed run gets the same rate.
#pragma once
#include <cstdint>
#include <string>

namespace tandem::train {

enum class ScheduleType { kConstant, kLinear, kCosine };

struct ScheduleConfig {
  ScheduleType type = ScheduleType::kLinear;
  double peak_lr = 5e-5;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
  double min_lr_ratio = 0.0;  // floor as a fraction of peak_lr
};

ScheduleType parse_schedule_type(const std::string& name, const std::string& where);
// The rate used by optimiser step `step` (0-based), as transformers' LambdaLR gives it.
double lr_at(const ScheduleConfig& c, int64_t step);

}  // namespace tandem::train
