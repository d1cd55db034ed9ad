// OnlineStep: sampling, scoring, group filtering and the batch-level pieces of the online step. The
// model passes (reference, old log-probs, updates) are in online_update.cpp.
#include "train/online_step.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

#include "core/error.h"
#include "core/log.h"
#include "core/rng.h"
#include "rollout/engine.h"
#include "rollout/stop_ids.h"
#include "train/online_state.h"
#include "train/pass_at_k.h"
#include "train/uft_hint.h"

namespace tandem::train {

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// A distinct 64-bit sampling seed per (run seed, step, generation batch, prompt).
uint64_t mix_seed(uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
  Rng r(a, (b << 20) ^ c);
  return (uint64_t(r.bits(2 * d)) << 32) | r.bits(2 * d + 1);
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / double(v.size());
}
double std_of(const std::vector<double>& v) {  // population std, as TRL logs reward_std per batch
  if (v.size() < 2) return 0;
  const double m = mean_of(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / double(v.size()));
}

// A demonstration as a sequence of the batch.
RolloutSeq demo_row(const PromptRef& ex) {
  RolloutSeq q;
  q.ex = ex;
  q.prompt = ex->prompt;
  q.completion = ex->demonstration;
  q.demo = true;
  q.has_reward = true;  // demonstrations trained by NLL carry no reward
  return q;
}

}  // namespace

RewardSet::RewardSet(std::vector<std::unique_ptr<reward::RewardFunction>> fns, std::vector<double> weights, TextFn text)
    : fns_(std::move(fns)), weights_(std::move(weights)), text_(std::move(text)) {
  if (weights_.empty()) weights_.assign(fns_.size(), 1.0);
  TD_ASSERT(weights_.size() == fns_.size(), "weights ", weights_.size(), " functions ", fns_.size());
  std::map<std::string, int> seen;
  for (const auto& f : fns_) {
    std::string n = f->name();
    if (seen[n]++ > 0) n = cat(n, "_", seen[n] - 1);  // two functions of one type log apart
    names_.push_back(n);
  }
}

void RewardSet::score(std::vector<RolloutSeq>& seqs) const {
  std::vector<size_t> todo;
  for (size_t i = 0; i < seqs.size(); ++i)
    if (!seqs[i].has_reward) todo.push_back(i);
  if (todo.empty()) return;
  if (fns_.empty())
    throw Error("rewards", "no reward functions configured, expected at least one (or rewards given with the completions)");
  std::vector<reward::RewardRequest> reqs(todo.size());
  for (size_t k = 0; k < todo.size(); ++k) {
    const RolloutSeq& s = seqs[todo[k]];
    TD_ASSERT(s.ex != nullptr, "sequence without its example");
    const std::span<const int32_t> prompt(s.prompt.data(), s.prompt.size() - size_t(s.hint_len));
    reqs[k].prompt = s.ex->prompt_text.empty() ? text_(prompt) : s.ex->prompt_text;
    if (s.hint_len > 0) {
      std::vector<int32_t> solution(s.prompt.end() - s.hint_len, s.prompt.end());
      solution.insert(solution.end(), s.completion.begin(), s.completion.end());
      reqs[k].completion = text_(solution);
    } else {
      reqs[k].completion = text_(s.completion);
    }
    reqs[k].columns = s.ex->columns;
  }
  for (size_t k = 0; k < todo.size(); ++k) seqs[todo[k]].reward = 0, seqs[todo[k]].reward_parts.assign(fns_.size(), 0.0);
  for (size_t f = 0; f < fns_.size(); ++f) {
    const auto scores = fns_[f]->score(reqs);
    if (scores.size() != reqs.size())
      throw Error(cat("rewards[", f, "]"), cat("reward '", names_[f], "' returned ", scores.size(), " scores for ", reqs.size(), " requests"));
    for (size_t k = 0; k < todo.size(); ++k) {
      RolloutSeq& s = seqs[todo[k]];
      s.reward_parts[f] = scores[k].reward;
      s.reward += weights_[f] * scores[k].reward;
    }
  }
}

OnlineStep::OnlineStep(const OnlineConfig& c, const ResolvedOnline& r, model::Decoder& policy, model::Decoder* ref,
                       const RewardSet& rewards)
    : c_(c), r_(r), policy_(policy), ref_(ref), rewards_(rewards),
      stop_ids_(rollout::default_stop_ids(c.model_name_or_path, policy.config())) {
  if (r_.needs_ref && ref_ == nullptr) throw Error("online.ref", "the objective needs a reference model, got none");
}

namespace {

rollout::SamplingParams sampling_params(const OnlineConfig& c, const std::vector<int32_t>& stop_ids) {
  rollout::SamplingParams sp;
  sp.temperature = float(c.temperature);
  sp.top_p = float(c.top_p);
  sp.top_k = c.top_k;
  sp.min_p = float(c.min_p);
  sp.repetition_penalty = float(c.repetition_penalty);
  sp.max_new_tokens = c.max_new_tokens;
  if (!c.ignore_eos) sp.stop_ids = stop_ids;
  return sp;
}

std::vector<std::vector<rollout::Sample>> generate(model::Decoder& policy, const OnlineConfig& c,
                                                   const std::vector<rollout::Request>& reqs) {
  if (reqs.empty()) return {};  // a rank with no prompt of its own (more ranks than prompts)
  rollout::EngineOptions eo;
  eo.kv_cache_bytes = size_t(c.kv_cache_mb * 1024.0 * 1024.0);
  eo.max_batch = c.max_batch;
  rollout::Engine engine(policy, eo);
  return engine.generate(reqs);
}

// What an algorithm that trains on demonstrations says when a prompt has none.
Error no_demonstration(const data::PromptExample& ex, const std::string& algorithm, const std::string& use) {
  return Error("online.demonstration",
               cat(ex.origin.str(), ": algorithm '", algorithm, "' ", use, ", expected a demonstration (a completion or ",
                   "solution column, or completion_input_ids / demonstration_ids), got none"));
}

}  // namespace

std::vector<size_t> OnlineStep::share_bounds(size_t n, int64_t k) const {
  const size_t N = size_t(comm_.size()), step = k > 0 ? size_t(k) : std::max<size_t>(n, 1);
  const size_t C = (n + step - 1) / step;
  std::vector<size_t> b(N + 1);
  for (size_t r = 0; r <= N; ++r) b[r] = std::min(n, C * r / N * step);
  return b;
}

std::pair<size_t, size_t> OnlineStep::share(size_t n, int64_t k) const {
  const auto b = share_bounds(n, k);
  return {b[size_t(comm_.rank())], b[size_t(comm_.rank()) + 1]};
}

std::vector<RolloutSeq> OnlineStep::gather(std::vector<RolloutSeq> mine, const std::vector<PromptRef>& examples) const {
  if (comm_.size() == 1) return mine;
  std::vector<RolloutSeq> all;
  for (const std::string& part : comm_.all_gather_bytes(rollout_seqs_to_bytes(mine, examples))) {
    auto seqs = rollout_seqs_from_bytes(part, examples);
    all.insert(all.end(), std::make_move_iterator(seqs.begin()), std::make_move_iterator(seqs.end()));
  }
  return all;
}

std::vector<std::vector<int32_t>> OnlineStep::hints(const std::vector<PromptRef>& prompts, int64_t rl_step, int64_t batch) {
  std::vector<std::vector<int32_t>> out(prompts.size());
  if (!r_.hints) return out;
  const double p = uft_hint_probability(r_.hint_p_lo, r_.hint_p_hi, r_.hint_steps, rl_step);
  double segments = 0, tokens = 0, hinted = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const data::PromptExample& ex = *prompts[i];
    if (ex.demonstration.empty()) throw no_demonstration(ex, c_.algorithm, "takes hints from the demonstration");
    if (p <= 0) continue;
    const auto ends = uft_step_ends(ex.demonstration, policy_.config().eos_token_ids, rewards_.text());
    const int64_t K = uft_segments(ends.size(), r_.hint_segments);
    const int64_t l = uft_sample_segments(K, p, Rng(uint64_t(c_.seed), mix_seed(0x4711, uint64_t(rl_step), uint64_t(batch), i)));
    out[i].assign(ex.demonstration.begin(), ex.demonstration.begin() + long(uft_hint_tokens(ends, K, l)));
    segments += double(l);
    tokens += double(out[i].size());
    hinted += !out[i].empty();
  }
  const double n = double(std::max<size_t>(prompts.size(), 1));
  hint_metrics_ = {{"uft/hint_p", p}, {"uft/hint_segments", segments / n}, {"uft/hint_tokens", tokens / n},
                   {"uft/hinted_frac", hinted / n}};
  return out;
}

std::vector<RolloutSeq> OnlineStep::sample(const std::vector<PromptRef>& prompts, int64_t step, int64_t batch) {
  const rollout::SamplingParams sp = sampling_params(c_, stop_ids_);
  const int64_t n_sampled = r_.num_generations - r_.demos_per_group;
  const bool greedy = r_.obj.advantage.type == objective::AdvantageType::kRemax;
  const auto hint = hints(prompts, step, batch);  // every prompt's on every rank: the hint metrics are global
  const auto [p0, p1] = share(prompts.size());
  std::vector<rollout::Request> reqs;
  for (size_t i = p0; i < p1; ++i) {
    std::vector<int32_t> prompt = prompts[i]->prompt;
    prompt.insert(prompt.end(), hint[i].begin(), hint[i].end());
    rollout::Request q{prompt, sp};
    q.params.n = n_sampled;
    q.params.seed = mix_seed(uint64_t(c_.seed), uint64_t(step), uint64_t(batch), i);
    reqs.push_back(q);
    if (greedy) {  // ReMax's baseline: the greedy completion of the same prompt
      rollout::Request g{prompts[i]->prompt, sp};
      g.params.temperature = 0.f, g.params.top_p = 1.f, g.params.top_k = 0, g.params.min_p = 0.f, g.params.n = 1;
      reqs.push_back(g);
    }
  }
  const auto out = generate(policy_, c_, reqs);
  std::vector<RolloutSeq> seqs;
  std::vector<RolloutSeq> greedy_rows;
  for (size_t i = p0; i < p1; ++i) {
    const size_t k = i - p0;  // this rank's request of prompt i
    const auto& samples = out[greedy ? 2 * k : k];
    for (const auto& s : samples) {
      RolloutSeq q;
      q.ex = prompts[i];
      q.group = int64_t(i);
      q.prompt = reqs[greedy ? 2 * k : k].prompt;
      q.hint_len = int64_t(hint[i].size());
      q.completion = s.ids;
      q.old_logp = s.logprobs;
      q.truncated = s.finish == rollout::FinishReason::kLength;
      seqs.push_back(std::move(q));
    }
    if (!hint[i].empty()) {  // UFT: the hint itself, trained by the NLL term (a demo row in no group)
      RolloutSeq h = demo_row(prompts[i]);
      h.completion = hint[i];
      seqs.push_back(std::move(h));
    }
    for (int64_t d = 0; d < r_.demos_per_group; ++d) {
      if (prompts[i]->demonstration.empty())
        throw no_demonstration(*prompts[i], c_.algorithm, "places a demonstration in each group");
      RolloutSeq q;
      q.ex = prompts[i];
      q.group = int64_t(i);
      q.prompt = prompts[i]->prompt;
      q.completion = prompts[i]->demonstration;
      q.demo = true;
      seqs.push_back(std::move(q));
    }
    if (greedy) {
      RolloutSeq g;
      g.ex = prompts[i];
      g.group = int64_t(i);
      g.prompt = prompts[i]->prompt;
      g.completion = out[2 * k + 1][0].ids;
      greedy_rows.push_back(std::move(g));
    }
  }
  if (greedy) {
    rewards_.score(greedy_rows);
    for (auto& s : seqs)
      if (s.group >= 0) s.baseline = greedy_rows[size_t(s.group) - p0].reward;
  }
  return seqs;
}

void OnlineStep::shape_overlong(std::vector<RolloutSeq>& seqs) const {
  // DAPO: R += min(-(|o| - L_exp) / L_cache * kappa, 0), L_exp = max_new_tokens - L_cache (verl's form).
  const int64_t lc = r_.overlong_buffer_len;
  if (lc <= 0) return;
  const double l_exp = double(c_.max_new_tokens - lc);
  for (auto& s : seqs)
    if (!s.demo) s.reward += std::min(-(double(s.completion.size()) - l_exp) / double(lc) * c_.overlong_penalty_factor, 0.0);
}

void OnlineStep::add_expert_rows(std::vector<RolloutSeq>& seqs) const {
  // CHORD: demonstrations as a separate sub-batch (no group, no advantage), so that they are
  // expert_data_ratio of all sequences (Trinity-RFT: 64 expert of 320). They come from the expert data
  // when the run has its own (expert_file, as Trinity-RFT's separate SFT dataset), else from the
  // demonstrations of this step's prompts.
  if (r_.expert_data_ratio <= 0 || seqs.empty()) return;
  const double n = r_.expert_data_ratio / (1.0 - r_.expert_data_ratio) * double(seqs.size());
  const int64_t k = std::max<int64_t>(1, int64_t(std::llround(n)));
  std::vector<PromptRef> exs;
  if (expert_source_) {
    exs = expert_source_(k);
    for (const auto& e : exs)
      if (e->demonstration.empty()) throw no_demonstration(*e, c_.algorithm, "trains on the expert data's demonstrations");
  } else {
    for (const auto& s : seqs)
      if ((exs.empty() || exs.back() != s.ex) && !s.ex->demonstration.empty()) exs.push_back(s.ex);
  }
  if (exs.empty()) throw no_demonstration(*seqs.front().ex, c_.algorithm, "trains on demonstrations");
  for (int64_t i = 0; i < k; ++i) {
    seqs.push_back(demo_row(exs[size_t(i) % exs.size()]));  // expert rows carry no reward (CHORD (c))
  }
}

void OnlineStep::hpt_switch(std::vector<RolloutSeq>& seqs) const {
  // HPT (unify_strategy switch): a prompt with at most switch_gate correct samples drops its samples and
  // trains on its demonstration (NLL); the others keep their GRPO group.
  if (r_.hpt_gate < 0) return;
  std::map<int64_t, int64_t> correct;
  for (const auto& s : seqs) correct[s.group] += s.reward > c_.success_threshold;
  std::vector<RolloutSeq> out;
  std::map<int64_t, bool> added;
  for (auto& s : seqs) {
    if (correct[s.group] > r_.hpt_gate) {
      out.push_back(std::move(s));
    } else if (!added[s.group]) {
      added[s.group] = true;
      if (s.ex->demonstration.empty()) throw no_demonstration(*s.ex, c_.algorithm, "trains failed prompts on their demonstration");
      out.push_back(demo_row(s.ex));
    }
  }
  seqs = std::move(out);
}

void OnlineStep::relift_collect(const std::vector<RolloutSeq>& seqs, int64_t rl_step, std::vector<PreparedBatch>& out) {
  // ReLIFT: prompts whose samples all failed join a buffer; when it holds sft_data_size prompts, one
  // SFT phase (sft_epochs passes) trains on their demonstrations and empties it.
  if (r_.relift_buffer <= 0) return;
  std::map<int64_t, std::pair<int64_t, PromptRef>> ok;
  for (const auto& s : seqs)
    if (!s.demo && s.group >= 0) {
      auto& e = ok[s.group];
      e.first += s.reward > c_.success_threshold;
      e.second = s.ex;
    }
  for (const auto& [g, e] : ok)
    if (e.first == 0 && !e.second->demonstration.empty()) relift_buffer_.push_back(e.second);
  if (!out.empty()) out.front().metrics["relift/buffer"] = int64_t(relift_buffer_.size());
  if (int64_t(relift_buffer_.size()) < r_.relift_buffer) return;
  std::vector<RolloutSeq> demos;
  for (const auto& ex : relift_buffer_) demos.push_back(demo_row(ex));
  relift_buffer_.clear();
  out.push_back(prepare(std::move(demos), rl_step, r_.relift_epochs));
  out.back().metrics = {{"relift/sft_sequences", int64_t(out.back().seqs.size())}};
}

void rollout_metrics(const std::vector<RolloutSeq>& seqs, const RewardSet& rewards, double success_threshold,
                     const std::vector<int64_t>& ks, Json& m, const std::string& prefix) {
  std::vector<double> R, len;
  std::vector<std::vector<double>> parts(rewards.size());
  std::map<int64_t, std::pair<int64_t, int64_t>> tally;  // group -> (samples, correct)
  int64_t trunc = 0, ok = 0, n = 0;
  double max_len = 0;
  for (const auto& s : seqs) {
    if (s.demo) continue;
    ++n;
    R.push_back(s.reward);
    len.push_back(double(s.completion.size()));
    max_len = std::max(max_len, double(s.completion.size()));
    trunc += s.truncated;
    ok += s.reward > success_threshold;
    if (s.group >= 0) ++tally[s.group].first, tally[s.group].second += s.reward > success_threshold;
    for (size_t f = 0; f < s.reward_parts.size() && f < parts.size(); ++f) parts[f].push_back(s.reward_parts[f]);
  }
  m[prefix + "reward"] = mean_of(R);
  m[prefix + "reward_std"] = std_of(R);
  m[prefix + "accuracy"] = n > 0 ? double(ok) / double(n) : 0.0;
  std::vector<std::pair<int64_t, int64_t>> groups;
  for (const auto& [g, t] : tally) groups.push_back(t);
  for (int64_t k : ks)
    if (const auto [v, used] = mean_pass_at_k(groups, k); used > 0) m[cat(prefix, "pass@", k)] = v;
  for (size_t f = 0; f < parts.size(); ++f) {
    m[cat(prefix, "rewards/", rewards.names()[f], "/mean")] = mean_of(parts[f]);
    m[cat(prefix, "rewards/", rewards.names()[f], "/std")] = std_of(parts[f]);
  }
  m[prefix + "completions/mean_length"] = mean_of(len);
  m[prefix + "completions/max_length"] = max_len;
  m[prefix + "completions/clipped_ratio"] = n > 0 ? double(trunc) / double(n) : 0.0;
}

std::vector<PreparedBatch> OnlineStep::collect(const PromptSource& next_prompts, int64_t rl_step) {
  Json m = Json::object();
  double t_gen = 0, t_score = 0;
  std::vector<RolloutSeq> kept, all;  // all: every generated group, numbered apart across generation batches
  int64_t groups_seen = 0, groups_dropped = 0, batches = 0, n_kept_groups = 0;
  hint_metrics_ = Json::object();
  const int64_t want = c_.train_batch_size;
  while (true) {
    const auto prompts = next_prompts();
    double t0 = now();
    auto seqs = sample(prompts, rl_step, batches++);  // this rank's share
    t_gen += now() - t0;
    t0 = now();
    rewards_.score(seqs);
    shape_overlong(seqs);
    t_score += now() - t0;
    seqs = gather(std::move(seqs), prompts);  // the whole generation batch, on every rank
    for (const auto& s : seqs) {
      all.push_back(s);
      if (all.back().group >= 0) all.back().group += groups_seen;
    }
    if (!r_.dynamic_sampling) {
      kept = std::move(seqs);
      break;
    }
    // DAPO dynamic sampling: drop groups whose members all succeed or all fail (verl filter_groups,
    // metric acc), keep drawing until train_batch_size groups survive or the cap is reached.
    std::map<int64_t, std::pair<int64_t, int64_t>> tally;  // group -> (successes, size)
    for (const auto& s : seqs) {
      auto& t = tally[s.group];
      t.first += s.reward > c_.success_threshold;
      ++t.second;
    }
    std::map<int64_t, int64_t> new_id;  // informative group of this batch -> its id in the step
    for (const auto& [g, t] : tally)
      if (t.first > 0 && t.first < t.second) new_id[g] = n_kept_groups++;
    for (auto& s : seqs)
      if (auto it = new_id.find(s.group); it != new_id.end()) {
        s.group = it->second;
        kept.push_back(std::move(s));
      }
    groups_seen += int64_t(prompts.size());
    groups_dropped += int64_t(tally.size() - new_id.size());
    if (n_kept_groups >= want) {
      kept.erase(std::remove_if(kept.begin(), kept.end(), [&](const RolloutSeq& s) { return s.group >= want; }), kept.end());
      break;
    }
    if (batches >= r_.max_num_gen_batches) {
      if (comm_.rank() == 0)
        log_info("online: rollout batch ", rl_step + 1, ": ", n_kept_groups, " informative groups after ", batches,
                 " generation batches (max_num_gen_batches), training on those");
      break;
    }
  }
  rollout_metrics(all, rewards_, c_.success_threshold, r_.pass_at_k, m);
  for (auto it = hint_metrics_.begin(); it != hint_metrics_.end(); ++it) m[it.key()] = it.value();
  if (r_.dynamic_sampling) {
    m["filter/frac_groups_dropped"] = groups_seen > 0 ? double(groups_dropped) / double(groups_seen) : 0.0;
    m["filter/num_gen_batches"] = batches;
  }
  m["time/generate"] = t_gen;
  m["time/score"] = t_score;
  const std::vector<RolloutSeq> sampled = r_.relift_buffer > 0 ? kept : std::vector<RolloutSeq>{};
  hpt_switch(kept);
  add_expert_rows(kept);
  std::vector<PreparedBatch> out;
  if (!kept.empty()) {
    out.push_back(prepare(std::move(kept), rl_step));
    for (auto it = m.begin(); it != m.end(); ++it) out.back().metrics[it.key()] = it.value();
  } else {  // an empty batch carries the metrics; its optimizer step has a zero gradient
    if (comm_.rank() == 0) log_info("online: rollout batch ", rl_step + 1, ": no informative group, no update from it");
    out.emplace_back();
    out.back().metrics = m;
    out.back().metrics["skipped"] = 1;
  }
  relift_collect(sampled, rl_step, out);
  return out;
}

std::vector<PreparedBatch> OnlineStep::collect_given(std::vector<RolloutSeq> seqs, int64_t rl_step) {
  Json m = Json::object();
  const double t0 = now();
  {  // each rank scores its share of the sequences
    std::vector<PromptRef> exs;
    for (const auto& s : seqs) exs.push_back(s.ex);
    const auto [s0, s1] = share(seqs.size());
    std::vector<RolloutSeq> mine(seqs.begin() + long(s0), seqs.begin() + long(s1));
    rewards_.score(mine);
    shape_overlong(mine);
    seqs = gather(std::move(mine), exs);
  }
  m["time/score"] = now() - t0;
  m["time/generate"] = 0.0;
  rollout_metrics(seqs, rewards_, c_.success_threshold, r_.pass_at_k, m);
  std::vector<PreparedBatch> out;
  out.push_back(prepare(std::move(seqs), rl_step));
  for (auto it = m.begin(); it != m.end(); ++it) out.back().metrics[it.key()] = it.value();
  return out;
}

Json OnlineStep::evaluate(const std::vector<PromptRef>& prompts) {
  const rollout::SamplingParams sp = sampling_params(c_, stop_ids_);
  const int64_t n = r_.num_generations - r_.demos_per_group;
  const auto [p0, p1] = share(prompts.size());
  std::vector<rollout::Request> reqs;
  for (size_t i = p0; i < p1; ++i) {
    rollout::Request q{prompts[i]->prompt, sp};
    q.params.n = n;
    // The same seeds at every evaluation: the held-out numbers move only with the weights.
    q.params.seed = mix_seed(uint64_t(c_.seed), 0xe7a1ull, 0, i);
    reqs.push_back(q);
  }
  const double t0 = now();
  const auto out = generate(policy_, c_, reqs);
  std::vector<RolloutSeq> seqs;
  for (size_t i = p0; i < p1; ++i)
    for (const auto& s : out[i - p0]) {
      RolloutSeq q;
      q.ex = prompts[i];
      q.group = int64_t(i);
      q.prompt = prompts[i]->prompt;
      q.completion = s.ids;
      q.truncated = s.finish == rollout::FinishReason::kLength;
      seqs.push_back(std::move(q));
    }
  rewards_.score(seqs);
  seqs = gather(std::move(seqs), prompts);
  Json m = Json::object();
  rollout_metrics(seqs, rewards_, c_.success_threshold, r_.pass_at_k, m, "eval_");
  m["eval_prompts"] = int64_t(prompts.size());
  m["time/eval"] = now() - t0;
  return m;
}

Json OnlineStep::run(const PromptSource& next_prompts, int64_t rl_step, const OptimizerStep& optimizer_step) {
  auto batches = collect(next_prompts, rl_step);
  Json m = Json::object();
  std::map<std::string, double> sum;
  int64_t n = 0;
  for (auto& pb : batches) {
    for (auto it = pb.metrics.begin(); it != pb.metrics.end(); ++it)
      if (!m.contains(it.key())) m[it.key()] = it.value();
    while (!pb.done()) {
      policy_.zero_grad();
      const Json u = minibatch_gradients(pb);
      for (auto it = u.begin(); it != u.end(); ++it)
        if (it.value().is_number()) sum[it.key()] += it.value().get<double>();
      sum["grad_norm"] += optimizer_step();
      ++n;
    }
  }
  for (const auto& [k, v] : sum) m[k] = k == "time/update" ? v : v / double(std::max<int64_t>(n, 1));
  m["optimizer_steps"] = n;
  return m;
}

}  // namespace tandem::train
