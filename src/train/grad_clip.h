// Global-norm gradient clipping as torch.nn.utils.clip_grad_norm_: the norm over all gradients
// (accumulated in double), and a scale max_norm / (norm + 1e-6) applied when it is below 1.
// Returns the norm before clipping (what users log as grad_norm). max_norm <= 0 disables clipping.
#pragma once
#include "tensor/tensor.h"

namespace tandem::train {

double clip_grad_norm(Tensor& grads, double max_norm);
// The same scaling for a norm computed elsewhere (sharded gradients: the sum over ranks).
void clip_to_norm(Tensor& grads, double norm, double max_norm);

}  // namespace tandem::train
