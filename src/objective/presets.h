// Presets: every algorithm of algorithms.md as data — terms with weights, advantage estimator,
// aggregation, hyper-parameters and the source of each number (style.md E5). No arithmetic here.
#pragma once
#include <string>
#include <vector>

#include "objective/config.h"

namespace tandem::objective {

// Error("objective.preset") listing the known names when name is unknown.
ObjectiveConfig find_preset(const std::string& name);
bool has_preset(const std::string& name);
std::vector<std::string> preset_names();

}  // namespace tandem::objective
