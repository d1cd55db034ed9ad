#include "train/sft_trainer.h"

#include <algorithm>
#include <cmath>

#include "core/log.h"
#include "data/tokenized_jsonl.h"
#include "model/decoder.h"
#include "train/trainer.h"

namespace tandem::train {

namespace {

// A micro-batch in the engine's layout with the per-token loss mask aligned to it.
struct MicroBatch {
  model::TokenBatch batch;
  std::vector<float> trained;  // [B*T]
  int64_t n_trained = 0;
};

MicroBatch make_micro_batch(const std::vector<data::TokenizedExample>& exs, bool packing, int64_t max_length) {
  MicroBatch mb;
  std::vector<std::vector<std::vector<int32_t>>> rows;
  std::vector<std::vector<uint8_t>> row_masks;
  std::vector<int64_t> fill;
  for (const auto& ex : exs) {
    const size_t len = std::min<size_t>(ex.ids.size(), size_t(max_length));
    std::vector<int32_t> ids(ex.ids.begin(), ex.ids.begin() + len);
    std::vector<uint8_t> m(ex.trained.begin(), ex.trained.begin() + len);
    size_t r = rows.size();
    if (packing)  // first fit, in order: deterministic
      for (size_t i = 0; i < rows.size(); ++i)
        if (fill[i] + int64_t(len) <= max_length) {
          r = i;
          break;
        }
    if (r == rows.size()) rows.emplace_back(), row_masks.emplace_back(), fill.push_back(0);
    rows[r].push_back(std::move(ids));
    row_masks[r].insert(row_masks[r].end(), m.begin(), m.end());
    fill[r] += int64_t(len);
  }
  mb.batch = model::TokenBatch::packed(rows);
  mb.trained.assign(size_t(mb.batch.N()), 0.f);
  for (size_t r = 0; r < rows.size(); ++r)
    for (size_t t = 0; t < row_masks[r].size(); ++t)
      if (row_masks[r][t]) {
        mb.trained[r * size_t(mb.batch.T) + t] = 1.f;
        ++mb.n_trained;
      }
  return mb;
}

// Walks the training file in a seeded order, epoch after epoch; (epoch, position) is the state.
class DataStream {
 public:
  DataStream(data::TokenizedJsonl& file, uint64_t seed, int64_t epoch, int64_t position)
      : file_(&file), seed_(seed), epoch_(epoch), pos_(position), order_(data::epoch_order(file.size(), seed, epoch)) {}
  data::TokenizedExample next() { return file_->get(advance()); }
  // Moves past the next example without reading it (another rank's share).
  void skip() { advance(); }
  int64_t epoch() const { return epoch_; }
  int64_t position() const { return pos_; }
  double fractional_epoch() const { return double(epoch_) + double(pos_) / double(order_.size()); }

 private:
  size_t advance() {
    if (pos_ >= int64_t(order_.size())) {
      ++epoch_;
      pos_ = 0;
      order_ = data::epoch_order(file_->size(), seed_, epoch_);
    }
    return order_[size_t(pos_++)];
  }
  data::TokenizedJsonl* file_;
  uint64_t seed_;
  int64_t epoch_, pos_;
  std::vector<uint32_t> order_;
};

// SFT and DFT over the trained tokens of the whole accumulated step.
class SftAlgorithm final : public Algorithm {
 public:
  SftAlgorithm(model::Decoder& policy, const SftConfig& cfg)
      : Algorithm(policy, cfg.model_name_or_path), cfg_(cfg), train_(cfg.data.train_file),
        stream_(train_, uint64_t(cfg.seed), 0, 0) {
    if (!cfg.data.eval_file.empty()) eval_ = std::make_unique<data::TokenizedJsonl>(cfg.data.eval_file);
    log_info("sft: ", train_.size(), " training examples from ", cfg.data.train_file);
  }
  std::string name() const override { return "sft"; }
  int64_t steps_per_epoch() const override {
    const int64_t per_step = cfg_.per_device_train_batch_size * cfg_.gradient_accumulation_steps * comm_.size();
    return (int64_t(train_.size()) + per_step - 1) / per_step;
  }
  double epoch() const override { return stream_.fractional_epoch(); }
  Json state() const override { return {{"epoch", stream_.epoch()}, {"position", stream_.position()}}; }
  void restore(const Json& s) override {
    stream_ = DataStream(train_, uint64_t(cfg_.seed), json_int(s, "epoch", "checkpoint.state.algorithm", "sft"),
                         json_int(s, "position", "checkpoint.state.algorithm", "sft"));
  }
  bool has_eval() const override { return eval_ != nullptr; }

  StepResult compute_gradients(int64_t) override {
    std::vector<MicroBatch> mbs;
    int64_t n_trained = 0;
    StepResult r;
    // Every rank walks the same global order and keeps its slice of each micro-batch.
    const int64_t b = cfg_.per_device_train_batch_size;
    for (int64_t m = 0; m < cfg_.gradient_accumulation_steps; ++m) {
      std::vector<data::TokenizedExample> exs;
      for (int64_t i = 0; i < b * comm_.size(); ++i) {
        if (i / b == comm_.rank()) exs.push_back(stream_.next());
        else stream_.skip();
      }
      mbs.push_back(make_micro_batch(exs, cfg_.data.packing, cfg_.data.max_length));
      n_trained += mbs.back().n_trained;
      for (int32_t s : mbs.back().batch.segments) r.tokens += s >= 0;
    }
    // The denominator counts every micro-batch of the step on every rank before any backward, so k
    // micro-batches or N ranks give the update of one batch k (or N) times larger.
    double global_trained = double(n_trained);
    comm_.all_reduce_sum(&global_trained, 1);
    const double inv = global_trained > 0 ? 1.0 / global_trained : 0.0;
    for (auto& mb : mbs) {
      const int64_t N = mb.batch.N();
      Tensor dl = Tensor::empty({N});
      model::ForwardOptions fo{.recompute = cfg_.recompute};
      if (cfg_.loss_type == "nll") {  // L = -(1/n) sum m logp: weights known before the forward
        for (int64_t k = 0; k < N; ++k) dl.f32()[k] = float(-mb.trained[k] * inv);
        const auto out = policy_.forward_backward(mb.batch, dl, Tensor(), fo);
        for (int64_t k = 0; k < N; ++k) r.loss -= double(mb.trained[k]) * out.logp.f32()[k] * inv;
      } else {  // DFT: L = -(1/n) sum m sg(p) logp, the weight needs p from the forward
        fo.for_backward = true;
        const auto out = policy_.forward(mb.batch, fo);
        for (int64_t k = 0; k < N; ++k) {
          const double p = std::exp(double(out.logp.f32()[k]));
          dl.f32()[k] = float(-mb.trained[k] * p * inv);
          r.loss -= double(mb.trained[k]) * p * out.logp.f32()[k] * inv;
        }
        policy_.backward(dl, Tensor(), Tensor());
      }
    }
    r.metrics["trained_tokens"] = int64_t(global_trained);
    return r;
  }

  Json evaluate() override {
    double nll = 0;
    int64_t n = 0;
    const size_t bs = size_t(cfg_.per_device_eval_batch_size);
    for (size_t i = bs * size_t(comm_.rank()); i < eval_->size(); i += bs * size_t(comm_.size())) {
      std::vector<data::TokenizedExample> exs;
      for (size_t j = i; j < std::min(eval_->size(), i + bs); ++j) exs.push_back(eval_->get(j));
      const MicroBatch mb = make_micro_batch(exs, cfg_.data.packing, cfg_.data.max_length);
      const auto out = policy_.forward(mb.batch, {});
      for (int64_t k = 0; k < mb.batch.N(); ++k) nll -= double(mb.trained[k]) * out.logp.f32()[k];
      n += mb.n_trained;
    }
    double sums[2] = {nll, double(n)};
    comm_.all_reduce_sum(sums, 2);
    const double loss = sums[1] > 0 ? sums[0] / sums[1] : 0.0;
    return {{"eval_loss", loss}, {"eval_perplexity", std::exp(loss)}};
  }

 private:
  const SftConfig& cfg_;
  data::TokenizedJsonl train_;
  std::unique_ptr<data::TokenizedJsonl> eval_;
  DataStream stream_;
};

}  // namespace

int run_sft(const SftConfig& cfg, const Json& resolved, const std::string& resolved_yaml) {
  cfg.validate();
  auto policy = model::Decoder::load(cfg.model_name_or_path);
  SftAlgorithm algo(*policy, cfg);
  return run_training(cfg, resolved, resolved_yaml, *policy, algo);
}

}  // namespace tandem::train
