#include "train/trainer.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>

#include <sys/resource.h>

#include "core/file.h"
#include "core/log.h"
#include "model/lora_peft.h"
#include "train/checkpoint.h"
#include "train/param_update.h"
#include "train/run_log.h"
#include "train/schedule.h"

namespace tandem::train {

namespace {

std::atomic<int> g_stop_signal{0};
void on_signal(int sig) { g_stop_signal = sig; }

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double peak_rss_mb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_maxrss) / 1024.0;  // KiB on Linux
}

// Over the trainable buffer: the base weights, or the adapters under LoRA.
DecayRanges decay_ranges(model::Decoder& policy) {
  DecayRanges d;
  const float* base = policy.trainable_params().f32();
  for (const auto& np : policy.trainable_named())
    if (np.is_matrix) {
      const int64_t b = np.tensor.f32() - base;
      d.ranges.emplace_back(b, b + np.tensor.numel());
    }
  return d;
}

// Restores SIGINT/SIGTERM however the loop ends (an Error thrown mid-run included).
class SignalScope {
 public:
  SignalScope() {
    g_stop_signal = 0;
    old_int_ = std::signal(SIGINT, on_signal);
    old_term_ = std::signal(SIGTERM, on_signal);
  }
  ~SignalScope() {
    std::signal(SIGINT, old_int_);
    std::signal(SIGTERM, old_term_);
  }

 private:
  void (*old_int_)(int);
  void (*old_term_)(int);
};

// TANDEM_DEBUG_KILL_AT_STEP=N: SIGKILL the process right after step N is logged, so resume tests
// interrupt at a known point instead of racing the test's clock; TANDEM_DEBUG_KILL_RANK=R limits
// it to one rank of a data-parallel job (the dead-rank test).
int64_t debug_env_int(const char* name) {
  const char* e = std::getenv(name);
  return e ? std::atoll(e) : int64_t(-1);
}

}  // namespace

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
    if (!mc.eos_token_ids.empty())
      g["eos_token_id"] = mc.eos_token_ids.size() == 1 ? Json(mc.eos_token_ids[0]) : Json(mc.eos_token_ids);
    write_file_atomic(gen, g.dump(2) + "\n");
  }
}

void Algorithm::save_model(const std::string& dir, DType dtype) {
  if (policy_.adapters()) model::save_peft_adapter(*policy_.adapters(), policy_.config(), dir, model_dir_, dtype);
  else policy_.save(dir, dtype);
  copy_tokenizer_files(model_dir_, dir, policy_.config());
}

// New adapters (lora: {...}, initialised from the run's seed) or a PEFT folder to continue; either
// way the base is frozen from here on and only the adapters train.
void attach_lora(const TrainConfig& cfg, model::Decoder& policy) {
  if (!cfg.uses_lora() || policy.adapters()) return;
  std::unique_ptr<model::LoraAdapters> a;
  if (!cfg.adapter_name_or_path.empty()) {
    a = model::load_peft_adapter(policy.config(), cfg.adapter_name_or_path);
  } else {
    a = std::make_unique<model::LoraAdapters>(policy.config(), model::LoraConfig::from_json(cfg.lora, "lora", "the run's config"));
    a->init(uint64_t(cfg.seed));
  }
  a->dropout_seed = uint64_t(cfg.seed);
  policy.attach_adapters(std::move(a));
}

void apply_compute_dtype(const TrainConfig& cfg, model::Decoder& dec) {
  dec.set_compute_dtype(cfg.bf16 ? DType::kBF16 : DType::kF32);
}

int run_training(const TrainConfig& cfg, const Json& resolved, const std::string& resolved_yaml,
                 model::Decoder& policy, Algorithm& algo) {
  dist::Communicator& comm = dist::world();
  const bool lead = comm.rank() == 0;  // the one rank that writes files and logs
  if (lead) {
    make_directories(cfg.output_dir);
    write_file_atomic(join_path(cfg.output_dir, "config.yaml"), resolved_yaml);
  }
  const std::string who = algo.name();
  const int64_t per_epoch = algo.steps_per_epoch();
  if (cfg.max_steps <= 0 && per_epoch <= 0)
    throw Error("max_steps", cat(who, " has no epoch length; set max_steps"));
  const int64_t max_steps =
      cfg.max_steps > 0 ? cfg.max_steps : std::max<int64_t>(1, int64_t(std::ceil(cfg.num_train_epochs * double(per_epoch))));
  const ScheduleConfig sched{parse_schedule_type(cfg.lr_scheduler_type, "lr_scheduler_type"), cfg.learning_rate,
                             cfg.warmup_steps > 0 ? cfg.warmup_steps
                                                  : int64_t(std::ceil(cfg.warmup_ratio * double(max_steps))),
                             max_steps, cfg.min_lr_ratio};
  attach_lora(cfg, policy);
  apply_compute_dtype(cfg, policy);
  // What trains: the base weights, or only the adapters under LoRA (optimizer state scales with r).
  ParamUpdater updater(cfg, policy.trainable_params(), policy.trainable_grads(), decay_ranges(policy), comm,
                       policy.grad_ready_offsets());
  // The policy tells the updater's overlapped reduce (if any) where its backward stands, for as
  // long as the updater lives.
  struct ObserverScope {
    model::Decoder& d;
    ~ObserverScope() { d.set_grad_observer(nullptr); }
  } observer_scope{policy};
  policy.set_grad_observer(updater.overlapped_reduce());

  TrainerState state;
  const std::string resume = resolve_checkpoint(cfg.output_dir, cfg.resume_from_checkpoint);
  std::string last_checkpoint = resume;
  if (!resume.empty()) {
    state = load_checkpoint(resume, policy, updater.full_adam_for_loading());
    updater.finish_loading();
    algo.restore(state.algorithm);
    log_info(who, ": resumed from ", resume, " at step ", state.step);
  } else if (cfg.resume_from_checkpoint == "latest") {
    log_info(who, ": no checkpoint in ", cfg.output_dir, " yet; starting from step 0");
  }
  auto checkpoint = [&] {
    state.algorithm = algo.state();
    const AdamW* adam = updater.gathered_adam();  // collective; the full moments exist on rank 0 only
    if (lead) last_checkpoint = save_checkpoint(cfg.output_dir, policy, adam, state, resolved, cfg.save_total_limit);
    updater.release_gathered();
    comm.barrier();  // no rank runs ahead of a checkpoint it may be asked to resume from
  };
  std::unique_ptr<RunLog> log;
  if (lead) log = std::make_unique<RunLog>(cfg.output_dir, state.step, max_steps);
  if (lead)
    log_info(who, ": ", max_steps, " steps of ",
             cfg.per_device_train_batch_size * cfg.gradient_accumulation_steps * comm.size(), " examples (",
             cfg.gradient_accumulation_steps, " micro-batches", comm.size() > 1 ? cat(" x ", comm.size(), " ranks") : "",
             "), model ", policy.config().architecture, " with ", policy.weights().num_params(), " parameters",
             policy.adapters() ? cat(", training ", policy.trainable_params().numel(), " LoRA parameters") : std::string());

  const SignalScope signals;
  const int64_t kill_at = debug_env_int("TANDEM_DEBUG_KILL_AT_STEP"), kill_rank = debug_env_int("TANDEM_DEBUG_KILL_RANK");
  const double t_start = now() - state.elapsed_s;
  while (state.step < max_steps) {
    const double t0 = now();
    const double lr = lr_at(sched, state.step);
    policy.zero_grad();
    StepResult r = algo.compute_gradients(state.step);
    // Before any other collective: every rank starts the gradient buckets it has not started yet.
    policy.gradients_complete();
    // Each rank's loss is its share of the globally normalised loss; tokens are counted per rank.
    // The stop flag travels with them so every rank stops after the same step.
    double sums[3] = {r.loss, double(r.tokens), double(g_stop_signal != 0)};
    comm.all_reduce_sum(sums, 3);
    r.loss = sums[0];
    r.tokens = int64_t(sums[1]);
    const double grad_norm = std::isfinite(r.loss) ? updater.step(lr) : r.loss;  // no update from a bad step
    // The updater wrote the trained buffer in place; when that is the base (no LoRA), the bf16
    // compute copy of the weights is stale.
    if (!policy.adapters()) policy.weights_changed();
    if (!std::isfinite(r.loss) || !std::isfinite(grad_norm))
      throw Error(cat("train.", who), cat("loss or gradient is not finite at step ", state.step + 1, " (loss ", r.loss,
                                          ", grad_norm ", grad_norm, "); nothing was saved from this step. Last good checkpoint: ",
                                          last_checkpoint.empty() ? "none" : last_checkpoint,
                                          ". Hint: lower learning_rate or set max_grad_norm."));
    ++state.step;
    state.tokens_seen += r.tokens;
    const double dt = now() - t0;
    state.elapsed_s = now() - t_start;
    const double tps = double(r.tokens) / std::max(dt, 1e-9);
    if (state.step % cfg.logging_steps == 0 || state.step == max_steps) {
      Json m = {{"step", state.step}, {"epoch", algo.epoch()}, {"loss", r.loss}, {"lr", lr}, {"grad_norm", grad_norm},
                {"tokens_per_s", tps}, {"elapsed", state.elapsed_s}};
      if (comm.size() > 1) m["time/grad_sync"] = updater.last_sync_seconds();  // rank 0's
      for (auto it = r.metrics.begin(); it != r.metrics.end(); ++it) m[it.key()] = it.value();
      const bool eval_now =
          algo.has_eval() && ((cfg.eval_steps > 0 && state.step % cfg.eval_steps == 0) || state.step == max_steps);
      if (eval_now) {  // collective: every rank evaluates its share
        const Json e = algo.evaluate();
        for (auto it = e.begin(); it != e.end(); ++it) m[it.key()] = it.value();
      }
      if (lead) {
        log->log(m);
        log->progress(state.step, r.loss, tps, dt * double(max_steps - state.step));
      }
    }
    if (state.step == kill_at && (kill_rank < 0 || kill_rank == comm.rank())) std::raise(SIGKILL);
    const bool stop = sums[2] > 0;
    if ((cfg.save_steps > 0 && state.step % cfg.save_steps == 0) || stop) checkpoint();
    if (stop) {
      if (lead)
        log->message(cat(who, ": stopped by signal after step ", state.step, "; checkpoint ", last_checkpoint,
                         ". Resume with resume_from_checkpoint=latest"));
      return 0;
    }
  }
  // Before the final checkpoint, which gathers the full optimizer state on every rank: what
  // training itself held, per rank (benchmarks read it).
  log_info(who, ": peak resident memory while training ", int64_t(peak_rss_mb()), " MB",
           comm.size() > 1 ? cat(" (rank ", comm.rank(), " of ", comm.size(), ")") : "");
  if (cfg.save_steps == 0 || state.step % cfg.save_steps != 0) checkpoint();
  if (lead) {
    algo.save_model(cfg.output_dir, cfg.save_dtype == "bf16" ? DType::kBF16 : DType::kF32);
    log->message(cat(who, ": done, ", state.step, " steps in ", int(state.elapsed_s), " s; model written to ", cfg.output_dir));
  }
  if (lead && cfg.lora_merge && policy.adapters()) {
    model::merge_and_detach(policy);
    algo.save_model(join_path(cfg.output_dir, "merged"), cfg.save_dtype == "bf16" ? DType::kBF16 : DType::kF32);
  }
  comm.barrier();
  return 0;
}

}  // namespace tandem::train
