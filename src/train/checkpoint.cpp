#include "train/checkpoint.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "core/file.h"
#include "model/safetensors.h"

namespace tandem::train {

namespace fs = std::filesystem;

Json TrainerState::to_json() const {
  return {{"step", step}, {"algorithm", algorithm}, {"tokens_seen", tokens_seen}, {"elapsed_s", elapsed_s}};
}

TrainerState TrainerState::from_json(const Json& j, const std::string& origin) {
  TrainerState s;
  s.step = json_int(j, "step", "checkpoint.state", origin);
  if (!j.contains("algorithm") || !j["algorithm"].is_object())
    throw Error("checkpoint.state.algorithm", cat("expected an object (the trainer's data position), got none (", origin, ")"));
  s.algorithm = j["algorithm"];
  s.tokens_seen = json_int_or(j, "tokens_seen", 0, "checkpoint.state", origin);
  s.elapsed_s = json_number_or(j, "elapsed_s", 0, "checkpoint.state", origin);
  return s;
}

std::vector<std::string> list_checkpoints(const std::string& output_dir) {
  std::vector<std::pair<int64_t, std::string>> found;
  if (!is_directory(output_dir)) return {};
  for (const auto& e : fs::directory_iterator(output_dir)) {
    const std::string name = e.path().filename().string();
    if (!e.is_directory() || name.rfind("checkpoint-", 0) != 0) continue;
    const std::string num = name.substr(11);
    if (num.empty() || num.find_first_not_of("0123456789") != std::string::npos) continue;  // skips .tmp folders
    if (!file_exists(join_path(e.path().string(), "trainer_state.json"))) continue;
    found.emplace_back(std::stoll(num), e.path().string());
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& f : found) out.push_back(f.second);
  return out;
}

std::string save_checkpoint(const std::string& output_dir, const model::Decoder& model, const AdamW* adam,
                            const TrainerState& state, const Json& config, int64_t keep_last) {
  const std::string final_dir = join_path(output_dir, cat("checkpoint-", state.step));
  const std::string tmp = final_dir + ".tmp";
  std::error_code ec;
  fs::remove_all(tmp, ec);
  make_directories(tmp);
  model.save(tmp, DType::kF32);
  if (adam) {
    AdamW& a = const_cast<AdamW&>(*adam);  // the moments are read, not changed
    model::write_safetensors(join_path(tmp, "optimizer.safetensors"),
                             {{"adamw.m", a.m(), DType::kF32}, {"adamw.v", a.v(), DType::kF32}},
                             {{"adamw.steps", std::to_string(a.steps())}});
  }
  Json st = state.to_json();
  st["config"] = config;
  write_file_atomic(join_path(tmp, "trainer_state.json"), st.dump(2) + "\n");
  fs::remove_all(final_dir, ec);
  fs::rename(tmp, final_dir, ec);
  if (ec) throw Error("train.checkpoint", cat("cannot rename '", tmp, "' to '", final_dir, "': ", ec.message()));
  if (keep_last > 0) {
    auto all = list_checkpoints(output_dir);
    for (size_t i = 0; i + size_t(keep_last) < all.size(); ++i) fs::remove_all(all[i], ec);
  }
  return final_dir;
}

std::string resolve_checkpoint(const std::string& output_dir, const std::string& spec) {
  if (spec.empty()) return "";
  if (spec == "latest") {
    auto all = list_checkpoints(output_dir);
    return all.empty() ? "" : all.back();
  }
  if (!file_exists(join_path(spec, "trainer_state.json")))
    throw Error("resume_from_checkpoint", cat("'", spec, "' is not a checkpoint folder (no trainer_state.json)"));
  return spec;
}

TrainerState load_checkpoint(const std::string& dir, model::Decoder& model, AdamW* adam) {
  model::load_weights(model.weights(), dir);
  if (adam) {
    model::SafetensorsFile f(join_path(dir, "optimizer.safetensors"));
    for (auto [name, dst] : {std::pair<const char*, Tensor*>{"adamw.m", &adam->m()}, {"adamw.v", &adam->v()}}) {
      const auto* e = f.find(name);
      if (!e || e->dtype != DType::kF32 || e->shape != dst->shape())
        throw Error("checkpoint.optimizer", cat(name, " missing or of the wrong shape in ", f.path()));
      std::memcpy(dst->raw(), f.view(*e).raw(), dst->nbytes());
    }
    auto it = f.metadata().find("adamw.steps");
    if (it == f.metadata().end()) throw Error("checkpoint.optimizer", cat("adamw.steps missing in ", f.path()));
    adam->set_steps(std::stoll(it->second));
  }
  const std::string sp = join_path(dir, "trainer_state.json");
  return TrainerState::from_json(read_json_file(sp, "checkpoint.state"), sp);
}

}  // namespace tandem::train
