// RoPE frequency tables from a config: inv_freq per pair with the scaling rules of HF's
// rope-init functions (default, linear, llama3, yarn), computed in double, stored as F32 cos/sin.
#pragma once
#include <vector>

#include "model/config.h"
#include "tensor/ops.h"

namespace tandem::model {

// inv_freq[i] for i < head_dim / 2, and the attention factor that scales cos and sin (yarn).
std::vector<double> rope_inv_freq(const ModelConfig& cfg, double* attention_factor);
// cos/sin for positions [0, n_pos).
RopeTable make_rope_table(const ModelConfig& cfg, int64_t n_pos);

}  // namespace tandem::model
