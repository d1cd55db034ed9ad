// Whole-model comparisons for the data-parallel tests: every tensor of a model.safetensors as one
// float vector, and the largest elementwise gap relative to the largest weight.
#pragma once
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "model/safetensors.h"

namespace tandem::testing {

inline std::vector<float> all_weights(const std::string& safetensors_path) {
  model::SafetensorsFile f(safetensors_path);
  std::vector<float> all;
  for (const auto& e : f.entries()) {
    const Tensor t = f.view(e);
    all.insert(all.end(), t.f32(), t.f32() + t.numel());
  }
  return all;
}

inline double max_rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num = std::max(num, double(std::fabs(a[i] - b[i])));
    den = std::max(den, double(std::fabs(a[i])));
  }
  return num / den;
}

}  // namespace tandem::testing
