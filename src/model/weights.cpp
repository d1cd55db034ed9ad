#include "model/weights.h"

#include <map>
#include <memory>
#include <set>

#include "backend/registry.h"
#include "core/file.h"
#include "core/json.h"
#include "core/log.h"
#include "model/safetensors.h"

namespace tandem::model {

ParamSet::ParamSet(const ModelConfig& cfg, bool with_score, DType dtype) {
  const int64_t C = cfg.hidden_size, I = cfg.intermediate_size, V = cfg.vocab_size, D = cfg.head_dim;
  const int64_t qkv = cfg.q_dim() + 2 * cfg.kv_dim();
  struct Slot {
    Tensor* dst;
    Shape shape;
  };
  std::vector<Slot> slots;
  layers.resize(size_t(cfg.num_hidden_layers));
  slots.push_back({&embed, {V, C}});
  for (auto& l : layers) {
    slots.push_back({&l.attn_norm, {C}});
    slots.push_back({&l.wqkv, {qkv, C}});
    if (cfg.has_qkv_bias()) slots.push_back({&l.bqkv, {qkv}});
    if (cfg.qk_norm) {
      slots.push_back({&l.q_norm, {D}});
      slots.push_back({&l.k_norm, {D}});
    }
    slots.push_back({&l.wo, {C, cfg.q_dim()}});
    if (cfg.has_o_bias()) slots.push_back({&l.bo, {C}});
    slots.push_back({&l.mlp_norm, {C}});
    slots.push_back({&l.w_gate_up, {2 * I, C}});
    slots.push_back({&l.w_down, {C, I}});
  }
  slots.push_back({&final_norm, {C}});
  if (!cfg.tie_word_embeddings && !cfg.sequence_classification) slots.push_back({&lm_head, {V, C}});
  if (with_score || cfg.sequence_classification) slots.push_back({&score, {1, C}});
  int64_t total = 0;
  for (auto& s : slots) total += (shape_numel(s.shape) + 15) / 16 * 16;  // views aligned to 16 elements (64 bytes in F32)
  flat = Tensor::zeros({total}, dtype);
  int64_t off = 0;
  for (auto& s : slots) {
    const int64_t n = shape_numel(s.shape);
    *s.dst = flat.rows(off, off + n).view(s.shape);
    off += (n + 15) / 16 * 16;
  }

  auto add = [&](const std::string& name, const Tensor& t, bool matrix) { named.push_back({name, t, matrix}); };
  add("model.embed_tokens.weight", embed, true);
  const int64_t qd = cfg.q_dim(), kd = cfg.kv_dim();
  for (size_t i = 0; i < layers.size(); ++i) {
    const auto& l = layers[i];
    const std::string p = cat("model.layers.", i, ".");
    add(p + "input_layernorm.weight", l.attn_norm, false);
    add(p + "self_attn.q_proj.weight", l.wqkv.rows(0, qd), true);
    add(p + "self_attn.k_proj.weight", l.wqkv.rows(qd, qd + kd), true);
    add(p + "self_attn.v_proj.weight", l.wqkv.rows(qd + kd, qd + 2 * kd), true);
    if (l.bqkv.defined()) {
      add(p + "self_attn.q_proj.bias", l.bqkv.rows(0, qd), false);
      add(p + "self_attn.k_proj.bias", l.bqkv.rows(qd, qd + kd), false);
      add(p + "self_attn.v_proj.bias", l.bqkv.rows(qd + kd, qd + 2 * kd), false);
    }
    if (l.q_norm.defined()) {
      add(p + "self_attn.q_norm.weight", l.q_norm, false);
      add(p + "self_attn.k_norm.weight", l.k_norm, false);
    }
    add(p + "self_attn.o_proj.weight", l.wo, true);
    if (l.bo.defined()) add(p + "self_attn.o_proj.bias", l.bo, false);
    add(p + "post_attention_layernorm.weight", l.mlp_norm, false);
    add(p + "mlp.gate_proj.weight", l.w_gate_up.rows(0, cfg.intermediate_size), true);
    add(p + "mlp.up_proj.weight", l.w_gate_up.rows(cfg.intermediate_size, 2 * cfg.intermediate_size), true);
    add(p + "mlp.down_proj.weight", l.w_down, true);
  }
  add("model.norm.weight", final_norm, false);
  if (lm_head.defined()) add("lm_head.weight", lm_head, true);
  if (score.defined()) add("score.weight", score, true);
}

const NamedParam* ParamSet::find(const std::string& name) const {
  for (const auto& n : named)
    if (n.name == name) return &n;
  return nullptr;
}

void load_weights(ParamSet& p, const std::string& dir) {
  const std::string index_path = join_path(dir, "model.safetensors.index.json");
  const std::string single_path = join_path(dir, "model.safetensors");
  std::map<std::string, std::unique_ptr<SafetensorsFile>> files;
  std::map<std::string, std::string> where;  // tensor name -> file
  if (file_exists(index_path)) {
    const Json idx = read_json_file(index_path, "model.load.index");
    const Json& wm = json_field(idx, "weight_map", "model.load.index", index_path);
    if (!wm.is_object()) throw Error("model.load.index.weight_map", cat("expected an object (", index_path, ")"));
    for (auto it = wm.begin(); it != wm.end(); ++it) {
      if (!it->is_string())
        throw Error(cat("model.load.index.weight_map.", it.key()), cat("expected a file name (", index_path, ")"));
      const std::string f = it->get<std::string>();
      if (f.find('/') != std::string::npos || f == "..")
        throw Error(cat("model.load.index.weight_map.", it.key()),
                    cat("shard name '", f, "' must be a plain file name in the model folder (", index_path, ")"));
      where[it.key()] = join_path(dir, f);
    }
    for (const auto& [name, f] : where)
      if (!files.count(f)) {
        if (!file_exists(f)) throw Error("model.load", cat("shard '", f, "' listed in ", index_path, " does not exist"));
        files[f] = std::make_unique<SafetensorsFile>(f);
      }
  } else if (file_exists(single_path)) {
    files[single_path] = std::make_unique<SafetensorsFile>(single_path);
    for (const auto& e : files[single_path]->entries()) where[e.name] = single_path;
  } else {
    throw Error("model.load", cat("no model.safetensors or model.safetensors.index.json in '", dir, "'"));
  }

  const Ops& ops = ops_for(cpu_device());
  std::set<std::string> used;
  for (auto& np : p.named) {
    auto w = where.find(np.name);
    if (w == where.end()) {
      std::string hint;
      if (np.name == "lm_head.weight") hint = " Hint: if the model ties its embeddings, set tie_word_embeddings: true.";
      throw Error(cat("model.load.", np.name),
                  cat("tensor missing from ", files.size() == 1 ? files.begin()->first : index_path, "." + hint));
    }
    const SafetensorsFile& f = *files.at(w->second);
    const SafetensorsEntry* e = f.find(np.name);
    if (!e) throw Error(cat("model.load.", np.name), cat("index says it is in '", w->second, "' but it is not there"));
    if (e->shape != np.tensor.shape())
      throw Error(cat("model.load.", np.name),
                  cat("shape ", shape_str(e->shape), " in ", w->second, ", expected ", shape_str(np.tensor.shape()),
                      " from config.json. Hint: do hidden_size, heads, head_dim and vocab_size match the weights?"));
    if (e->dtype != DType::kF32 && e->dtype != DType::kBF16 && e->dtype != DType::kF16 && e->dtype != DType::kF64)
      throw Error(cat("model.load.", np.name),
                  cat("dtype ", dtype_name(e->dtype), " in ", w->second, ", expected F32, BF16 or F16"));
    Tensor dst = np.tensor;
    ops.convert(f.view(*e), dst);
    f.release(*e);
    used.insert(np.name);
  }
  std::vector<std::string> extra;
  for (const auto& [name, f] : where)
    if (!used.count(name) && !(name == "lm_head.weight" && !p.lm_head.defined())) extra.push_back(name);
  if (!extra.empty()) {
    std::string list;
    for (size_t i = 0; i < extra.size() && i < 5; ++i) list += (i ? ", " : "") + extra[i];
    log_warn("model.load: ", extra.size(), " tensor(s) in '", dir, "' are not used by the model: ", list,
             extra.size() > 5 ? ", ..." : "");
  }
}

void save_weights(const ParamSet& p, const std::string& dir, DType dtype) {
  std::vector<NamedTensor> out;
  for (const auto& np : p.named) out.push_back({np.name, np.tensor, dtype});
  make_directories(dir);
  write_safetensors(join_path(dir, "model.safetensors"), out, {{"format", "pt"}});
}

}  // namespace tandem::model
