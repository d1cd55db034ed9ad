// `tandem export`: a model folder out as something another tool loads.
//   --to hf    an HF folder again, weights in --dtype (f32 | bf16 | f16), tokenizer and generation
//              files copied as they are;
//   --to gguf  one GGUF file for llama.cpp (--dtype f32 | f16 | bf16 | q8_0; default f16) with the
//              tokenizer and chat template in its metadata (model/gguf_export.h, tokenizer/gguf_vocab.h);
//   --adapter  a PEFT LoRA folder merged into the weights first (W += scale B A), for any --to;
//   --to merged  the same as --to hf, and requires --adapter (the merged HF folder).
// Outputs are written under a temporary name and renamed, so an interrupted export leaves no
// half-written model under the user's name. Not here: the formats themselves.
#include <filesystem>
#include <unistd.h>

#include "cli/command.h"
#include "cli/gguf_file.h"
#include "core/file.h"
#include "core/log.h"
#include "model/decoder.h"
#include "model/gguf_export.h"
#include "model/lora_peft.h"

namespace tandem::cli {
namespace {

namespace fs = std::filesystem;

struct Opts {
  std::string model, adapter, to, dtype, out;
};

DType hf_dtype(const std::string& name, const model::ModelConfig& cfg) {
  std::string n = name;
  if (n.empty()) n = cfg.torch_dtype == "bfloat16" ? "bf16" : cfg.torch_dtype == "float16" ? "f16" : "f32";
  if (n == "f32") return DType::kF32;
  if (n == "bf16") return DType::kBF16;
  if (n == "f16") return DType::kF16;
  throw Error("export.dtype", cat("an HF folder holds f32, bf16 or f16 weights, got '", name, "'"));
}

// Copies every file of src except the weights and config.json (rewritten) into dst.
void copy_side_files(const std::string& src, const std::string& dst) {
  for (const auto& e : fs::directory_iterator(src)) {
    if (!e.is_regular_file()) continue;
    const std::string name = e.path().filename().string();
    if (name == "config.json" || name.rfind("model.safetensors", 0) == 0 || name.rfind("model-", 0) == 0) continue;
    fs::copy_file(e.path(), fs::path(dst) / name, fs::copy_options::overwrite_existing);
  }
}

// The model, with the adapter merged into its weights when one is given.
std::unique_ptr<model::Decoder> load_model(const Opts& o) {
  auto dec = model::Decoder::load(o.model);
  if (!o.adapter.empty()) {
    dec->attach_adapters(model::load_peft_adapter(dec->config(), o.adapter));
    model::merge_and_detach(*dec);
    log_info("export: merged the LoRA adapter ", o.adapter);
  }
  return dec;
}

int export_hf(const Opts& o) {
  if (fs::exists(o.out))
    throw Error("export.out", cat("'", o.out, "' already exists; an HF export writes a new folder (remove it first)"));
  auto dec = load_model(o);
  const DType dt = hf_dtype(o.dtype, dec->config());
  const std::string tmp = cat(o.out, ".tmp.", getpid());
  try {
    fs::remove_all(tmp);
    dec->save(tmp, dt);
    copy_side_files(o.model, tmp);
    fs::rename(tmp, o.out);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  }
  log_info("export: wrote ", dec->config().architecture, " as ", dtype_name(dt), " to ", o.out);
  return 0;
}

int export_gguf(const Opts& o) {
  const model::ModelConfig cfg = model::ModelConfig::load(join_path(o.model, "config.json"));
  model::gguf_arch(cfg);  // refuse an unsupported model before loading its weights
  model::gguf_dtype_from_name(o.dtype.empty() ? "f16" : o.dtype);  // and an unknown dtype
  auto dec = load_model(o);
  const std::string name = fs::path(o.model).lexically_normal().filename().string();
  write_gguf_file(*dec, o.model, o.dtype.empty() ? "f16" : o.dtype, o.out, name == "." || name.empty() ? "" : name);
  return 0;
}

int run(const Opts& o) {
  if (!is_directory(o.model)) throw Error("export.model", cat("'", o.model, "' is not a model folder"));
  if (o.to == "merged" && o.adapter.empty())
    throw Error("export.adapter", "--to merged needs --adapter (the PEFT LoRA folder to merge into --model)");
  if (!o.adapter.empty() && !is_directory(o.adapter))
    throw Error("export.adapter", cat("'", o.adapter, "' is not a PEFT adapter folder"));
  if (o.to == "hf" || o.to == "merged") return export_hf(o);
  if (o.to == "gguf") return export_gguf(o);
  throw Error("export.to", cat("expected hf, merged or gguf, got '", o.to, "'"));
}

Registrar reg({"export", "write a model as an HF folder or a GGUF file for llama.cpp", [](CLI::App& sub) {
                 auto o = std::make_shared<Opts>();
                 sub.add_option("--model", o->model, "HF model folder")->required();
                 sub.add_option("--adapter", o->adapter, "PEFT LoRA adapter folder to merge into the weights");
                 sub.add_option("--to", o->to, "hf | merged | gguf")->required();
                 sub.add_option("--dtype", o->dtype, "f32 | f16 | bf16 (hf, default: the model's) or also q8_0 (gguf, default f16)");
                 sub.add_option("--out", o->out, "output folder (hf, merged) or file (gguf)")->required();
                 return std::function<int()>([o] { return run(*o); });
               }});

}  // namespace
}  // namespace tandem::cli
