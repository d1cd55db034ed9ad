// GGUF export of a loaded model (see gguf_file.h).
#include "cli/gguf_file.h"

#include "core/log.h"
#include "model/gguf_export.h"
#include "tokenizer/gguf_vocab.h"

namespace tandem::cli {

uint64_t write_gguf_file(const model::Decoder& dec, const std::string& tokenizer_dir, const std::string& dtype,
                         const std::string& out_path, const std::string& name) {
  const model::GgmlType dt = model::gguf_dtype_from_name(dtype);
  model::GgufWriter w;
  model::add_model_to_gguf(w, dec.config(), dec.weights(), dt, name);
  const tokenizer::GgufVocabInfo vi = tokenizer::add_tokenizer_to_gguf(w, tokenizer_dir, dec.config().vocab_size);
  const uint64_t bytes = w.write(out_path);
  log_info("export: wrote ", out_path, " (", model::ggml_type_name(dt), ", ", w.tensor_count(), " tensors, ", bytes,
           " bytes; tokenizer ", vi.model, vi.pre.empty() ? "" : cat(" pre=", vi.pre), ", ", vi.n_tokens, " tokens",
           vi.has_chat_template ? ", chat template" : "", ")");
  return bytes;
}

}  // namespace tandem::cli
