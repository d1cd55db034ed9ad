#include "model/lora_peft.h"

#include <map>
#include <set>

#include "backend/registry.h"
#include "core/file.h"
#include "core/json.h"
#include "model/safetensors.h"

namespace tandem::model {

namespace {

constexpr const char* kWhere = "lora.load";
constexpr const char* kPrefix = "base_model.model.";

// The base weight view a projection's adapter merges into: rows of the fused matrices are
// contiguous, so q/k/v and gate/up are plain [out, in] views.
Tensor base_view(ParamSet& p, const ModelConfig& cfg, int64_t l, LoraTarget t) {
  LayerWeights& w = p.layers[size_t(l)];
  const LoraDims d = lora_dims(cfg, t);
  switch (t) {
    case LoraTarget::kQ:
    case LoraTarget::kK:
    case LoraTarget::kV: return w.wqkv.rows(d.col0, d.col0 + d.out);
    case LoraTarget::kO: return w.wo;
    case LoraTarget::kGate:
    case LoraTarget::kUp: return w.w_gate_up.rows(d.col0, d.col0 + d.out);
    case LoraTarget::kDown: return w.w_down;
  }
  return {};
}

// A config key whose non-default value changes the math in a way Tandem does not implement.
void require_default(const Json& j, const char* key, const std::string& origin) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null() || (it->is_boolean() && !it->get<bool>()) ||
      ((it->is_object() || it->is_array()) && it->empty()))
    return;
  throw Error(cat(kWhere, ".", key), cat("value ", it->dump(), " is not supported, expected it unset (", origin, ")"));
}

LoraConfig parse_config(const std::string& path) {
  const Json j = read_json_file(path, kWhere);
  const std::string w = kWhere;
  const std::string type = json_string_or(j, "peft_type", "", w, path);
  if (type != "LORA") throw Error(w + ".peft_type", cat("expected LORA, got '", type, "' (", path, ")"));
  const std::string bias = json_string_or(j, "bias", "none", w, path);
  if (bias != "none") throw Error(w + ".bias", cat("only 'none' is supported, got '", bias, "' (", path, ")"));
  for (const char* key : {"fan_in_fan_out", "use_dora", "layers_to_transform", "rank_pattern", "alpha_pattern",
                          "modules_to_save", "target_parameters"})
    require_default(j, key, path);
  LoraConfig c;
  c.r = json_int(j, "r", w, path);
  c.alpha = json_number_or(j, "lora_alpha", 8.0, w, path);
  c.dropout = json_number_or(j, "lora_dropout", 0.0, w, path);
  c.use_rslora = json_bool_or(j, "use_rslora", false, w, path);
  const Json& tm = json_field(j, "target_modules", w, path);
  c.target_modules.clear();
  if (tm.is_string()) {  // PEFT reads a string as a regex over module paths; only a plain name is taken
    c.target_modules.push_back(tm.get<std::string>());
  } else if (tm.is_array()) {
    for (const auto& m : tm) {
      if (!m.is_string()) throw Error(w + ".target_modules", cat("expected module names, got ", m.dump(), " (", path, ")"));
      c.target_modules.push_back(m.get<std::string>());
    }
  } else {
    throw Error(w + ".target_modules", cat("expected a list of module names, got ", json_type_name(tm), " (", path, ")"));
  }
  c.validate(w, path);
  return c;
}

}  // namespace

void save_peft_adapter(const LoraAdapters& adapters, const ModelConfig& base, const std::string& dir,
                       const std::string& base_model_name_or_path, DType dtype) {
  const LoraConfig& c = adapters.config();
  make_directories(dir);
  std::vector<NamedTensor> out;
  for (const auto& np : adapters.weights().named) out.push_back({np.name, np.tensor, dtype});
  write_safetensors(join_path(dir, "adapter_model.safetensors"), out,
                    {{"format", "pt"},
                     {"tandem.architecture", base.architecture},
                     {"tandem.hidden_size", std::to_string(base.hidden_size)},
                     {"tandem.num_hidden_layers", std::to_string(base.num_hidden_layers)}});
  Json j;
  j["peft_type"] = "LORA";
  j["task_type"] = "CAUSAL_LM";
  j["base_model_name_or_path"] = base_model_name_or_path;
  j["r"] = c.r;
  j["lora_alpha"] = c.alpha;
  j["lora_dropout"] = c.dropout;
  j["use_rslora"] = c.use_rslora;
  j["target_modules"] = c.target_modules;
  j["bias"] = "none";
  j["fan_in_fan_out"] = false;
  j["inference_mode"] = true;
  j["init_lora_weights"] = true;
  j["use_dora"] = false;
  j["modules_to_save"] = nullptr;
  j["layers_to_transform"] = nullptr;
  j["layers_pattern"] = nullptr;
  j["rank_pattern"] = Json::object();
  j["alpha_pattern"] = Json::object();
  j["revision"] = nullptr;
  write_file_atomic(join_path(dir, "adapter_config.json"), j.dump(2) + "\n");
}

std::unique_ptr<LoraAdapters> load_peft_adapter(const ModelConfig& base, const std::string& dir) {
  if (!is_directory(dir)) throw Error(kWhere, cat("'", dir, "' is not a directory"));
  const std::string cfg_path = join_path(dir, "adapter_config.json");
  const std::string st_path = join_path(dir, "adapter_model.safetensors");
  if (!file_exists(cfg_path)) throw Error(kWhere, cat("no adapter_config.json in '", dir, "'"));
  if (!file_exists(st_path)) {
    const bool bin = file_exists(join_path(dir, "adapter_model.bin"));
    throw Error(kWhere, cat("no adapter_model.safetensors in '", dir, "'",
                            bin ? " (adapter_model.bin, a pickle, is not read: save with safe_serialization=True)" : ""));
  }
  const LoraConfig c = parse_config(cfg_path);
  SafetensorsFile f(st_path);

  const auto& meta = f.metadata();
  auto check_meta = [&](const char* key, const std::string& want, const char* what) {
    auto it = meta.find(key);
    if (it != meta.end() && it->second != want)
      throw Error(cat(kWhere, ".", key), cat("the adapter was trained on a model with ", what, " ", it->second,
                                             ", this model has ", want, " (", st_path, ")"));
  };
  check_meta("tandem.architecture", base.architecture, "architecture");
  check_meta("tandem.hidden_size", std::to_string(base.hidden_size), "hidden_size");
  check_meta("tandem.num_hidden_layers", std::to_string(base.num_hidden_layers), "num_hidden_layers");

  auto adapters = std::make_unique<LoraAdapters>(base, c);
  LoraSet& w = adapters->weights();
  std::set<std::string> seen;
  const Ops& ops = ops_for(cpu_device());
  for (const auto& e : f.entries()) {
    const std::string where = cat(kWhere, ".", e.name);
    // base_model.model.model.layers.<N>.<block>.<module>.lora_<A|B>.weight
    std::string rest = e.name;
    if (rest.rfind(kPrefix, 0) != 0 || rest.find("model.layers.", std::string(kPrefix).size()) != std::string(kPrefix).size())
      throw Error(where, cat("not a LoRA tensor of a decoder layer, expected base_model.model.model.layers.N...."
                             "lora_A.weight (", st_path, ")"));
    rest = rest.substr(std::string(kPrefix).size() + std::string("model.layers.").size());
    size_t dot = rest.find('.');
    int64_t layer = -1;
    try {
      size_t used = 0;
      layer = std::stoll(rest.substr(0, dot), &used);
      if (used != dot) layer = -1;
    } catch (const std::exception&) {
      layer = -1;
    }
    if (layer < 0) throw Error(where, cat("cannot read a layer index (", st_path, ")"));
    if (layer >= base.num_hidden_layers)
      throw Error(where, cat("layer ", layer, " is beyond the model's ", base.num_hidden_layers,
                             " layers (num_hidden_layers). Hint: is this adapter for another model? (", st_path, ")"));
    const std::string tail = rest.substr(dot + 1);  // self_attn.q_proj.lora_A.weight
    int target = -1;
    char which = 0;
    for (int t = 0; t < kNumLoraTargets; ++t) {
      const std::string stem = cat(lora_target_block(LoraTarget(t)), ".", lora_target_name(LoraTarget(t)), ".lora_");
      if (tail == stem + "A.weight") target = t, which = 'A';
      if (tail == stem + "B.weight") target = t, which = 'B';
    }
    if (target < 0)
      throw Error(where, cat("unknown module tensor, expected <self_attn|mlp>.<q|k|v|o|gate|up|down>_proj.lora_<A|B>.weight "
                             "(", st_path, ")"));
    const LoraTarget t = LoraTarget(target);
    if (!c.targets(t))
      throw Error(where, cat("module ", lora_target_name(t), " is not in target_modules of ", cfg_path, " (", st_path, ")"));
    const LoraDims d = lora_dims(base, t);
    const Shape want = which == 'A' ? Shape{c.r, d.in} : Shape{d.out, c.r};
    if (e.shape.size() != 2)
      throw Error(where, cat("shape ", shape_str(e.shape), ", expected ", shape_str(want), " (", st_path, ")"));
    const int64_t rank = which == 'A' ? e.shape[0] : e.shape[1];
    if (rank != c.r)
      throw Error(where, cat("rank ", rank, " in its shape ", shape_str(e.shape), ", but r = ", c.r, " in ", cfg_path,
                             " (", st_path, ")"));
    if (e.shape != want)
      throw Error(where, cat("shape ", shape_str(e.shape), ", expected ", shape_str(want), " for this model (hidden_size ",
                             base.hidden_size, ", intermediate_size ", base.intermediate_size, ", heads ",
                             base.num_attention_heads, "/", base.num_key_value_heads, ", head_dim ", base.head_dim,
                             "). Hint: is this adapter for another model? (", st_path, ")"));
    if (e.dtype != DType::kF32 && e.dtype != DType::kBF16 && e.dtype != DType::kF16 && e.dtype != DType::kF64)
      throw Error(where, cat("dtype ", dtype_name(e.dtype), ", expected F32, BF16 or F16 (", st_path, ")"));
    LoraPair& p = w.layers[size_t(layer)].t[target];
    Tensor dst = which == 'A' ? p.a : p.b;
    ops.convert(f.view(e), dst);
    seen.insert(e.name);
  }
  for (const auto& np : w.named)
    if (!seen.count(np.name))
      throw Error(cat(kWhere, ".", np.name), cat("tensor missing: target_modules in ", cfg_path,
                                                 " lists this module for every layer (", st_path, ")"));
  return adapters;
}

void merge_adapters(ParamSet& p, const ModelConfig& cfg, const LoraAdapters& adapters) {
  const Ops& ops = ops_for(cpu_device());
  const LoraSet& w = adapters.weights();
  for (size_t l = 0; l < w.layers.size(); ++l)
    for (int t = 0; t < kNumLoraTargets; ++t) {
      const LoraPair& pr = w.layers[l].t[t];
      if (!pr.a.defined()) continue;
      Tensor dst = base_view(p, cfg, int64_t(l), LoraTarget(t));
      ops.gemm(false, false, adapters.scale(), pr.b, pr.a, 1.f, dst);  // [out, r] @ [r, in]
    }
}

void merge_and_detach(Decoder& dec) {
  if (!dec.adapters()) throw Error("lora.merge", "the model has no adapters attached");
  merge_adapters(dec.weights(), dec.config(), *dec.adapters());
  dec.detach_adapters();
}

}  // namespace tandem::model
