#include "train/grad_clip.h"

#include <cmath>

#include "backend/registry.h"

namespace tandem::train {

double clip_grad_norm(Tensor& grads, double max_norm) {
  const Ops& ops = ops_for(grads.device());
  const double norm = std::sqrt(ops.sum_squares(grads));
  if (max_norm > 0) {
    const double coef = max_norm / (norm + 1e-6);
    if (coef < 1.0) ops.scale(grads, float(coef));
  }
  return norm;
}

}  // namespace tandem::train
