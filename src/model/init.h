// Random initialisation as HF's _init_weights does for these families: matrices and embeddings
// ~ N(0, initializer_range^2), norm weights 1, biases 0. Deterministic from the seed: tensor i
// draws from the Philox stream (seed, i), so the result does not depend on thread count.
#pragma once
#include <cstdint>

#include "model/weights.h"

namespace tandem::model {

void init_random(ParamSet& p, double initializer_range, uint64_t seed);

}  // namespace tandem::model
