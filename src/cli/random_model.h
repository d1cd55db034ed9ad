// A randomly initialised HF model folder (config.json + model.safetensors) from a handful of shape
// settings, as `tandem init-model` writes it for tests and benchmarks and `tandem demo` for its base.
// Not here: tokenizer files (the caller adds what its model speaks).
#pragma once
#include <cstdint>
#include <string>

#include "core/json.h"
#include "tensor/dtype.h"

namespace tandem::cli {

struct RandomModelSpec {
  std::string arch = "qwen3", rope_scaling;  // rope_scaling: JSON text, "" for none
  int64_t layers = 2, hidden = 64, heads = 4, kv_heads = 0, intermediate = 128, vocab = 256, head_dim = 0;
  int64_t max_pos = 4096, sliding_window = 0, max_window_layers = 0;
  double rope_theta = 10000.0, init_range = 0.02, rms_eps = 1e-6;
  bool tie = false, bias = false, score = false;
  int64_t bos_token_id = 0, eos_token_id = 1, pad_token_id = -1;  // -1: not written
  uint64_t seed = 0;
};

// The config.json the spec describes; Error naming the setting at fault.
Json random_model_config(const RandomModelSpec& s);

// Writes the initialised model to dir in dtype; returns its parameter count.
int64_t write_random_model(const RandomModelSpec& s, const std::string& dir, DType dtype);

}  // namespace tandem::cli
