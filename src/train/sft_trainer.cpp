#include "train/sft_trainer.h"

#include <algorithm>
#include <cmath>

#include "core/log.h"
#include "core/threads.h"
#include "data/collate.h"
#include "data/dataset.h"
#include "data/micro_batch.h"
#include "data/stream.h"
#include "model/decoder.h"
#include "train/trainer.h"

namespace tandem::train {

namespace {

// SFT and DFT over the trained tokens of the whole accumulated step.
class SftAlgorithm final : public Algorithm {
 public:
  SftAlgorithm(model::Decoder& policy, const SftConfig& cfg)
      : Algorithm(policy, cfg.model_name_or_path), cfg_(cfg),
        train_(cfg.data, cfg.model_name_or_path, data::Split::kTrain, uint64_t(cfg.seed)),
        stream_(train_, uint64_t(cfg.seed), num_threads()) {
    if (train_.empty()) throw Error("train_file", "the training data holds no examples");
    auto eval = std::make_unique<data::Dataset>(cfg.data, cfg.model_name_or_path, data::Split::kEval, uint64_t(cfg.seed));
    if (!eval->empty()) eval_ = std::move(eval);
    log_info("sft: ", train_.size(), " training examples", eval_ ? cat(", ", eval_->size(), " held out") : "");
  }
  std::string name() const override { return "sft"; }
  int64_t steps_per_epoch() const override {
    if (cfg_.data.max_tokens_per_batch > 0) return 0;  // batches by token budget: no fixed count
    const int64_t per_step = cfg_.per_device_train_batch_size * cfg_.gradient_accumulation_steps * comm_.size();
    return (int64_t(train_.epoch_size()) + per_step - 1) / per_step;
  }
  double epoch() const override { return stream_.fractional_epoch(); }
  Json state() const override { return stream_.state(); }
  void restore(const Json& s) override { stream_.restore(s); }
  bool has_eval() const override { return eval_ != nullptr; }

  StepResult compute_gradients(int64_t) override {
    std::vector<data::Collated> mbs;
    int64_t n_trained = 0;
    StepResult r;
    const data::DataStats before = stream_.stats();
    for (int64_t m = 0; m < cfg_.gradient_accumulation_steps; ++m) {
      mbs.push_back(data::next_sft_micro_batch(stream_, cfg_.data, cfg_.per_device_train_batch_size, comm_.rank(),
                                               comm_.size()));
      n_trained += mbs.back().n_trained;
      r.tokens += mbs.back().tokens();
    }
    // The denominator counts every micro-batch of the step on every rank before any backward, so k
    // micro-batches or N ranks give the update of one batch k (or N) times larger.
    double global_trained = double(n_trained);
    comm_.all_reduce_sum(&global_trained, 1);
    const double inv = global_trained > 0 ? 1.0 / global_trained : 0.0;
    for (auto& mb : mbs) {
      if (&mb == &mbs.back()) policy_.last_backward_next();
      const int64_t N = mb.batch.N();
      Tensor dl = Tensor::empty({N});
      model::ForwardOptions fo{.recompute = cfg_.recompute};
      if (cfg_.loss_type == "nll") {  // L = -(1/n) sum m logp: weights known before the forward
        for (int64_t k = 0; k < N; ++k) dl.f32()[k] = float(-mb.mask[size_t(k)] * inv);
        const auto out = policy_.forward_backward(mb.batch, dl, Tensor(), fo);
        for (int64_t k = 0; k < N; ++k) r.loss -= double(mb.mask[size_t(k)]) * out.logp.f32()[k] * inv;
      } else {  // DFT: L = -(1/n) sum m sg(p) logp, the weight needs p from the forward
        fo.for_backward = true;
        const auto out = policy_.forward(mb.batch, fo);
        for (int64_t k = 0; k < N; ++k) {
          const double p = std::exp(double(out.logp.f32()[k]));
          dl.f32()[k] = float(-mb.mask[size_t(k)] * p * inv);
          r.loss -= double(mb.mask[size_t(k)]) * p * out.logp.f32()[k] * inv;
        }
        policy_.backward(dl, Tensor(), Tensor());
      }
    }
    r.metrics["trained_tokens"] = int64_t(global_trained);
    // What the data did to this step's examples, never silent: truncations, drops, skipped lines.
    const data::DataStats& after = stream_.stats();
    r.metrics["data/truncated"] = after.truncated;
    r.metrics["data/dropped"] = after.dropped;
    r.metrics["data/skipped"] = after.skipped;
    if (after.skipped > before.skipped && comm_.rank() == 0)
      for (size_t i = before.skipped_lines.size(); i < after.skipped_lines.size(); ++i)
        log_warn("sft: skipped bad line ", after.skipped_lines[i]);
    return r;
  }

  Json evaluate() override {
    double nll = 0;
    int64_t n = 0;
    const size_t bs = size_t(cfg_.per_device_eval_batch_size);
    data::DataStats stats;
    for (size_t i = bs * size_t(comm_.rank()); i < eval_->size(); i += bs * size_t(comm_.size())) {
      std::vector<data::TokenSeq> seqs;
      for (size_t j = i; j < std::min(eval_->size(), i + bs); ++j)
        if (auto e = eval_->get<data::SftExample>(j, stats)) seqs.push_back(std::move(e->seq));
      if (seqs.empty()) continue;
      const data::Collated mb = data::collate(seqs, cfg_.data.packing, cfg_.data.max_length);
      const auto out = policy_.forward(mb.batch, {});
      for (int64_t k = 0; k < mb.batch.N(); ++k) nll -= double(mb.mask[size_t(k)]) * out.logp.f32()[k];
      n += mb.n_trained;
    }
    double sums[2] = {nll, double(n)};
    comm_.all_reduce_sum(sums, 2);
    const double loss = sums[1] > 0 ? sums[0] / sums[1] : 0.0;
    return {{"eval_loss", loss}, {"eval_perplexity", std::exp(loss)}};
  }

 private:
  const SftConfig& cfg_;
  data::Dataset train_;
  data::SftStream stream_;
  std::unique_ptr<data::Dataset> eval_;
};

}  // namespace

int run_sft(const SftConfig& cfg, const Json& resolved, const std::string& resolved_yaml) {
  cfg.validate();
  auto policy = model::Decoder::load(cfg.model_name_or_path);
  apply_compute_dtype(cfg, *policy);  // before the data is read: no bf16 here fails at once
  SftAlgorithm algo(*policy, cfg);
  return run_training(cfg, resolved, resolved_yaml, *policy, algo);
}

}  // namespace tandem::train
