#include "train/online_trainer.h"

#include <chrono>
#include <cmath>

#include "core/file.h"
#include "core/log.h"
#include "data/input_ids.h"
#include "data/tokenized_jsonl.h"
#include "model/decoder.h"
#include "tokenizer/tokenizer.h"
#include "train/checkpoint.h"
#include "train/config_fields.h"
#include "train/grad_clip.h"
#include "train/optimizer.h"
#include "train/run_log.h"
#include "train/schedule.h"

namespace tandem::train {

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

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

DecayRanges decay_ranges(const model::ParamSet& p) {
  DecayRanges d;
  const float* base = p.flat.f32();
  for (const auto& np : p.named)
    if (np.is_matrix && np.name != "score.weight") {
      const int64_t b = np.tensor.f32() - base;
      d.ranges.emplace_back(b, b + np.tensor.numel());
    }
  return d;
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

}  // namespace

std::vector<data::PromptExample> read_prompt_ids(const std::string& path, int64_t vocab) {
  std::vector<data::PromptExample> out;
  int64_t lineno = 0;
  data::for_each_jsonl_line(path, "online.data", [&](const Json& line, const std::string& origin, const std::string&) {
    ++lineno;
    out.push_back(example_of(line, origin, vocab, path, lineno));
  });
  if (out.empty()) throw Error("online.data", cat("'", path, "' holds no prompts"));
  return out;
}

std::vector<RolloutSeq> read_given(const std::string& path, int64_t vocab, int64_t group_size,
                                   std::vector<std::unique_ptr<data::PromptExample>>& examples) {
  std::vector<RolloutSeq> out;
  int64_t lineno = 0;
  data::for_each_jsonl_line(path, "online.data", [&](const Json& line, const std::string& origin, const std::string&) {
    ++lineno;
    examples.push_back(std::make_unique<data::PromptExample>(example_of(line, origin, vocab, path, lineno)));
    RolloutSeq s;
    s.ex = examples.back().get();
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

int run_online(const OnlineConfig& cfg, const Json& resolved, const RewardFactory& make_reward) {
  cfg.validate();
  const ResolvedOnline rc = resolve(cfg);
  make_directories(cfg.output_dir);
  {
    OnlineConfig copy = cfg;
    auto fields = fields_of(copy);
    Json j = objective::objective_to_json(rc.obj);
    write_file_atomic(join_path(cfg.output_dir, "config.yaml"),
                      fields_to_yaml(fields) + "# resolved objective: " + j.dump() + "\n");
  }
  auto policy = load_policy(cfg.model_name_or_path, rc.critic);
  std::unique_ptr<model::Decoder> ref;
  if (rc.needs_ref) ref = model::Decoder::load(cfg.model_name_or_path);  // frozen copy of the starting weights
  const int64_t vocab = policy->config().vocab_size;

  std::vector<std::unique_ptr<reward::RewardFunction>> fns;
  std::vector<double> weights;
  for (size_t i = 0; i < cfg.rewards.size(); ++i) fns.push_back(make_reward(cfg.rewards[i], cat("rewards[", i, "]")));
  for (const Json& w : cfg.reward_weights) weights.push_back(w.get<double>());
  const RewardSet rewards(std::move(fns), weights, text_fn(cfg.model_name_or_path));

  std::vector<data::PromptExample> prompts;
  std::vector<std::unique_ptr<data::PromptExample>> given_examples;
  std::vector<RolloutSeq> given;
  if (!cfg.completions_file.empty()) given = read_given(cfg.completions_file, vocab, rc.num_generations, given_examples);
  else prompts = read_prompt_ids(cfg.train_file, vocab);

  const int64_t opt_per_step = rc.ppo_epochs * cfg.num_mini_batches;
  ScheduleConfig sched{parse_schedule_type(cfg.lr_scheduler_type, "lr_scheduler_type"), cfg.learning_rate,
                       cfg.warmup_steps, cfg.max_steps * opt_per_step, 0.0};
  const AdamWConfig adam_cfg{cfg.learning_rate, cfg.adam_beta1, cfg.adam_beta2, cfg.adam_epsilon, cfg.weight_decay};
  std::unique_ptr<AdamW> adam;
  if (cfg.optim == "adamw") adam = std::make_unique<AdamW>(policy->weights().num_params());
  const DecayRanges decay = decay_ranges(policy->weights());

  TrainerState state;
  const std::string resume = resolve_checkpoint(cfg.output_dir, cfg.resume_from_checkpoint);
  if (!resume.empty()) {
    state = load_checkpoint(resume, *policy, adam.get());
    log_info("online: resumed from ", resume, " at step ", state.step);
  }
  int64_t opt_step = state.step * opt_per_step;
  const OptimizerStep optimizer_step = [&]() {
    const double gn = clip_grad_norm(policy->grads().flat, cfg.max_grad_norm);
    if (!std::isfinite(gn)) throw Error("train.online", cat("gradient is not finite at optimizer step ", opt_step + 1));
    const double lr = lr_at(sched, opt_step++);
    if (adam) adam->step(policy->weights().flat, policy->grads().flat, decay, adam_cfg, lr);
    else sgd_step(policy->weights().flat, policy->grads().flat, decay, cfg.weight_decay, lr);
    return gn;
  };

  // Prompt stream: a seeded order per epoch; (epoch, position) is the resumable state.
  std::vector<uint32_t> order;
  if (!prompts.empty()) order = data::epoch_order(prompts.size(), uint64_t(cfg.seed), state.epoch);
  const PromptSource next_prompts = [&]() {
    std::vector<const data::PromptExample*> out;
    for (int64_t i = 0; i < cfg.train_batch_size; ++i) {
      if (state.position >= int64_t(order.size())) {
        ++state.epoch;
        state.position = 0;
        order = data::epoch_order(prompts.size(), uint64_t(cfg.seed), state.epoch);
      }
      out.push_back(&prompts[order[size_t(state.position++)]]);
    }
    return out;
  };

  OnlineStep step(cfg, rc, *policy, ref.get(), rewards);
  RunLog log(cfg.output_dir, state.step, cfg.max_steps);
  log_info("online: ", cfg.algorithm, ", ", cfg.max_steps, " steps of ", cfg.train_batch_size, " prompts x ",
           rc.num_generations, ", ", rc.ppo_epochs, " epoch(s) x ", cfg.num_mini_batches, " mini-batch(es); model ",
           policy->config().architecture, " with ", policy->weights().num_params(), " parameters",
           rc.critic ? " (value head on the trunk)" : "", rc.needs_ref ? ", frozen reference" : "");
  const double t_start = now() - state.elapsed_s;
  while (state.step < cfg.max_steps) {
    const double t0 = now();
    const double lr = lr_at(sched, opt_step);
    Json m;
    if (!given.empty()) {  // given completions: train_batch_size groups per step, cycling through the file
      const int64_t per = cfg.train_batch_size * rc.num_generations;
      std::vector<RolloutSeq> seqs;
      for (int64_t k = 0; k < per; ++k) {
        RolloutSeq s = given[size_t((state.position + k) % int64_t(given.size()))];
        s.group = k / rc.num_generations;
        seqs.push_back(std::move(s));
      }
      state.position = (state.position + per) % int64_t(given.size());
      m = step.run_given(std::move(seqs), state.step, optimizer_step);
    } else {
      m = step.run(next_prompts, state.step, optimizer_step);
    }
    ++state.step;
    state.elapsed_s = now() - t_start;
    const double dt = now() - t0;
    m["step"] = state.step;
    m["lr"] = lr;
    m["elapsed"] = state.elapsed_s;
    m["time/step"] = dt;
    if (state.step % cfg.logging_steps == 0 || state.step == cfg.max_steps) {
      log.log(m);
      log.progress(state.step, m.value("loss", 0.0), 0.0, dt * double(cfg.max_steps - state.step));
    }
    if (cfg.save_steps > 0 && state.step % cfg.save_steps == 0)
      save_checkpoint(cfg.output_dir, *policy, adam.get(), state, resolved, cfg.save_total_limit);
  }
  policy->save(cfg.output_dir, cfg.save_dtype == "bf16" ? DType::kBF16 : DType::kF32);
  // The tokenizer and generation files travel with the weights, so the folder is a complete HF model.
  for (const char* name : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja",
                           "generation_config.json", "vocab.json", "merges.txt", "tokenizer.model"}) {
    const std::string src = join_path(cfg.model_name_or_path, name);
    if (file_exists(src)) write_file_atomic(join_path(cfg.output_dir, name), read_file(src));
  }
  log.message(cat("online: done, ", state.step, " steps in ", int(state.elapsed_s), " s; model written to ", cfg.output_dir));
  return 0;
}

}  // namespace tandem::train
