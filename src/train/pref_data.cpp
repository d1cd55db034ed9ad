// The preference trainers' view of the data layer: a PrefSplit (pref_trainer.h) over each split of
// a data::Dataset, so the trainer reads examples by index (reference sums are cached per index and
// kto's mismatched partners are chosen by index) in the dataset's seeded epoch plan.
#include "data/dataset.h"
#include "train/pref_trainer.h"

namespace tandem::train {

PrefSplits load_preference_splits(const TrainConfig& cfg, bool unpaired) {
  PrefSplits out;
  for (auto split : {data::Split::kTrain, data::Split::kEval}) {
    auto ds = std::make_shared<const data::Dataset>(cfg.data, cfg.model_name_or_path, split, uint64_t(cfg.seed));
    PrefSplit& s = split == data::Split::kTrain ? out.train : out.eval;
    s.size = ds->size();
    s.plan = [ds](int64_t epoch) { return ds->epoch_plan(epoch); };
    if (unpaired) s.unpaired = [ds](size_t i) { return ds->unpaired(i); };
    else s.pair = [ds](size_t i) { return ds->preference(i); };
  }
  return out;
}

}  // namespace tandem::train
