#include "train/grad_clip.h"

#include <cmath>

#include "backend/registry.h"

namespace tandem::train {

void clip_to_norm(Tensor& grads, double norm, double max_norm) {
  if (max_norm <= 0 || !std::isfinite(norm)) return;
  const double coef = max_norm / (norm + 1e-6);
  if (coef < 1.0) ops_for(grads.device()).scale(grads, float(coef));
}

double clip_grad_norm(Tensor& grads, double max_norm) {
  const double norm = std::sqrt(ops_for(grads.device()).sum_squares(grads));
  clip_to_norm(grads, norm, max_norm);
  return norm;
}

}  // namespace tandem::train
