// The op table for a device: the one place that knows which backends this build has.
// A CUDA backend adds a case here and its own folder; model code does not change.
#pragma once
#include "tensor/ops.h"

namespace tandem {

const Ops& ops_for(Device device);

}  // namespace tandem
