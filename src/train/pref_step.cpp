#include "train/pref_step.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "objective/objective.h"
#include "train/reference.h"

namespace tandem::train {

using objective::TermType;

namespace {

bool has_term(const objective::ObjectiveConfig& c, TermType t) {
  for (const auto& ts : c.terms)
    if (ts.type == t) return true;
  return false;
}

// Length-averaged log-probs are what TRL logs for the objectives that average them.
bool averages_logps(const objective::ObjectiveConfig& c) {
  return has_term(c, TermType::kSimpo) || has_term(c, TermType::kOrpo) ||
         (has_term(c, TermType::kDpo) && c.dpo_loss == objective::DpoLoss::kIpo);
}

double masked_len(const PrefBatch& pb, int64_t s) {
  double n = 0;
  for (int64_t k = pb.offsets[s]; k < pb.offsets[s + 1]; ++k) n += pb.mask[k];
  return n;
}

// The preference kernels read only Σ_t m_t ℓ^ref_t per sequence, so a sum (cached or computed) is
// placed whole on the first completion token; a sequence without one contributes 0 either way.
std::vector<float> spread_ref(const PrefBatch& pb, std::span<const double> sums) {
  std::vector<float> r(size_t(pb.n_tok()), 0.f);
  for (int64_t s = 0; s < pb.n_seq(); ++s)
    for (int64_t k = pb.offsets[s]; k < pb.offsets[s + 1]; ++k)
      if (pb.mask[k] > 0) {
        r[k] = float(sums[size_t(s)]);
        break;
      }
  return r;
}

}  // namespace

bool objective_needs_ref(const objective::ObjectiveConfig& c) { return has_term(c, TermType::kDpo) || has_term(c, TermType::kKto); }
bool objective_is_unpaired(const objective::ObjectiveConfig& c) { return has_term(c, TermType::kKto); }
bool objective_is_reward_model(const objective::ObjectiveConfig& c) { return has_term(c, TermType::kRm); }

PreferenceStep::PreferenceStep(objective::ObjectiveConfig obj, CollateOptions opts, model::Decoder& policy, model::Decoder* ref)
    : obj_(std::move(obj)), opts_(std::move(opts)), policy_(policy), ref_(ref) {
  for (const auto& ts : obj_.terms)
    if (ts.type != TermType::kDpo && ts.type != TermType::kSimpo && ts.type != TermType::kOrpo &&
        ts.type != TermType::kCpo && ts.type != TermType::kKto && ts.type != TermType::kRm && ts.type != TermType::kSft)
      throw Error("objective.terms", cat("term '", objective::term_name(ts.type),
                                         "' is not an offline preference term; expected dpo, simpo, orpo, cpo, kto, rm (+ sft)"));
  if (objective_is_unpaired(obj_) && obj_.terms.size() != 1)
    throw Error("objective.terms", "kto reads unpaired examples and cannot be mixed with pair terms");
}

std::vector<double> PreferenceStep::sequence_logp_sums(model::Decoder& dec, const PrefBatch& pb, const model::ForwardOptions& opt) {
  const auto out = dec.forward(pb.tokens, opt);
  std::vector<double> sums(size_t(pb.n_seq()), 0.0);
  const float* lp = out.logp.f32();
  for (int64_t s = 0; s < pb.n_seq(); ++s)
    for (int64_t k = pb.offsets[s]; k < pb.offsets[s + 1]; ++k) sums[size_t(s)] += double(pb.mask[k]) * lp[pb.index[k]];
  return sums;
}

std::array<double, 2> PreferenceStep::ref_pair(int64_t id) const {
  auto it = cache_.find(id);
  TD_ASSERT(it != cache_.end(), "no cached reference sums for example ", id);
  return it->second;
}

void PreferenceStep::cache_pairs(std::span<const data::PreferenceExample> exs, std::span<const int64_t> ids) {
  if (!ref_) throw Error("train.ref", "precomputing reference log-probs needs the reference model");
  const auto seqs = pair_sequences(exs);
  const auto sums = sequence_logp_sums(*ref_, collate(seqs, opts_), kReferenceForward);
  for (size_t i = 0; i < exs.size(); ++i) cache_[ids[i]] = {sums[2 * i], sums[2 * i + 1]};
}

void PreferenceStep::cache_unpaired(std::span<const data::UnpairedExample> exs,
                                    std::span<const std::vector<int32_t>* const> kl_completions, std::span<const int64_t> ids) {
  if (!ref_) throw Error("train.ref", "precomputing reference log-probs needs the reference model");
  std::vector<SeqRef> seqs = unpaired_sequences(exs);
  for (size_t i = 0; i < exs.size(); ++i) seqs.push_back({exs[i].prompt, *kl_completions[i]});
  const auto sums = sequence_logp_sums(*ref_, collate(seqs, opts_), kReferenceForward);
  for (size_t i = 0; i < exs.size(); ++i) cache_[ids[i]] = {sums[i], sums[exs.size() + i]};
}

PrefResult PreferenceStep::run_pairs(std::span<const data::PreferenceExample> exs, std::span<const int64_t> ids,
                                     double grad_scale, bool train) {
  TD_ASSERT(ids.size() == exs.size(), "ids ", ids.size(), " vs examples ", exs.size());
  const auto seqs = pair_sequences(exs);
  const PrefBatch pb = collate(seqs, opts_);
  std::vector<float> ref;
  if (objective_needs_ref(obj_)) {
    std::vector<double> sums(seqs.size());
    const bool all_cached = std::all_of(ids.begin(), ids.end(), [&](int64_t id) { return cache_.count(id) > 0; });
    if (all_cached) {
      for (size_t i = 0; i < exs.size(); ++i) {
        const auto r = ref_pair(ids[i]);
        sums[2 * i] = r[0], sums[2 * i + 1] = r[1];
      }
    } else {
      if (!ref_) throw Error("train.ref", "reference log-probs are neither cached nor computable (no reference model)");
      sums = sequence_logp_sums(*ref_, pb, kReferenceForward);
    }
    ref = spread_ref(pb, sums);
  }
  std::vector<float> margin;
  if (objective_is_reward_model(obj_)) {
    bool any = false;
    for (const auto& e : exs) margin.push_back(float(e.margin)), any = any || e.margin != 0;
    if (!any) margin.clear();
  }
  return finish(pb, ref, {}, margin, 0.0, grad_scale, train, int64_t(exs.size()));
}

PrefResult PreferenceStep::run_unpaired(std::span<const data::UnpairedExample> exs,
                                        std::span<const std::vector<int32_t>* const> kl_completions,
                                        std::span<const int64_t> ids, double grad_scale, bool train) {
  TD_ASSERT(ids.size() == exs.size() && kl_completions.size() == exs.size(), "kto inputs of different sizes");
  const size_t B = exs.size();
  const auto seqs = unpaired_sequences(exs);
  const PrefBatch pb = collate(seqs, opts_);
  std::vector<SeqRef> kl_seqs;
  for (size_t i = 0; i < B; ++i) kl_seqs.push_back({exs[i].prompt, *kl_completions[i]});
  const PrefBatch kl_pb = collate(kl_seqs, opts_);
  std::vector<double> ref_sums(B), ref_kl(B);
  const bool all_cached = std::all_of(ids.begin(), ids.end(), [&](int64_t id) { return cache_.count(id) > 0; });
  if (all_cached) {
    for (size_t i = 0; i < B; ++i) {
      const auto r = ref_pair(ids[i]);
      ref_sums[i] = r[0], ref_kl[i] = r[1];
    }
  } else {
    if (!ref_) throw Error("train.ref", "reference log-probs are neither cached nor computable (no reference model)");
    ref_sums = sequence_logp_sums(*ref_, pb, kReferenceForward);
    ref_kl = sequence_logp_sums(*ref_, kl_pb, kReferenceForward);
  }
  // z0 (TRL KTO): mean over the mismatched pairs of the policy/reference log-ratio, detached.
  const auto pol_kl = sequence_logp_sums(policy_, kl_pb);
  double kl = 0;
  for (size_t i = 0; i < B; ++i) kl += pol_kl[i] - ref_kl[i];
  kl = B ? kl / double(B) : 0.0;
  std::vector<float> label(B);
  for (size_t i = 0; i < B; ++i) label[i] = exs[i].label ? 1.f : 0.f;
  std::vector<double> seq_lp;
  PrefResult r = finish(pb, spread_ref(pb, ref_sums), label, {}, kl, grad_scale, train, int64_t(B), &seq_lp);
  // Held-out classification accuracy: a desirable example's log-ratio above the KL baseline, an
  // undesirable one's below (ours; TRL logs no accuracy for KTO).
  const double z0 = std::max(0.0, kl);
  double acc = 0, lc = 0, lr = 0, nc = 0, nr = 0;
  for (size_t i = 0; i < B; ++i) {
    const double lp = seq_lp[i];
    const double rho = lp - ref_sums[i];
    acc += (rho > z0) == exs[i].label;
    if (exs[i].label) lc += lp, nc += 1;
    else lr += lp, nr += 1;
  }
  r.stats["rewards/accuracies"] = B ? acc / double(B) : 0.0;
  r.stats["logps/chosen"] = nc > 0 ? lc / nc : 0.0;
  r.stats["logps/rejected"] = nr > 0 ? lr / nr : 0.0;
  return r;
}

PrefResult PreferenceStep::finish(const PrefBatch& pb, std::span<const float> ref_logp, std::span<const float> label,
                                  std::span<const float> margin, double kto_kl, double grad_scale, bool train,
                                  int64_t n_examples, std::vector<double>* seq_logp) {
  const bool rm = objective_is_reward_model(obj_);
  model::ForwardOptions fo;
  fo.value = rm;
  fo.for_backward = train;
  const auto out = policy_.forward(pb.tokens, fo);
  const int64_t n = pb.n_tok(), S = pb.n_seq();
  std::vector<float> logp = pb.gather(out.logp.f32()), values, mask = pb.mask;
  if (rm) {
    values = pb.gather(out.value.f32());
    std::fill(mask.begin(), mask.end(), 0.f);  // the rm kernel reads the reward at the last token with mask > 0
    for (int64_t s = 0; s < S; ++s) mask[pb.reward_at[s]] = 1.f;
  }
  objective::Batch b;
  b.offsets = pb.offsets;
  b.mask = mask;
  b.logp = logp;
  b.ref_logp = ref_logp;
  b.values = values;
  b.label = label;
  b.margin = margin;
  b.kto_kl = kto_kl;
  std::vector<float> dlogp(size_t(n), 0.f), dvalues(rm ? size_t(n) : 0, 0.f);
  objective::Result res = objective::compute(obj_, b, {dlogp, {}, dvalues});

  PrefResult r;
  r.loss = res.loss;
  r.stats = std::move(res.stats);
  r.n_examples = n_examples;
  for (int32_t seg : pb.tokens.segments) r.n_tokens += seg >= 0;
  // Log-probs as TRL logs them (summed, or length-averaged where the loss averages), and ORPO's
  // rewards beta * mean log-prob.
  const bool avg = averages_logps(obj_);
  std::vector<double> seq_lp(size_t(S), 0.0);
  for (int64_t s = 0; s < S; ++s)
    for (int64_t k = pb.offsets[s]; k < pb.offsets[s + 1]; ++k) seq_lp[size_t(s)] += double(pb.mask[k]) * logp[k];
  if (!objective_is_unpaired(obj_) && !rm && S >= 2) {
    double lc = 0, lr = 0;
    for (int64_t p = 0; p < S / 2; ++p) {
      const double nc = avg ? std::max(masked_len(pb, 2 * p), 1.0) : 1.0, nr = avg ? std::max(masked_len(pb, 2 * p + 1), 1.0) : 1.0;
      lc += seq_lp[size_t(2 * p)] / nc;
      lr += seq_lp[size_t(2 * p + 1)] / nr;
    }
    const double P = double(S / 2);
    r.stats.try_emplace("logps/chosen", lc / P);
    r.stats.try_emplace("logps/rejected", lr / P);
    if (has_term(obj_, TermType::kOrpo)) {
      r.stats["rewards/chosen"] = obj_.beta * lc / P;
      r.stats["rewards/rejected"] = obj_.beta * lr / P;
      r.stats["rewards/margins"] = obj_.beta * (lc - lr) / P;
    }
  }
  if (train) {
    Tensor dl = Tensor::zeros({pb.tokens.N()}), dv;
    if (!rm) pb.scatter(dlogp, grad_scale, dl.f32());
    else {
      dl = Tensor();
      dv = Tensor::zeros({pb.tokens.N()});
      pb.scatter(dvalues, grad_scale, dv.f32());
    }
    policy_.backward(dl, Tensor(), dv);
  }
  if (seq_logp) *seq_logp = std::move(seq_lp);
  return r;
}

}  // namespace tandem::train
