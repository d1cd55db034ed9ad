// compute(): dispatch each configured term to its kernel, aggregate token terms with the normaliser of
// algorithms.md §1, sum with weights in double, and write float gradients.
// Aggregation is applied per term over the sequences that term reads (TermSpec::subset), which is
// what CHORD's "token-mean within each part" needs; each term uses the global counts of its part.
#include "objective/objective.h"

#include <algorithm>

#include "core/error.h"
#include "objective/terms.h"

namespace tandem::objective {

using detail::SeqSel;
using detail::TokenTerm;

namespace {

bool is_sequence_term(TermType t) {
  return t == TermType::kDpo || t == TermType::kSimpo || t == TermType::kOrpo || t == TermType::kKto ||
         t == TermType::kCpo || t == TermType::kRm;
}

// w_t such that L = Σ_t w_t ψ_t; w_t already carries the mask m_t.
std::vector<double> agg_weights(AggMode mode, double norm_const, const Batch& b, const SeqSel& sel, Subset subset) {
  const int64_t B = b.n_seq();
  std::vector<double> w(size_t(b.n_tok()), 0.0);
  double tokens = 0, seqs = 0;
  int64_t longest = 0;
  for (int64_t s = 0; s < B; ++s) {
    longest = std::max(longest, b.offsets[s + 1] - b.offsets[s]);
    if (!sel[s]) continue;
    const double len = detail::masked_len(b, s);
    tokens += len;
    seqs += len > 0;
  }
  const double global_tokens = subset == Subset::kAll    ? b.global_tokens
                               : subset == Subset::kDemo ? b.global_demo_tokens
                                                         : b.global_rollout_tokens;
  const double global_seqs = subset == Subset::kAll    ? b.global_seqs
                             : subset == Subset::kDemo ? b.global_demo_seqs
                                                       : b.global_rollout_seqs;
  if (global_tokens > 0) tokens = global_tokens;
  if (global_seqs > 0) seqs = global_seqs;
  const double lnorm = norm_const > 0 ? norm_const : double(b.pad_width > 0 ? b.pad_width : longest);
  for (int64_t s = 0; s < B; ++s) {
    if (!sel[s]) continue;
    const double len = detail::masked_len(b, s);
    double scale = 0;
    switch (mode) {
      case AggMode::kTokenMean: scale = tokens > 0 ? 1.0 / tokens : 0; break;
      case AggMode::kTokenSum: scale = 1.0; break;
      case AggMode::kSeqMeanTokenSum: scale = seqs > 0 ? 1.0 / seqs : 0; break;
      case AggMode::kSeqMeanTokenMean: scale = (seqs > 0 && len > 0) ? 1.0 / (seqs * len) : 0; break;
      case AggMode::kSeqMeanTokenSumNorm: scale = (seqs > 0 && lnorm > 0) ? 1.0 / (seqs * lnorm) : 0; break;
      case AggMode::kTokenSumNorm: scale = lnorm > 0 ? 1.0 / lnorm : 0; break;
    }
    for (int64_t t = b.offsets[s]; t < b.offsets[s + 1]; ++t) w[t] = double(b.mask[t]) * scale;
  }
  return w;
}

void need(bool ok, const char* field, TermType t) {
  if (!ok)
    throw Error(cat("objective.batch.", field),
                cat("term '", term_name(t), "' needs this input, expected a span of the right size, got none"));
}

void check_inputs(const ObjectiveConfig& c, const Batch& b) {
  const size_t N = size_t(b.n_tok()), B = size_t(b.n_seq());
  for (const TermSpec& ts : c.terms) {
    const TermType t = ts.type;
    if (t != TermType::kRm && t != TermType::kValue && t != TermType::kEntropy) need(b.logp.size() == N, "logp", t);
    if (ts.subset != Subset::kAll || t == TermType::kLuffy || t == TermType::kSrft) need(b.is_demo.size() == B, "is_demo", t);
    switch (t) {
      case TermType::kPolicy: case TermType::kCispo: case TermType::kGspo: case TermType::kReinforce:
      case TermType::kLuffy:
        need(b.advantages.size() == N, "advantages", t);
        break;
      case TermType::kSrft:
        need(b.advantages.size() == N, "advantages", t);
        need(b.entropy.size() == N, "entropy", t);
        need(b.reward.size() == B, "reward", t);
        break;
      case TermType::kValue:
        need(b.values.size() == N, "values", t);
        need(b.returns.size() == N, "returns", t);
        if (c.value_clip > 0) need(b.old_values.size() == N, "old_values", t);
        break;
      case TermType::kKl: need(b.ref_logp.size() == N, "ref_logp", t); break;
      case TermType::kEntropy: need(b.entropy.size() == N, "entropy", t); break;
      case TermType::kDpo: case TermType::kKto: need(b.ref_logp.size() == N, "ref_logp", t); break;
      case TermType::kRm: need(b.values.size() == N, "values", t); break;
      default: break;
    }
    if (t == TermType::kKto) need(b.label.size() == B, "label", t);
    if (is_sequence_term(t) && t != TermType::kKto && B % 2 != 0)
      throw Error("objective.batch.offsets",
                  cat("term '", term_name(t), "' reads (chosen, rejected) pairs, expected an even number of sequences, got ", B));
  }
}

}  // namespace

Result compute(const ObjectiveConfig& c, const Batch& b, const Grads& g) {
  validate_batch(b);
  check_inputs(c, b);
  const size_t N = size_t(b.n_tok());
  const int64_t B = b.n_seq();
  auto check_out = [&](std::span<float> s, const char* name) {
    if (!s.empty() && s.size() != N)
      throw Error(cat("objective.grads.", name), cat("expected ", N, " elements or none, got ", s.size()));
  };
  check_out(g.dlogp, "dlogp");
  check_out(g.dentropy, "dentropy");
  check_out(g.dvalues, "dvalues");

  std::vector<double> dlogp(N, 0.0), dent(N, 0.0), dval(N, 0.0);
  Result r;
  TokenTerm tt;
  for (const TermSpec& ts : c.terms) {
    double weight = ts.weight;
    if (ts.schedule == TermSpec::Schedule::kMu) weight *= chord_mu(c, b.step);
    if (ts.schedule == TermSpec::Schedule::kOneMinusMu) weight *= 1.0 - chord_mu(c, b.step);
    if (is_sequence_term(ts.type)) {
      detail::SeqGrads sg{dlogp, dval};
      double l = 0;
      switch (ts.type) {
        case TermType::kDpo: l = detail::dpo_loss(c, b, weight, sg, r.stats); break;
        case TermType::kSimpo: l = detail::simpo_loss(c, b, weight, sg, r.stats); break;
        case TermType::kCpo: l = detail::cpo_loss(c, b, weight, sg, r.stats); break;
        case TermType::kOrpo: l = detail::orpo_loss(c, b, weight, sg, r.stats); break;
        case TermType::kKto: l = detail::kto_loss(c, b, weight, sg, r.stats); break;
        case TermType::kRm: l = detail::rm_loss(c, b, weight, sg, r.stats); break;
        default: TD_ASSERT(false, "unhandled sequence term");
      }
      r.loss += weight * l;
      r.stats[cat("loss/", term_name(ts.type))] = l;
      continue;
    }
    SeqSel sel(size_t(B), 1);
    if (ts.subset != Subset::kAll)
      for (int64_t s = 0; s < B; ++s) sel[s] = (ts.subset == Subset::kDemo) == b.demo(s);
    tt.reset(N);
    switch (ts.type) {
      case TermType::kSft: case TermType::kDft: case TermType::kChordPhi:
        detail::nll_tokens(ts.type, b, sel, tt, r.stats); break;
      case TermType::kPolicy: detail::policy_tokens(c, b, sel, tt, r.stats); break;
      case TermType::kReinforce: detail::reinforce_tokens(b, sel, tt, r.stats); break;
      case TermType::kCispo: detail::cispo_tokens(c, b, sel, tt, r.stats); break;
      case TermType::kGspo: detail::gspo_tokens(c, b, sel, tt, r.stats); break;
      case TermType::kLuffy: detail::luffy_tokens(c, b, sel, tt, r.stats); break;
      case TermType::kSrft: detail::srft_tokens(c, b, sel, tt, r.stats); break;
      case TermType::kValue: detail::value_tokens(c, b, sel, tt, r.stats); break;
      case TermType::kKl: detail::kl_tokens(c, b, sel, tt, r.stats); break;
      case TermType::kEntropy: detail::entropy_tokens(b, sel, tt, r.stats); break;
      default: TD_ASSERT(false, "unhandled token term");
    }
    const AggMode mode = ts.agg ? *ts.agg : c.agg;
    const std::vector<double> w = agg_weights(mode, c.agg_norm, b, sel, ts.subset);
    double l = 0;
    for (size_t t = 0; t < N; ++t) {
      if (w[t] == 0) continue;
      l += w[t] * tt.psi[t];
      dlogp[t] += weight * w[t] * tt.dlogp[t];
      dent[t] += weight * w[t] * tt.dentropy[t];
      dval[t] += weight * w[t] * tt.dvalue[t];
    }
    r.loss += weight * l;
    r.stats[cat("loss/", term_name(ts.type))] = l;
  }
  for (size_t t = 0; t < g.dlogp.size(); ++t) g.dlogp[t] = float(dlogp[t]);
  for (size_t t = 0; t < g.dentropy.size(); ++t) g.dentropy[t] = float(dent[t]);
  for (size_t t = 0; t < g.dvalues.size(); ++t) g.dvalues[t] = float(dval[t]);
  r.stats["loss"] = r.loss;
  return r;
}

}  // namespace tandem::objective
