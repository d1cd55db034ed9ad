// An op table that times every call of another one, by op name: the per-op profile of a run.
// Enabled with TANDEM_DEBUG_PROFILE=1 (backend/registry.cpp); costs two clock reads per op.
#pragma once
#include <string>

#include "tensor/ops.h"

namespace tandem {

const Ops& profiled(const Ops& inner);
// Seconds and calls per op since start, sorted by time, as a text table ("" when not enabled).
std::string op_profile_report();
void op_profile_reset();

}  // namespace tandem
