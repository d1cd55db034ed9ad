// Default stop ids of a model folder (see stop_ids.h).
#include "rollout/stop_ids.h"

#include <algorithm>
#include <memory>

#include "core/error.h"
#include "core/file.h"
#include "core/json.h"

namespace tandem::rollout {

namespace {

// eos ids of DIR/generation_config.json (an int or a list), empty when the file or key is absent.
std::vector<int32_t> generation_config_eos(const std::string& dir, int64_t vocab) {
  if (dir.empty()) return {};
  const std::string path = join_path(dir, "generation_config.json");
  if (!file_exists(path)) return {};
  const Json j = read_json_file(path, "generate.generation_config");
  std::vector<int32_t> ids;
  if (!j.is_object() || !j.contains("eos_token_id") || j["eos_token_id"].is_null()) return ids;
  const Json& e = j["eos_token_id"];
  for (const Json& v : e.is_array() ? e : Json::array({e})) {
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() >= vocab)
      throw Error("generate.generation_config.eos_token_id",
                  cat("expected token ids in [0, ", vocab, "), got ", v.dump(), " (", path, ")"));
    ids.push_back(int32_t(v.get<int64_t>()));
  }
  return ids;
}

}  // namespace

std::vector<int32_t> default_stop_ids(const std::string& model_dir, const model::ModelConfig& cfg,
                                      const tokenizer::Tokenizer* tok) {
  std::vector<int32_t> ids;
  for (int64_t e : cfg.eos_token_ids) ids.push_back(int32_t(e));
  for (int32_t e : generation_config_eos(model_dir, cfg.vocab_size)) ids.push_back(e);
  std::unique_ptr<tokenizer::Tokenizer> loaded;
  if (!tok && !model_dir.empty() && file_exists(join_path(model_dir, "tokenizer.json"))) {
    loaded = std::make_unique<tokenizer::Tokenizer>(tokenizer::Tokenizer::from_dir(model_dir));
    tok = loaded.get();
  }
  if (tok && tok->eos_id() >= 0 && tok->eos_id() < cfg.vocab_size) ids.push_back(tok->eos_id());
  std::vector<int32_t> unique;
  for (int32_t id : ids)
    if (std::find(unique.begin(), unique.end(), id) == unique.end()) unique.push_back(id);
  return unique;
}

}  // namespace tandem::rollout
