#include "model/init.h"

#include "core/rng.h"

namespace tandem::model {

void init_random(ParamSet& p, double initializer_range, uint64_t seed) {
  for (size_t i = 0; i < p.named.size(); ++i) {
    const NamedParam& np = p.named[i];
    float* d = np.tensor.f32();
    const int64_t n = np.tensor.numel();
    const bool is_norm = np.name.find("norm.weight") != std::string::npos;
    const bool is_bias = np.name.size() > 5 && np.name.compare(np.name.size() - 5, 5, ".bias") == 0;
    const Rng rng(seed, i);
#pragma omp parallel for schedule(static)
    for (int64_t j = 0; j < n; ++j)
      d[j] = is_norm ? 1.f : is_bias ? 0.f : float(initializer_range) * rng.normal(uint64_t(j));
  }
}

}  // namespace tandem::model
