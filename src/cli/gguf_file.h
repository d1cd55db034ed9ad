// A model as one GGUF file for llama.cpp: its weights in a GGUF dtype, and the tokenizer and chat
// template of a model folder in the metadata. Shared by `tandem export --to gguf` and `tandem demo`.
// Not here: the format itself (model/gguf_export.h, model/gguf_writer.h, tokenizer/gguf_vocab.h).
#pragma once
#include <cstdint>
#include <string>

#include "model/decoder.h"

namespace tandem::cli {

// Writes dec to out_path (atomically) in dtype ("f32" | "f16" | "bf16" | "q8_0") with the tokenizer
// files of tokenizer_dir; name is general.name ("" for none). Logs what was written; returns bytes.
uint64_t write_gguf_file(const model::Decoder& dec, const std::string& tokenizer_dir, const std::string& dtype,
                         const std::string& out_path, const std::string& name);

}  // namespace tandem::cli
