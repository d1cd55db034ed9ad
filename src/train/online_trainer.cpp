#include "train/online_trainer.h"

#include "core/file.h"
#include "core/log.h"
#include "core/threads.h"
#include "data/dataset.h"
#include "data/input_ids.h"
#include "data/stream.h"
#include "model/decoder.h"
#include "tokenizer/tokenizer.h"
#include "train/online_state.h"
#include "train/reference.h"
#include "train/trainer.h"

namespace tandem::train {

namespace {

std::vector<int32_t> ids_field(const Json& line, const char* key, const std::string& origin, int64_t vocab, size_t min_len) {
  if (!line.contains(key)) throw Error("online.data", cat(origin, ": ", key, ": missing"));
  try {
    return data::parse_input_ids(Json{{"input_ids", line[key]}}, origin, vocab, min_len, "online.data");
  } catch (const Error& e) {  // name the real field
    std::string msg = e.what();
    for (size_t p = msg.find("input_ids"); p != std::string::npos; p = msg.find("input_ids", p + 1)) msg.replace(p, 9, key);
    throw Error("online.data", msg);
  }
}

data::PromptExample example_of(const Json& line, const std::string& origin, int64_t vocab, const std::string& path, int64_t lineno) {
  data::PromptExample ex;
  ex.prompt = data::parse_input_ids(line, origin, vocab, 1, "online.data");
  if (line.contains("demonstration_ids")) ex.demonstration = ids_field(line, "demonstration_ids", origin, vocab, 1);
  for (auto it = line.begin(); it != line.end(); ++it)
    if (it.key() != "input_ids" && it.key() != "demonstration_ids" && it.key() != "completion_ids" &&
        it.key() != "logprobs")
      ex.columns[it.key()] = it.value();
  ex.origin = {path, lineno};
  return ex;
}

// The policy, with a zero-initialised score head on its trunk when the objective has a value term
// and the folder has none (a critic that shares the policy's trunk).
std::unique_ptr<model::Decoder> load_policy(const std::string& dir, bool critic) {
  auto plain = model::Decoder::load(dir);
  if (!critic || plain->weights().score.defined()) return plain;
  auto dec = std::make_unique<model::Decoder>(plain->config(), true);
  for (const auto& np : plain->weights().named) {
    const model::NamedParam* dst = dec->weights().find(np.name);
    TD_ASSERT(dst != nullptr && dst->tensor.numel() == np.tensor.numel(), np.name);
    std::copy(np.tensor.f32(), np.tensor.f32() + np.tensor.numel(), dst->tensor.f32());
  }
  return dec;
}

TextFn text_fn(const std::string& dir) {
  if (!file_exists(join_path(dir, "tokenizer.json")))
    return [](std::span<const int32_t> ids) {
      std::string s;
      for (size_t i = 0; i < ids.size(); ++i) {
        if (i) s += ' ';
        s += std::to_string(ids[i]);
      }
      return s;
    };
  auto tok = std::make_shared<tokenizer::Tokenizer>(tokenizer::Tokenizer::from_dir(dir));
  return [tok](std::span<const int32_t> ids) { return tok->decode(ids, true); };
}

void check_vocab(const data::PromptExample& ex, int64_t vocab) {
  for (const auto* ids : {&ex.prompt, &ex.demonstration})
    for (size_t t = 0; t < ids->size(); ++t)
      if ((*ids)[t] >= vocab)
        throw Error("online.data", cat(ex.origin.str(), ": ", ids == &ex.prompt ? "prompt" : "demonstration", " token ",
                                       (*ids)[t], " at ", t, " is outside the model's vocabulary [0, ", vocab,
                                       "). Hint: does the model folder's tokenizer match the model?"));
}

}  // namespace

std::vector<RolloutSeq> read_given(const std::string& path, int64_t vocab, int64_t group_size) {
  std::vector<RolloutSeq> out;
  int64_t lineno = 0;
  data::for_each_jsonl_line(path, "online.data", [&](const Json& line, const std::string& origin, const std::string&) {
    ++lineno;
    RolloutSeq s;
    s.ex = std::make_shared<const data::PromptExample>(example_of(line, origin, vocab, path, lineno));
    s.prompt = s.ex->prompt;
    s.completion = ids_field(line, "completion_ids", origin, vocab, 1);
    s.group = line.contains("group") ? json_int(line, "group", "online.data", origin) : int64_t(out.size()) / group_size;
    s.demo = line.value("is_demo", false);
    if (line.contains("reward")) s.has_reward = true, s.reward = line["reward"].get<double>();
    if (line.contains("baseline")) s.baseline = line["baseline"].get<double>();
    if (line.contains("logprobs")) {
      for (const Json& v : line["logprobs"]) s.old_logp.push_back(v.get<float>());
      if (s.old_logp.size() != s.completion.size())
        throw Error("online.data", cat(origin, ": logprobs: ", s.old_logp.size(), " values for ", s.completion.size(),
                                       " completion tokens"));
    }
    out.push_back(std::move(s));
  });
  if (out.empty()) throw Error("online.data", cat("'", path, "' holds no sequences"));
  return out;
}

namespace {

// The online step as an Algorithm of the shared loop: one loop step is one optimizer step (TRL's
// max_steps), so a rollout batch is collected when the previous one's mini-batches are used up.
class OnlineAlgorithm : public Algorithm {
 public:
  OnlineAlgorithm(model::Decoder& policy, const OnlineConfig& cfg, const ResolvedOnline& rc, const RewardFactory& make)
      : Algorithm(policy, cfg.model_name_or_path), cfg_(cfg), rc_(rc) {
    if (rc.needs_ref) ref_ = make_reference(cfg, policy, cfg.ref_model_name_or_path);
    if (ref_.owned) apply_compute_dtype(cfg, *ref_.owned);  // the reference's log-probs in the policy's precision
    const int64_t vocab = policy.config().vocab_size;
    std::vector<std::unique_ptr<reward::RewardFunction>> fns;
    std::vector<double> weights;
    for (size_t i = 0; i < cfg.rewards.size(); ++i) fns.push_back(make(cfg.rewards[i], cat("rewards[", i, "]")));
    for (const Json& w : cfg.reward_weights) weights.push_back(w.get<double>());
    rewards_ = std::make_unique<RewardSet>(std::move(fns), weights, text_fn(cfg.model_name_or_path));
    if (!cfg.completions_file.empty()) {
      given_ = read_given(cfg.completions_file, vocab, rc.num_generations);
    } else {  // prompts through the data layer: every shape of docs/data.md, `datasets:` lists, eval split
      train_ = std::make_unique<data::Dataset>(cfg.data, cfg.model_name_or_path, data::Split::kTrain, uint64_t(cfg.seed));
      if (train_->empty()) throw Error("train_file", "the training data holds no prompts");
      stream_ = std::make_unique<data::PromptStream>(*train_, uint64_t(cfg.seed), num_threads());
      auto eval = std::make_unique<data::Dataset>(cfg.data, cfg.model_name_or_path, data::Split::kEval, uint64_t(cfg.seed));
      if (!eval->empty()) eval_ = std::move(eval);
    }
    step_ = std::make_unique<OnlineStep>(cfg_, rc_, policy, ref_.model, *rewards_);
    if (!cfg.expert_file.empty()) {  // CHORD's expert data: its own file, its own seeded order
      data::DataConfig dc = cfg.data;
      dc.train_file = cfg.expert_file;
      dc.datasets = Json::array();
      dc.eval_file.clear();
      dc.eval_fraction = 0;
      expert_ = std::make_unique<data::Dataset>(dc, cfg.model_name_or_path, data::Split::kTrain, uint64_t(cfg.seed));
      if (expert_->empty()) throw Error("expert_file", cat("'", cfg.expert_file, "' holds no demonstrations"));
      expert_stream_ = std::make_unique<data::PromptStream>(*expert_, uint64_t(cfg.seed) + 1, num_threads());
      step_->set_expert_source([this](int64_t n) {
        std::vector<PromptRef> out;
        for (int64_t i = 0; i < n; ++i) {
          auto ex = std::make_shared<const data::PromptExample>(expert_stream_->next());
          check_vocab(*ex, policy_.config().vocab_size);
          out.push_back(std::move(ex));
        }
        return out;
      });
    }
    if (comm_.rank() == 0)
      log_info("online: ", cfg.algorithm, ", rollout batches of ", cfg.train_batch_size, " prompts x ", rc.num_generations,
               comm_.size() > 1 ? cat(" split over ", comm_.size(), " ranks") : "", ", ", rc.ppo_epochs, " epoch(s) x ",
               cfg.num_mini_batches, " mini-batch(es) each", rc.critic ? "; value head on the policy trunk" : "",
               rc.needs_ref ? "; frozen reference" : "",
               train_ ? cat("; ", train_->size(), " prompts", eval_ ? cat(", ", eval_->size(), " held out") : "") : "",
               expert_ ? cat("; ", expert_->size(), " expert demonstrations from ", cfg.expert_file) : "");
  }

  std::string name() const override { return cfg_.algorithm; }
  int64_t steps_per_epoch() const override { return 0; }
  double epoch() const override { return stream_ ? stream_->fractional_epoch() : double(rl_step_); }
  bool has_eval() const override { return eval_ != nullptr; }

  StepResult compute_gradients(int64_t) override {
    while (batches_.empty()) {
      if (!given_.empty()) batches_ = step_->collect_given(next_given(), rl_step_);
      else batches_ = step_->collect([this] { return next_prompts(); }, rl_step_);
      ++rl_step_;
    }
    PreparedBatch& pb = batches_.front();
    StepResult r;
    if (pb.next == 0) r.metrics = pb.metrics;
    r.metrics["rollout_batch"] = rl_step_;
    if (stream_) {  // what the data layer did to the prompts so far, never silent
      const data::DataStats& st = stream_->stats();
      r.metrics["data/truncated"] = st.truncated;
      r.metrics["data/tokens_cut"] = st.tokens_cut;
      r.metrics["data/dropped"] = st.dropped;
      r.metrics["data/skipped"] = st.skipped;
    }
    if (pb.mini_batches.empty()) {  // nothing to train on (DAPO filtered every group)
      batches_.erase(batches_.begin());
      return r;
    }
    const Json u = step_->minibatch_gradients(pb);
    // The step's loss and tokens are already global; the loop sums the ranks' shares, so rank 0
    // carries them whole.
    const bool lead = comm_.rank() == 0;
    for (auto it = u.begin(); it != u.end(); ++it)
      if (it.key() == "loss") r.loss = lead ? it.value().get<double>() : 0.0;
      else if (it.key() == "tokens") r.tokens = lead ? int64_t(it.value().get<double>()) : 0;
      else r.metrics[it.key()] = it.value();
    if (pb.done()) batches_.erase(batches_.begin());
    return r;
  }

  // Every held-out prompt, num_generations samples each with fixed seeds, scored by the run's rewards.
  Json evaluate() override {
    std::vector<PromptRef> prompts;
    data::DataStats stats;
    for (size_t i = 0; i < eval_->size(); ++i)
      if (auto e = eval_->get<data::PromptExample>(i, stats)) {
        check_vocab(*e, policy_.config().vocab_size);
        prompts.push_back(std::make_shared<const data::PromptExample>(std::move(*e)));
      }
    if (prompts.empty()) return Json::object();
    return step_->evaluate(prompts);
  }

  // Exact resume, also inside a rollout batch: the stream's position, the batches in flight and
  // ReLIFT's buffer (online_state.h).
  Json state() const override {
    Json s = {{"rl_step", rl_step_}, {"given_position", position_},
              {"inflight", online_inflight_to_json(batches_, step_->relift_buffer())}};
    if (stream_) s["stream"] = stream_->state();
    if (expert_stream_) s["expert_stream"] = expert_stream_->state();
    return s;
  }
  void restore(const Json& s) override {
    const std::string w = "checkpoint.state.algorithm";
    rl_step_ = json_int(s, "rl_step", w, "online");
    batches_.clear();
    step_->relift_buffer().clear();
    if (s.contains("inflight")) online_inflight_from_json(s["inflight"], w + ".inflight", batches_, step_->relift_buffer());
    if (expert_stream_) {
      if (!s.contains("expert_stream"))
        throw Error(w + ".expert_stream", "missing: the checkpoint was written by a run without expert_file");
      expert_stream_->restore(s["expert_stream"]);
    }
    if (!stream_) {
      position_ = json_int(s, s.contains("given_position") ? "given_position" : "position", w, "online");
      return;
    }
    if (s.contains("stream")) {
      stream_->restore(s["stream"]);
      return;
    }
    // A checkpoint of the earlier input_ids-only reader: (epoch, position) in the same seeded order
    // (data::epoch_order of the lines), its ReLIFT buffer as line indices; no batch in flight.
    stream_->restore({{"epoch", json_int(s, "epoch", w, "online")}, {"position", json_int(s, "position", w, "online")},
                      {"seed", uint64_t(cfg_.seed)}, {"data", train_->fingerprint()}, {"stats", Json::object()}});
    data::DataStats stats;
    if (s.contains("relift_buffer"))
      for (const Json& i : s["relift_buffer"])
        if (auto e = train_->get<data::PromptExample>(i.get<size_t>(), stats))
          step_->relift_buffer().push_back(std::make_shared<const data::PromptExample>(std::move(*e)));
  }

 private:
  std::vector<PromptRef> next_prompts() {  // the data layer's seeded order, epoch after epoch
    std::vector<PromptRef> out;
    const size_t skipped_before = stream_->stats().skipped_lines.size();
    for (int64_t i = 0; i < cfg_.train_batch_size; ++i) {
      auto ex = std::make_shared<const data::PromptExample>(stream_->next());
      check_vocab(*ex, policy_.config().vocab_size);
      out.push_back(std::move(ex));
    }
    const auto& lines = stream_->stats().skipped_lines;
    if (comm_.rank() == 0)
      for (size_t i = skipped_before; i < lines.size(); ++i) log_warn("online: skipped bad line ", lines[i]);
    return out;
  }
  std::vector<RolloutSeq> next_given() {  // train_batch_size groups, cycling through the file
    const int64_t per = cfg_.train_batch_size * rc_.num_generations;
    std::vector<RolloutSeq> seqs;
    for (int64_t k = 0; k < per; ++k) {
      RolloutSeq s = given_[size_t((position_ + k) % int64_t(given_.size()))];
      s.group = k / rc_.num_generations;
      seqs.push_back(std::move(s));
    }
    position_ = (position_ + per) % int64_t(given_.size());
    return seqs;
  }

  const OnlineConfig& cfg_;
  const ResolvedOnline& rc_;
  Reference ref_;
  std::unique_ptr<RewardSet> rewards_;
  std::unique_ptr<data::Dataset> train_, eval_, expert_;
  std::unique_ptr<data::PromptStream> stream_, expert_stream_;
  std::vector<RolloutSeq> given_;
  int64_t rl_step_ = 0, position_ = 0;
  std::unique_ptr<OnlineStep> step_;
  std::vector<PreparedBatch> batches_;
};

}  // namespace

int run_online(const OnlineConfig& cfg, const Json& resolved, const std::string& resolved_yaml, const RewardFactory& make_reward) {
  cfg.validate();
  const ResolvedOnline rc = resolve(cfg);
  auto policy = load_policy(cfg.model_name_or_path, rc.critic);
  OnlineAlgorithm algo(*policy, cfg, rc, make_reward);
  const std::string yaml = resolved_yaml + "# resolved objective: " + objective::objective_to_json(rc.obj).dump() + "\n";
  return run_training(cfg, resolved, yaml, *policy, algo);
}

}  // namespace tandem::train
