// A Tandem model as llama.cpp reads it from GGUF: the architecture name (llama for Llama and
// Mistral, qwen2, qwen3), the hyperparameter keys its loaders read, and every tensor under
// llama.cpp's name (token_embd, blk.N.attn_q, ..., output_norm, output), dims innermost first.
// llama.cpp's "llama" graph applies RoPE to adjacent pairs (x0,x1),(x2,x3)... while Hugging Face
// Llama rotates the two halves of each head, so Q and K rows (and biases) are permuted per head
// for that architecture: new row 2j+s of a head = old row s*D/2+j. Qwen2/Qwen3 use llama.cpp's
// NEOX rope, which is the halves layout, so they are written as they are.
// Norms, biases and other 1-D tensors stay F32 whatever the export dtype, as llama.cpp's own
// converter does; a matrix whose rows are not a whole number of Q8_0 blocks falls back to F16.
// Not here: the tokenizer metadata (tokenizer/gguf_vocab.h); the file format (gguf_writer.h).
#pragma once
#include <string>

#include "model/config.h"
#include "model/gguf_writer.h"
#include "model/weights.h"

namespace tandem::model {

// "llama", "qwen2" or "qwen3"; throws Error naming what llama.cpp cannot represent.
std::string gguf_arch(const ModelConfig& cfg);
// general.file_type for the export dtype (LLAMA_FTYPE: f32 0, f16 1, q8_0 7, bf16 32).
uint32_t gguf_file_type(GgmlType dtype);
// Parses "f32" | "f16" | "bf16" | "q8_0".
GgmlType gguf_dtype_from_name(const std::string& name);

// Adds general.* and <arch>.* metadata and all tensors of p to w. The tensors are read from p when
// w.write() runs, so p must outlive that call. Throws Error for configurations llama.cpp would
// load but run differently (e.g. an o_proj bias on Qwen3, rope scaling it has no key for).
void add_model_to_gguf(GgufWriter& w, const ModelConfig& cfg, const ParamSet& p, GgmlType dtype,
                       const std::string& name = "");

}  // namespace tandem::model
