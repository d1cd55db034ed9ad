#include "train/sft_trainer.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>

#include "core/file.h"
#include "core/log.h"
#include "data/tokenized_jsonl.h"
#include "model/decoder.h"
#include "train/checkpoint.h"
#include "train/config_fields.h"
#include "train/grad_clip.h"
#include "train/optimizer.h"
#include "train/run_log.h"
#include "train/schedule.h"

namespace tandem::train {

namespace {

std::atomic<int> g_stop_signal{0};
void on_signal(int sig) { g_stop_signal = sig; }

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

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
      : file_(file), seed_(seed), epoch_(epoch), pos_(position), order_(data::epoch_order(file.size(), seed, epoch)) {}
  data::TokenizedExample next() {
    if (pos_ >= int64_t(order_.size())) {
      ++epoch_;
      pos_ = 0;
      order_ = data::epoch_order(file_.size(), seed_, epoch_);
    }
    return file_.get(order_[size_t(pos_++)]);
  }
  int64_t epoch() const { return epoch_; }
  int64_t position() const { return pos_; }
  double fractional_epoch() const { return double(epoch_) + double(pos_) / double(order_.size()); }

 private:
  data::TokenizedJsonl& file_;
  uint64_t seed_;
  int64_t epoch_, pos_;
  std::vector<uint32_t> order_;
};

DecayRanges decay_ranges(const model::ParamSet& p) {
  DecayRanges d;
  const float* base = p.flat.f32();
  for (const auto& np : p.named)
    if (np.is_matrix) {
      const int64_t b = np.tensor.f32() - base;
      d.ranges.emplace_back(b, b + np.tensor.numel());
    }
  return d;
}

double evaluate(model::Decoder& dec, const SftConfig& cfg) {
  data::TokenizedJsonl f(cfg.eval_file);
  double nll = 0;
  int64_t n = 0;
  for (size_t i = 0; i < f.size(); i += size_t(cfg.per_device_train_batch_size)) {
    std::vector<data::TokenizedExample> exs;
    for (size_t j = i; j < std::min(f.size(), i + size_t(cfg.per_device_train_batch_size)); ++j) exs.push_back(f.get(j));
    const MicroBatch mb = make_micro_batch(exs, cfg.packing, cfg.max_length);
    const auto out = dec.forward(mb.batch, {});
    for (int64_t k = 0; k < mb.batch.N(); ++k) nll -= double(mb.trained[k]) * out.logp.f32()[k];
    n += mb.n_trained;
  }
  return n > 0 ? nll / double(n) : 0.0;
}

void copy_tokenizer_files(const std::string& from, const std::string& to, const model::ModelConfig& mc) {
  for (const char* name : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja",
                           "generation_config.json", "vocab.json", "merges.txt", "tokenizer.model"}) {
    const std::string src = join_path(from, name);
    if (file_exists(src)) write_file_atomic(join_path(to, name), read_file(src));
  }
  const std::string gen = join_path(to, "generation_config.json");
  if (!file_exists(gen)) {
    Json g = {{"_from_model_config", true}};
    if (mc.bos_token_id >= 0) g["bos_token_id"] = mc.bos_token_id;
    if (!mc.eos_token_ids.empty()) g["eos_token_id"] = mc.eos_token_ids.size() == 1 ? Json(mc.eos_token_ids[0]) : Json(mc.eos_token_ids);
    write_file_atomic(gen, g.dump(2) + "\n");
  }
}

}  // namespace

int run_sft(const SftConfig& cfg, const Json& resolved) {
  cfg.validate();
  make_directories(cfg.output_dir);
  {
    SftConfig copy = cfg;
    auto fields = fields_of(copy);
    write_file_atomic(join_path(cfg.output_dir, "config.yaml"), fields_to_yaml(fields));
  }
  auto dec = model::Decoder::load(cfg.model_name_or_path);
  data::TokenizedJsonl train_file(cfg.train_file);
  const int64_t per_step = cfg.per_device_train_batch_size * cfg.gradient_accumulation_steps;
  const int64_t steps_per_epoch = (int64_t(train_file.size()) + per_step - 1) / per_step;
  const int64_t max_steps = cfg.max_steps > 0 ? cfg.max_steps : int64_t(std::ceil(cfg.num_train_epochs * double(steps_per_epoch)));
  ScheduleConfig sched{parse_schedule_type(cfg.lr_scheduler_type, "lr_scheduler_type"), cfg.learning_rate,
                       cfg.warmup_steps > 0 ? cfg.warmup_steps : int64_t(std::ceil(cfg.warmup_ratio * double(max_steps))),
                       max_steps, cfg.min_lr_ratio};
  const AdamWConfig adam_cfg{cfg.learning_rate, cfg.adam_beta1, cfg.adam_beta2, cfg.adam_epsilon, cfg.weight_decay};
  std::unique_ptr<AdamW> adam;
  if (cfg.optim == "adamw") adam = std::make_unique<AdamW>(dec->weights().num_params());

  TrainerState state;
  const std::string resume = resolve_checkpoint(cfg.output_dir, cfg.resume_from_checkpoint);
  std::string last_checkpoint = resume;
  if (!resume.empty()) {
    state = load_checkpoint(resume, *dec, adam.get());
    log_info("sft: resumed from ", resume, " at step ", state.step);
  } else if (cfg.resume_from_checkpoint == "latest") {
    log_info("sft: no checkpoint in ", cfg.output_dir, " yet; starting from step 0");
  }
  const DecayRanges decay = decay_ranges(dec->weights());
  DataStream stream(train_file, uint64_t(cfg.seed), state.epoch, state.position);
  RunLog log(cfg.output_dir, state.step, max_steps);
  log_info("sft: ", train_file.size(), " examples, ", max_steps, " steps of ", per_step, " examples (",
           cfg.gradient_accumulation_steps, " micro-batches), model ", dec->config().architecture, " with ",
           dec->weights().num_params(), " parameters");

  g_stop_signal = 0;
  auto old_int = std::signal(SIGINT, on_signal);
  auto old_term = std::signal(SIGTERM, on_signal);
  const double t_start = now() - state.elapsed_s;
  int exit_code = 0;
  while (state.step < max_steps) {
    const double t0 = now();
    const double lr = lr_at(sched, state.step);
    std::vector<MicroBatch> mbs;
    int64_t n_trained = 0, n_tokens = 0;
    for (int64_t m = 0; m < cfg.gradient_accumulation_steps; ++m) {
      std::vector<data::TokenizedExample> exs;
      for (int64_t i = 0; i < cfg.per_device_train_batch_size; ++i) exs.push_back(stream.next());
      mbs.push_back(make_micro_batch(exs, cfg.packing, cfg.max_length));
      n_trained += mbs.back().n_trained;
      for (int32_t s : mbs.back().batch.segments) n_tokens += s >= 0;
    }
    dec->zero_grad();
    double loss = 0;
    const double inv = n_trained > 0 ? 1.0 / double(n_trained) : 0.0;
    for (auto& mb : mbs) {
      const int64_t N = mb.batch.N();
      Tensor dl = Tensor::empty({N});
      model::ForwardOptions fo{.recompute = cfg.recompute};
      if (cfg.loss_type == "nll") {  // L = -(1/n) sum m logp: weights known before the forward
        for (int64_t k = 0; k < N; ++k) dl.f32()[k] = float(-mb.trained[k] * inv);
        const auto out = dec->forward_backward(mb.batch, dl, Tensor(), fo);
        for (int64_t k = 0; k < N; ++k) loss -= double(mb.trained[k]) * out.logp.f32()[k] * inv;
      } else {  // DFT: L = -(1/n) sum m sg(p) logp, the weight needs p from the forward
        fo.for_backward = true;
        const auto out = dec->forward(mb.batch, fo);
        for (int64_t k = 0; k < N; ++k) {
          const double p = std::exp(double(out.logp.f32()[k]));
          dl.f32()[k] = float(-mb.trained[k] * p * inv);
          loss -= double(mb.trained[k]) * p * out.logp.f32()[k] * inv;
        }
        dec->backward(dl, Tensor(), Tensor());
      }
    }
    const double grad_norm = clip_grad_norm(dec->grads().flat, cfg.max_grad_norm);
    if (!std::isfinite(loss) || !std::isfinite(grad_norm))
      throw Error("train.sft", cat("loss or gradient is not finite at step ", state.step + 1, " (loss ", loss,
                                   ", grad_norm ", grad_norm, "); nothing was saved from this step. Last good checkpoint: ",
                                   last_checkpoint.empty() ? "none" : last_checkpoint,
                                   ". Hint: lower learning_rate or set max_grad_norm."));
    if (adam) adam->step(dec->weights().flat, dec->grads().flat, decay, adam_cfg, lr);
    else sgd_step(dec->weights().flat, dec->grads().flat, decay, cfg.weight_decay, lr);
    ++state.step;
    state.epoch = stream.epoch();
    state.position = stream.position();
    state.tokens_seen += n_tokens;
    const double dt = now() - t0;
    state.elapsed_s = now() - t_start;
    const double tps = double(n_tokens) / std::max(dt, 1e-9);
    if (state.step % cfg.logging_steps == 0 || state.step == max_steps) {
      Json m = {{"step", state.step}, {"epoch", stream.fractional_epoch()}, {"loss", loss}, {"lr", lr},
                {"grad_norm", grad_norm}, {"tokens_per_s", tps}, {"elapsed", state.elapsed_s},
                {"trained_tokens", n_trained}};
      const bool eval_now = !cfg.eval_file.empty() &&
                            ((cfg.eval_steps > 0 && state.step % cfg.eval_steps == 0) || state.step == max_steps);
      if (eval_now) {
        const double el = evaluate(*dec, cfg);
        m["eval_loss"] = el;
        m["eval_perplexity"] = std::exp(el);
      }
      log.log(m);
      log.progress(state.step, loss, tps, dt * double(max_steps - state.step));
    }
    // TANDEM_DEBUG_KILL_AT_STEP=N: SIGKILL this process right after step N is logged, so the
    // resume test interrupts at a known point (not a race with the test's clock).
    static const int64_t kill_at = [] {
      const char* e = std::getenv("TANDEM_DEBUG_KILL_AT_STEP");
      return e ? std::atoll(e) : int64_t(-1);
    }();
    if (state.step == kill_at) std::raise(SIGKILL);
    const bool stop = g_stop_signal != 0;
    if ((cfg.save_steps > 0 && state.step % cfg.save_steps == 0) || stop) {
      last_checkpoint = save_checkpoint(cfg.output_dir, *dec, adam.get(), state, resolved, cfg.save_total_limit);
    }
    if (stop) {
      log.message(cat("sft: stopped by signal ", int(g_stop_signal), " after step ", state.step, "; checkpoint ",
                      last_checkpoint, ". Resume with resume_from_checkpoint=latest"));
      exit_code = 0;
      break;
    }
  }
  std::signal(SIGINT, old_int);
  std::signal(SIGTERM, old_term);
  if (state.step >= max_steps) {
    if (cfg.save_steps == 0 || state.step % cfg.save_steps != 0)
      save_checkpoint(cfg.output_dir, *dec, adam.get(), state, resolved, cfg.save_total_limit);
    dec->save(cfg.output_dir, cfg.save_dtype == "bf16" ? DType::kBF16 : DType::kF32);
    copy_tokenizer_files(cfg.model_name_or_path, cfg.output_dir, dec->config());
    log.message(cat("sft: done, ", state.step, " steps in ", int(state.elapsed_s), " s; model written to ", cfg.output_dir));
  }
  return exit_code;
}

}  // namespace tandem::train
