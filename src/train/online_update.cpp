// OnlineStep::train_on: the model passes of an online step. Before any update: the frozen reference's
// log-probs (KL terms), the policy's log-probs where the rollout did not record them (given sequences,
// demonstrations) and the critic's values (PPO); then advantages over the whole batch
// (objective::compute_advantages); then ppo_epochs x num_mini_batches optimizer steps, each over
// micro-batches whose normaliser counts the tokens and sequences of the whole mini-batch (and of its
// demonstrations and rollouts apart, for terms over one part). With N ranks each runs these passes
// over its share of the sequences: per-token results before the update are all-gathered, gradients
// are summed by the loop, the mini-batch's statistics are summed here (online_step.h).
// Response-token layout: a sequence is one padded row prompt + completion; completion token j sits at
// column P + j, whose logp/entropy the decoder reports there (model/batch.h), and whose value V_t is
// read at column P + j - 1, the state that token is generated from (verl's critic convention).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <numeric>

#include "core/error.h"
#include "core/rng.h"
#include "objective/advantage.h"
#include "objective/objective.h"
#include "train/online_step.h"
#include "train/reference.h"

namespace tandem::train {

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

struct Packed {
  model::TokenBatch batch;
  std::vector<int64_t> offsets;  // [B+1] into the flat response tokens of these sequences
  std::vector<int64_t> at;       // [N] column of each response token in the [B*T] outputs
};

Packed pack(const std::vector<RolloutSeq>& seqs, std::span<const size_t> idx) {
  Packed p;
  std::vector<std::vector<int32_t>> rows;
  for (size_t i : idx) {
    std::vector<int32_t> r = seqs[i].prompt;
    r.insert(r.end(), seqs[i].completion.begin(), seqs[i].completion.end());
    rows.push_back(std::move(r));
  }
  p.batch = model::TokenBatch::padded(rows);
  p.offsets.push_back(0);
  for (size_t b = 0; b < idx.size(); ++b) {
    const RolloutSeq& s = seqs[idx[b]];
    for (size_t j = 0; j < s.completion.size(); ++j) p.at.push_back(int64_t(b) * p.batch.T + int64_t(s.prompt.size() + j));
    p.offsets.push_back(int64_t(p.at.size()));
  }
  return p;
}

// Splits [0, n) into chunks of at most k (k <= 0: one chunk).
std::vector<std::pair<size_t, size_t>> chunks(size_t n, int64_t k) {
  std::vector<std::pair<size_t, size_t>> out;
  const size_t step = k > 0 ? size_t(k) : std::max<size_t>(n, 1);
  for (size_t b = 0; b < n; b += step) out.emplace_back(b, std::min(n, b + step));
  return out;
}

}  // namespace

PreparedBatch OnlineStep::prepare(std::vector<RolloutSeq> seqs, int64_t rl_step, int64_t epochs) {
  if (epochs <= 0) epochs = r_.ppo_epochs;
  PreparedBatch pb;
  pb.rl_step = rl_step;
  Json& m = pb.metrics;
  const size_t B = seqs.size();
  for (size_t i = 0; i < B; ++i) {
    if (seqs[i].prompt.empty() || seqs[i].completion.empty())
      throw Error("online.batch", cat("sequence ", i, " has an empty prompt or completion, expected at least one token each"));
    if (!seqs[i].old_logp.empty() && seqs[i].old_logp.size() != seqs[i].completion.size())
      throw Error("online.batch", cat("sequence ", i, ": ", seqs[i].old_logp.size(), " log-probs for ",
                                      seqs[i].completion.size(), " completion tokens"));
  }
  const auto& vc = policy_.config();
  for (const auto& s : seqs)
    for (int32_t t : s.completion)
      if (t < 0 || t >= vc.vocab_size) throw Error("online.batch", cat("completion token ", t, " outside [0, ", vc.vocab_size, ")"));

  // Flat per-token arrays over every sequence of the batch, in seqs order.
  std::vector<int64_t>& off = pb.off;
  off.assign(B + 1, 0);
  for (size_t i = 0; i < B; ++i) off[i + 1] = off[i] + int64_t(seqs[i].completion.size());
  const size_t N = size_t(off[B]);
  std::vector<float> mask(N, 1.f);
  std::vector<float>& old_logp = pb.old_logp;
  old_logp.assign(N, 0.f);
  std::vector<int64_t> need_old;
  for (size_t i = 0; i < B; ++i) {
    if (seqs[i].old_logp.empty()) need_old.push_back(int64_t(i));
    else std::copy(seqs[i].old_logp.begin(), seqs[i].old_logp.end(), old_logp.begin() + off[i]);
  }

  // Passes before any update, in the micro-batches one process would make, each rank running a
  // contiguous run of them; the per-token results are then all-gathered.
  const double t_ref0 = now();
  std::vector<size_t> all(B);
  std::iota(all.begin(), all.end(), size_t(0));
  const int64_t mb_size = c_.per_device_train_batch_size;
  if (r_.needs_ref) {
    pb.ref_logp.assign(N, 0.f);
    const auto [s0, s1] = share(B, mb_size);
    for (auto [b0, b1] : chunks(s1 - s0, mb_size)) {
      const Packed p = pack(seqs, std::span(all).subspan(s0 + b0, b1 - b0));
      const auto out = ref_->forward(p.batch, kReferenceForward);
      for (size_t k = 0; k < p.at.size(); ++k) pb.ref_logp[size_t(off[s0 + b0]) + k] = out.logp.f32()[p.at[k]];
    }
    std::vector<int64_t> token_bounds;
    for (size_t b : share_bounds(B, mb_size)) token_bounds.push_back(off[b]);
    comm_.all_gather(pb.ref_logp.data(), token_bounds);
  }
  if (r_.critic || !need_old.empty()) {
    std::vector<size_t> which;  // the sequences this pass reads
    if (r_.critic) which = all;
    else for (int64_t i : need_old) which.push_back(size_t(i));
    // Its outputs, token after token of `which`: what the ranks gather.
    std::vector<int64_t> woff(which.size() + 1, 0);
    for (size_t j = 0; j < which.size(); ++j) woff[j + 1] = woff[j] + int64_t(seqs[which[j]].completion.size());
    std::vector<float> wlogp(size_t(woff.back())), wvalue(r_.critic ? size_t(woff.back()) : 0);
    const auto [w0, w1] = share(which.size(), mb_size);
    for (auto [b0, b1] : chunks(w1 - w0, mb_size)) {
      const std::span<const size_t> sub(which.data() + w0 + b0, b1 - b0);
      const Packed p = pack(seqs, sub);
      const auto out = policy_.forward(p.batch, {.value = r_.critic});
      for (size_t k = 0; k < p.at.size(); ++k) {
        const size_t t = size_t(woff[w0 + b0]) + k;
        wlogp[t] = out.logp.f32()[p.at[k]];
        if (r_.critic) wvalue[t] = out.value.f32()[p.at[k] - 1];
      }
    }
    std::vector<int64_t> token_bounds;
    for (size_t b : share_bounds(which.size(), mb_size)) token_bounds.push_back(woff[b]);
    comm_.all_gather(wlogp.data(), token_bounds);
    if (r_.critic) {
      comm_.all_gather(wvalue.data(), token_bounds);
      pb.old_values.assign(N, 0.f);
    }
    for (size_t j = 0; j < which.size(); ++j) {
      const size_t i = which[j];
      const bool recompute = seqs[i].old_logp.empty();
      for (int64_t k = 0; k < off[i + 1] - off[i]; ++k) {
        if (recompute) old_logp[size_t(off[i] + k)] = wlogp[size_t(woff[j] + k)];
        if (r_.critic) pb.old_values[size_t(off[i] + k)] = wvalue[size_t(woff[j] + k)];
      }
    }
  }
  m["time/reference"] = now() - t_ref0;

  // Advantages over the whole batch.
  pb.reward.resize(B);
  pb.is_demo.resize(B);
  std::vector<float> baseline(B);
  std::vector<int64_t> group(B);
  for (size_t i = 0; i < B; ++i) {
    pb.reward[i] = float(seqs[i].reward);
    baseline[i] = float(seqs[i].baseline);
    group[i] = seqs[i].group;
    pb.is_demo[i] = seqs[i].demo;
  }
  objective::AdvantageInput ai;
  ai.offsets = off;
  ai.mask = mask;
  ai.reward = pb.reward;
  ai.group = group;
  ai.old_logp = old_logp;
  ai.ref_logp = pb.ref_logp;
  ai.values = pb.old_values;
  ai.baseline = baseline;
  objective::Advantages adv = objective::compute_advantages(r_.obj.advantage, ai);
  pb.advantages = std::move(adv.advantages);
  pb.returns = std::move(adv.returns);
  {
    double s = 0, s2 = 0, lo = 0, hi = 0;
    for (size_t t = 0; t < N; ++t) {
      const double a = pb.advantages[t];
      s += a, s2 += a * a;
      lo = t == 0 ? a : std::min(lo, a);
      hi = t == 0 ? a : std::max(hi, a);
    }
    const double mean = N ? s / double(N) : 0;
    m["advantages/mean"] = mean;
    m["advantages/std"] = N ? std::sqrt(std::max(0.0, s2 / double(N) - mean * mean)) : 0.0;
    m["advantages/min"] = lo;
    m["advantages/max"] = hi;
  }
  if (r_.needs_ref) {  // k3 of the behaviour policy to the reference, token mean
    double k = 0;
    for (size_t t = 0; t < N; ++t) {
      const double x = double(pb.ref_logp[t]) - double(old_logp[t]);
      k += std::exp(x) - x - 1.0;
    }
    m["kl_ref"] = N ? k / double(N) : 0.0;
  }
  m["sequences"] = int64_t(B);

  // Mini-batches: ppo_epochs passes; each shuffles (verl) when it splits the batch.
  pb.pad_width = c_.max_new_tokens;
  for (const auto& s : seqs) pb.pad_width = std::max<int64_t>(pb.pad_width, int64_t(s.completion.size()));
  Rng rng(uint64_t(c_.seed), 0x5eed0000ull + uint64_t(rl_step));
  std::vector<size_t> order = all;
  const size_t nmb = size_t(std::min<int64_t>(c_.num_mini_batches, int64_t(B)));
  for (int64_t epoch = 0; epoch < epochs; ++epoch) {
    if (nmb > 1)
      for (size_t i = B; i > 1; --i) std::swap(order[i - 1], order[size_t(rng.next_bits()) % i]);
    for (size_t mb = 0; mb < nmb; ++mb)
      pb.mini_batches.emplace_back(order.begin() + mb * B / nmb, order.begin() + (mb + 1) * B / nmb);
  }
  pb.seqs = std::move(seqs);
  return pb;
}

Json OnlineStep::minibatch_gradients(PreparedBatch& pb) {
  TD_ASSERT(!pb.done(), "no mini-batch left");
  const double t0 = now();
  const bool first = pb.next == 0;
  const std::vector<size_t>& mbi = pb.mini_batches[pb.next++];
  const auto& seqs = pb.seqs;
  const auto& off = pb.off;
  // Normaliser counts of the whole mini-batch, overall and per part (demonstrations / rollouts), so
  // that splitting it into micro-batches does not change the update.
  double tokens = 0, part_tokens[2] = {0, 0}, part_seqs[2] = {0, 0};
  for (size_t i : mbi) {
    const double n = double(seqs[i].completion.size());
    tokens += n;
    part_tokens[pb.is_demo[i] ? 1 : 0] += n;
    part_seqs[pb.is_demo[i] ? 1 : 0] += n > 0;
  }
  std::map<std::string, double> stat_sum;
  double ent_sum = 0, ent_n = 0, gap_max = 0, gap_sum = 0, gap_n = 0;
  const auto [m0, m1] = share(mbi.size(), c_.per_device_train_batch_size);  // this rank's micro-batches
  const auto micro = chunks(m1 - m0, c_.per_device_train_batch_size);
  for (auto [u0, u1] : micro) {
    if (u1 == micro.back().second) policy_.last_backward_next();
    const std::span<const size_t> sub(mbi.data() + m0 + u0, u1 - u0);
    const Packed p = pack(seqs, sub);
    const auto out = policy_.forward(p.batch, {.entropy = true, .value = r_.critic, .for_backward = true});
    const size_t n = p.at.size(), nb = sub.size();
    std::vector<float> lp(n), en(n), va, olp(n), rlp, ova, a(n), ret(n), rw(nb), mk(n, 1.f);
    std::vector<uint8_t> dm(nb);
    if (r_.critic) va.resize(n), ova.resize(n);
    if (r_.needs_ref) rlp.resize(n);
    for (size_t b = 0; b < nb; ++b) {
      const size_t i = sub[b];
      rw[b] = pb.reward[i];
      dm[b] = pb.is_demo[i];
      for (int64_t k = p.offsets[b]; k < p.offsets[b + 1]; ++k) {
        const size_t t = size_t(off[i] + (k - p.offsets[b])), kk = size_t(k);
        const int64_t col = p.at[kk];
        lp[kk] = out.logp.f32()[col];
        en[kk] = out.entropy.f32()[col];
        olp[kk] = pb.old_logp[t];
        a[kk] = pb.advantages[t];
        ret[kk] = pb.returns[t];
        if (r_.critic) va[kk] = out.value.f32()[col - 1], ova[kk] = pb.old_values[t];
        if (r_.needs_ref) rlp[kk] = pb.ref_logp[t];
      }
    }
    if (first)  // before any update from this batch: the rollout/training log-prob gap
      for (size_t k = 0; k < n; ++k) {
        const double g = std::fabs(double(lp[k]) - double(olp[k]));
        gap_max = std::max(gap_max, g), gap_sum += g, gap_n += 1;
      }
    for (size_t k = 0; k < n; ++k) ent_sum += en[k], ent_n += 1;
    objective::Batch ob;
    ob.offsets = p.offsets;
    ob.mask = mk;
    ob.logp = lp;
    ob.old_logp = olp;
    ob.ref_logp = rlp;
    ob.entropy = en;
    ob.values = va;
    ob.old_values = ova;
    ob.advantages = a;
    ob.returns = ret;
    ob.reward = rw;
    ob.is_demo = dm;
    ob.global_tokens = tokens;
    ob.global_seqs = double(mbi.size());
    ob.global_rollout_tokens = part_tokens[0];
    ob.global_rollout_seqs = part_seqs[0];
    ob.global_demo_tokens = part_tokens[1];
    ob.global_demo_seqs = part_seqs[1];
    ob.pad_width = pb.pad_width;
    ob.step = pb.rl_step;
    std::vector<float> dl(n), de(n), dv(r_.critic ? n : 0);
    const auto res = objective::compute(r_.obj, ob, {dl, de, dv});
    const double w = double(n) / tokens;
    for (const auto& [k, v] : res.stats)  // losses add over micro-batches; ratios average over tokens
      stat_sum[k] += (k == "loss" || k.rfind("loss/", 0) == 0) ? v : w * v;
    const int64_t BT = p.batch.N();
    Tensor gl = Tensor::zeros({BT}), ge, gv;
    if (r_.needs_entropy) ge = Tensor::zeros({BT});
    if (r_.critic) gv = Tensor::zeros({BT});
    for (size_t k = 0; k < n; ++k) {
      gl.f32()[p.at[k]] = dl[k];
      if (r_.needs_entropy) ge.f32()[p.at[k]] = de[k];
      if (r_.critic) gv.f32()[p.at[k] - 1] = dv[k];
    }
    policy_.backward(gl, ge, gv);
  }
  policy_.gradients_complete();  // before the statistics' gather (a rank without a micro-batch starts every bucket here)
  if (comm_.size() > 1) {  // every rank's sums, added in rank order; the largest gap
    const Json mine = {{"stats", stat_sum}, {"ent", {ent_sum, ent_n}}, {"gap", {gap_sum, gap_n, gap_max}}};
    // JSON writes a NaN or inf as null: it comes back as NaN, so the loop's non-finite check still fires.
    const auto num = [](const Json& v) { return v.is_number() ? v.get<double>() : std::nan(""); };
    stat_sum.clear();
    ent_sum = ent_n = gap_sum = gap_n = 0;
    for (const std::string& part : comm_.all_gather_bytes(mine.dump())) {
      const Json j = Json::parse(part);
      for (auto it = j["stats"].begin(); it != j["stats"].end(); ++it) stat_sum[it.key()] += num(it.value());
      ent_sum += num(j["ent"][0]), ent_n += num(j["ent"][1]);
      gap_sum += num(j["gap"][0]), gap_n += num(j["gap"][1]);
      gap_max = std::max(gap_max, num(j["gap"][2]));
    }
  }
  Json m = Json::object();
  for (const auto& [k, v] : stat_sum) m[k == "loss" ? "loss" : cat("objective/", k)] = v;
  m["entropy"] = ent_n > 0 ? ent_sum / ent_n : 0.0;
  if (first) {
    m["logprob_gap/max"] = gap_max;
    m["logprob_gap/mean"] = gap_n > 0 ? gap_sum / gap_n : 0.0;
  }
  m["tokens"] = tokens;
  m["time/update"] = now() - t0;
  return m;
}

}  // namespace tandem::train
