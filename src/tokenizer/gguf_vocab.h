// The tokenizer of a model folder as llama.cpp reads it from GGUF metadata (tokenizer.ggml.*):
//  - byte-level BPE (GPT-2 style: Llama 3, Qwen, SmolLM) -> model "gpt2": tokens, token_type,
//    merges ("a b"), and the pre-tokenizer name llama.cpp knows the regex of (tokenizer.ggml.pre);
//  - SentencePiece-style BPE with byte fallback (Llama 2, Mistral) -> model "llama": tokens,
//    token_type (BYTE for <0xXX>), and scores that order merges as the merge list does;
//  - special ids (bos, eos, eot, pad, unk), add_bos_token/add_eos_token as this tokenizer's
//    post-processor actually adds them, and the chat template(s) (tokenizer.chat_template).
// The token list is padded with "[PADi]" (type UNUSED) up to the model's embedding rows, as
// llama.cpp's converter does, since llama.cpp takes the vocabulary size from the token list.
// Anything llama.cpp would tokenise differently (an unknown pre-tokenizer, a Unigram or WordPiece
// model) is an Error rather than a file that runs with a silently different tokenisation.
// Not here: model tensors (model/gguf_export.h).
#pragma once
#include <string>

#include "model/gguf_writer.h"

namespace tandem::tokenizer {

struct GgufVocabInfo {
  std::string model;  // "gpt2" or "llama"
  std::string pre;    // tokenizer.ggml.pre ("" for llama)
  size_t n_tokens = 0;
  bool has_chat_template = false;
};

// dir: the model folder (tokenizer.json, tokenizer_config.json, chat_template.jinja,
// generation_config.json, config.json). vocab_size: the model's embedding rows.
GgufVocabInfo add_tokenizer_to_gguf(model::GgufWriter& w, const std::string& dir, int64_t vocab_size);

}  // namespace tandem::tokenizer
