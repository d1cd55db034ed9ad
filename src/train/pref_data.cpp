// The preference trainers' data: a PrefSplit (pref_trainer.h) per split, read by example index.
// INTERIM: pre-tokenized JSONL only (prompt_input_ids + chosen_input_ids + rejected_input_ids
// [+ margin]; prompt_input_ids + completion_input_ids + label), train_file and eval_file, held in
// memory, order data::epoch_order. It is replaced by a view of data::Dataset (every shape of
// formats.md, chat templates, datasets mixes, eval_fraction, truncation modes) once the data
// layer's Dataset lands; the trainer only sees PrefSplit, so nothing else changes.
#include <memory>

#include "data/input_ids.h"
#include "data/tokenized_jsonl.h"
#include "train/pref_trainer.h"

namespace tandem::train {

namespace {

std::vector<int32_t> ids_of(const Json& line, const char* key, const std::string& origin) {
  if (!line.is_object() || !line.contains(key))
    throw Error("data", cat(origin, ": ", key, ": missing (pre-tokenized preference data)"));
  return data::parse_input_ids(Json{{"input_ids", line[key]}}, origin + " " + key, -1, 0, "data");
}

struct Examples {
  std::vector<data::PreferenceExample> pairs;
  std::vector<data::UnpairedExample> unpaired;
};

std::shared_ptr<const Examples> read_examples(const std::string& path, bool unpaired) {
  auto ex = std::make_shared<Examples>();
  if (path.empty()) return ex;
  data::for_each_jsonl_line(path, "data", [&](const Json& j, const std::string& origin, const std::string&) {
    const auto colon = origin.rfind(':');
    const data::Origin o{path, std::stoll(origin.substr(colon + 1))};
    if (unpaired) {
      if (!j.contains("label") || !j["label"].is_boolean()) throw Error("data", cat(origin, ": label: expected true or false"));
      ex->unpaired.push_back({ids_of(j, "prompt_input_ids", origin), ids_of(j, "completion_input_ids", origin), j["label"].get<bool>(), o});
    } else {
      double margin = 0;
      if (j.contains("margin")) {
        if (!j["margin"].is_number()) throw Error("data", cat(origin, ": margin: expected a number"));
        margin = j["margin"].get<double>();
      }
      ex->pairs.push_back({ids_of(j, "prompt_input_ids", origin), ids_of(j, "chosen_input_ids", origin),
                           ids_of(j, "rejected_input_ids", origin), margin, o});
    }
  });
  return ex;
}

PrefSplit split_of(std::shared_ptr<const Examples> ex, bool unpaired, uint64_t seed) {
  PrefSplit s;
  s.size = unpaired ? ex->unpaired.size() : ex->pairs.size();
  const size_t n = s.size;
  s.plan = [n, seed](int64_t epoch) { return data::epoch_order(n, seed, epoch); };
  if (unpaired) s.unpaired = [ex](size_t i) { return std::optional<data::UnpairedExample>(ex->unpaired[i]); };
  else s.pair = [ex](size_t i) { return std::optional<data::PreferenceExample>(ex->pairs[i]); };
  return s;
}

}  // namespace

PrefSplits load_preference_splits(const TrainConfig& cfg, bool unpaired) {
  if (!cfg.data.datasets.empty() || cfg.data.eval_fraction > 0)
    throw Error("datasets", "not yet supported by the preference trainers (interim reader: train_file and eval_file)");
  PrefSplits out;
  out.train = split_of(read_examples(cfg.data.train_file, unpaired), unpaired, uint64_t(cfg.seed));
  out.eval = split_of(read_examples(cfg.data.eval_file, unpaired), unpaired, uint64_t(cfg.seed));
  return out;
}

}  // namespace tandem::train
