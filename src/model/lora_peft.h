// LoRA adapters on disk as PEFT writes them, so that PEFT/transformers load what Tandem trains and
// Tandem continues or serves what PEFT trained: a folder with adapter_config.json (peft_type LORA,
// r, lora_alpha, lora_dropout, target_modules, use_rslora, ...) and adapter_model.safetensors
// (keys base_model.model.model.layers.N.<self_attn|mlp>.<module>.lora_A.weight [r, in] and
// .lora_B.weight [out, r]). Also merging adapters into the base weights (W += scale * B A).
// Deliberately not here: the adapters' math (lora.h), GGUF and the export command (cli).
#pragma once
#include <memory>
#include <string>

#include "model/decoder.h"
#include "model/lora.h"

namespace tandem::model {

// Writes dir/adapter_config.json and dir/adapter_model.safetensors (each atomically). The
// safetensors metadata also records the base architecture, hidden size and layer count, which
// load_peft_adapter checks when present (PEFT ignores them).
void save_peft_adapter(const LoraAdapters& adapters, const ModelConfig& base, const std::string& dir,
                       const std::string& base_model_name_or_path, DType dtype = DType::kF32);

// Reads a PEFT LoRA folder for a model of config `base`. Errors name the file and the key: not a
// LoRA config, unsupported options (bias, DoRA, fan_in_fan_out, rank/alpha patterns, regex
// targets, modules_to_save), another architecture / hidden size / layer count, a rank that does
// not match the shapes, unknown modules and targeted modules with missing tensors.
std::unique_ptr<LoraAdapters> load_peft_adapter(const ModelConfig& base, const std::string& dir);

// W += scale * B A for every adapter into p (the base weights of the same config).
void merge_adapters(ParamSet& p, const ModelConfig& cfg, const LoraAdapters& adapters);
// Merges the decoder's attached adapters into its weights and detaches them: afterwards the
// decoder is an ordinary model (save() writes a plain HF folder).
void merge_and_detach(Decoder& dec);

}  // namespace tandem::model
