#include "train/pref_trainer.h"

#include <cmath>

#include "core/error.h"
#include "core/log.h"

namespace tandem::train {

namespace {

CollateOptions collate_options(const PrefTrainConfig& cfg, const model::ModelConfig& mc) {
  CollateOptions o;
  o.max_length = cfg.data.max_length;
  o.truncation = cfg.data.truncation == "keep_end" ? "keep_end" : "truncate";
  o.packing = cfg.data.packing;
  o.pad_token_id = mc.pad_token_id;
  return o;
}

// Mean of per-micro-batch (or per-eval-batch) statistics, weighted by examples.
struct StatsMean {
  std::map<std::string, double> sum;
  double loss = 0, weight = 0;
  int64_t tokens = 0;
  void add(const PrefResult& r) {
    const double w = double(r.n_examples);
    loss += w * r.loss;
    weight += w;
    tokens += r.n_tokens;
    for (const auto& [k, v] : r.stats) sum[k] += w * v;
  }
  Json json(const std::string& prefix) const {
    Json j = Json::object();
    for (const auto& [k, v] : sum) j[prefix + k] = weight > 0 ? v / weight : 0.0;
    return j;
  }
  double mean_loss() const { return weight > 0 ? loss / weight : 0.0; }
  // Sums over ranks (every rank has the same keys: the same objective), so means are global.
  void all_reduce(dist::Communicator& comm) {
    if (comm.size() == 1) return;
    std::vector<double> v = {loss, weight};
    for (const auto& kv : sum) v.push_back(kv.second);
    comm.all_reduce_sum(v.data(), int64_t(v.size()));
    loss = v[0], weight = v[1];
    size_t i = 2;
    for (auto& kv : sum) kv.second = v[i++];
  }
};

}  // namespace

size_t PreferenceAlgorithm::kl_partner(size_t i, size_t n, size_t chunk) {
  const size_t start = i / chunk * chunk, len = std::min(chunk, n - start);
  return start + (i - start + len - 1) % len;
}

PreferenceAlgorithm::PreferenceAlgorithm(const PrefTrainConfig& cfg, model::Decoder& policy, Reference ref,
                                         PrefSplit train, PrefSplit eval)
    : Algorithm(policy, cfg.model_name_or_path), cfg_(cfg), obj_(cfg.pref.objective()), ref_(std::move(ref)),
      train_(std::move(train)), eval_(std::move(eval)) {
  if (train_.size == 0) throw Error("train_file", "the training split has no examples");
  if (objective_needs_ref(obj_) && !ref_.model) throw Error("ref_model_name_or_path", "this objective needs a reference model");
  step_ = std::make_unique<PreferenceStep>(obj_, collate_options(cfg_, policy.config()), policy, ref_.model);
  order_ = train_.plan(0);
  if (cfg_.pref.precompute_ref_log_probs && ref_.model) {
    precompute(train_, 0);
    if (eval_.size > 0) precompute(eval_, int64_t(train_.size));
    step_->release_ref();
    const bool loaded = ref_.owned != nullptr;
    ref_ = Reference();  // the sums are all the run needs from it
    log_info(name(), ": reference log-probs precomputed for ", step_->cached(), " examples",
             loaded ? "; reference model released" : "");
  }
}

void PreferenceAlgorithm::add_example(const PrefSplit& split, size_t i, int64_t id_offset, Loaded& out) const {
  if (objective_is_unpaired(obj_)) {
    auto e = split.unpaired(i);
    if (!e) return;
    // A dropped partner leaves the example with its own completion as the mismatched one.
    auto p = split.unpaired(kl_partner(i, split.size, size_t(cfg_.per_device_train_batch_size)));
    out.partners.push_back(p ? std::move(p->completion) : e->completion);
    out.unpaired.push_back(std::move(*e));
  } else {
    auto e = split.pair(i);
    if (!e) return;
    out.pairs.push_back(std::move(*e));
  }
  out.ids.push_back(int64_t(i) + id_offset);
}

PrefResult PreferenceAlgorithm::run_loaded(const Loaded& l, double grad_scale, bool train) {
  if (objective_is_unpaired(obj_)) {
    std::vector<const std::vector<int32_t>*> kl;
    for (const auto& p : l.partners) kl.push_back(&p);
    return step_->run_unpaired(l.unpaired, kl, l.ids, grad_scale, train);
  }
  return step_->run_pairs(l.pairs, l.ids, grad_scale, train);
}

void PreferenceAlgorithm::precompute(const PrefSplit& split, int64_t id_offset) {
  const size_t bs = size_t(cfg_.per_device_eval_batch_size);
  for (size_t i = 0; i < split.size; i += bs) {
    Loaded l;
    for (size_t j = i; j < std::min(split.size, i + bs); ++j) add_example(split, j, id_offset, l);
    if (l.ids.empty()) continue;
    if (objective_is_unpaired(obj_)) {
      std::vector<const std::vector<int32_t>*> kl;
      for (const auto& p : l.partners) kl.push_back(&p);
      step_->cache_unpaired(l.unpaired, kl, l.ids);
    } else {
      step_->cache_pairs(l.pairs, l.ids);
    }
  }
}

int64_t PreferenceAlgorithm::steps_per_epoch() const {
  const int64_t per_step = cfg_.per_device_train_batch_size * cfg_.gradient_accumulation_steps * comm_.size();
  return (int64_t(order_.size()) + per_step - 1) / per_step;
}

size_t PreferenceAlgorithm::next_index() {
  if (position_ >= int64_t(order_.size())) {
    ++epoch_;
    position_ = 0;
    order_ = train_.plan(epoch_);
  }
  return order_[size_t(position_++)];
}

StepResult PreferenceAlgorithm::compute_gradients(int64_t) {
  const int64_t k = cfg_.gradient_accumulation_steps;
  StatsMean mean;
  const int64_t b = cfg_.per_device_train_batch_size, ranks = comm_.size();
  for (int64_t m = 0; m < k; ++m) {
    // Every rank walks the same order and keeps its slice [rank*b, (rank+1)*b) of the usable
    // examples of each global micro-batch of ranks*b.
    Loaded l, others;
    int64_t usable = 0, tries = 0;
    while (usable < b * ranks) {
      if (++tries > 2 * int64_t(order_.size()) + b * ranks)
        throw Error("train_file", "no usable example in a whole epoch (every line dropped or skipped?)");
      Loaded& dst = usable / b == comm_.rank() ? l : others;
      const size_t before = dst.ids.size();
      add_example(train_, next_index(), 0, dst);
      if (dst.ids.size() > before) ++usable;
    }
    // Each micro-batch's loss is a mean over its pairs; 1/(k ranks) makes the step the mean of
    // those means over micro-batches and ranks.
    if (m == k - 1) policy_.last_backward_next();
    mean.add(run_loaded(l, 1.0 / double(k * ranks), true));
  }
  policy_.gradients_complete();  // before the statistics' all-reduce
  const int64_t tokens = mean.tokens;
  mean.all_reduce(comm_);
  StepResult r;
  r.loss = mean.mean_loss() / double(ranks);  // the loop sums the ranks' shares
  r.tokens = tokens;
  r.metrics = mean.json("");
  return r;
}

Json PreferenceAlgorithm::evaluate() {
  StatsMean mean;
  const size_t bs = size_t(cfg_.per_device_eval_batch_size);
  for (size_t i = bs * size_t(comm_.rank()); i < eval_.size; i += bs * size_t(comm_.size())) {
    Loaded l;
    for (size_t j = i; j < std::min(eval_.size, i + bs); ++j) add_example(eval_, j, int64_t(train_.size), l);
    if (!l.ids.empty()) mean.add(run_loaded(l, 0.0, false));
  }
  mean.all_reduce(comm_);
  Json j = mean.json("eval_");
  j["eval_loss"] = mean.mean_loss();
  return j;
}

double PreferenceAlgorithm::epoch() const { return double(epoch_) + double(position_) / double(order_.size()); }

Json PreferenceAlgorithm::state() const { return {{"epoch", epoch_}, {"position", position_}}; }

void PreferenceAlgorithm::restore(const Json& s) {
  epoch_ = json_int(s, "epoch", "train.state", "trainer_state.json");
  position_ = json_int(s, "position", "train.state", "trainer_state.json");
  order_ = train_.plan(epoch_);
}

}  // namespace tandem::train
