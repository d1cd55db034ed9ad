// The CPU implementation of the op table (tensor/ops.h).
#pragma once
#include "tensor/ops.h"

namespace tandem::cpu {

const Ops& cpu_ops();

}  // namespace tandem::cpu
