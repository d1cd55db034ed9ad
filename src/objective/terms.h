// Internal interface between objective.cpp and the per-algorithm kernel files. Not a public header.
// A token kernel fills, for every token of the sequences it is given, ψ_t and ∂ψ_t/∂(logp, entropy, value);
// objective.cpp applies the mask, the aggregation weights and the term weight. A sequence kernel
// (preference terms) computes its own pair/example mean and writes scaled gradients directly.
#pragma once
#include <vector>

#include "objective/batch.h"
#include "objective/config.h"

namespace tandem::objective::detail {

struct TokenTerm {
  std::vector<double> psi, dlogp, dentropy, dvalue;  // [N]
  void reset(size_t n) {
    psi.assign(n, 0.0);
    dlogp.assign(n, 0.0);
    dentropy.assign(n, 0.0);
    dvalue.assign(n, 0.0);
  }
};
using Stats = std::map<std::string, double>;
using SeqSel = std::vector<uint8_t>;  // [B] 1 = the term reads this sequence

// Numerics shared by kernels.
double log_sigmoid(double z);
double sigmoid(double z);
// ρ_t = exp(clamp(ℓ - ℓ_old, ±c)); *dlog = 1 when the clamp is inactive (gradient passes), else 0.
double ratio(const Batch& b, int64_t t, double clamp, double* dlog);
double masked_len(const Batch& b, int64_t s);    // |o_s| = Σ_t m_t
double seq_logp_sum(const Batch& b, int64_t s);  // Σ_t m_t ℓ_t
double seq_ref_sum(const Batch& b, int64_t s);   // Σ_t m_t ℓ^ref_t
// KL estimator value and ∂/∂x of the *gradient* form (k1+/k3+ straight-through use k2's) at x = ℓ - ℓ_ref.
double kl_value(KlType k, double x, double* dx);

// Token kernels (one file per algorithm family).
void nll_tokens(TermType type, const Batch& b, const SeqSel& sel, TokenTerm& out, Stats& st);        // sft.cpp
void policy_tokens(const ObjectiveConfig& c, const Batch& b, const SeqSel& sel, TokenTerm& out, Stats& st);  // ppo.cpp
void reinforce_tokens(const Batch& b, const SeqSel& sel, TokenTerm& out, Stats& st);                  // ppo.cpp
void cispo_tokens(const ObjectiveConfig& c, const Batch& b, const SeqSel& sel, TokenTerm& out, Stats& st);
void gspo_tokens(const ObjectiveConfig& c, const Batch& b, const SeqSel& sel, TokenTerm& out, Stats& st);
void luffy_tokens(const ObjectiveConfig& c, const Batch& b, const SeqSel& sel, TokenTerm& out, Stats& st);
void srft_tokens(const ObjectiveConfig& c, const Batch& b, const SeqSel& sel, TokenTerm& out, Stats& st);
void value_tokens(const ObjectiveConfig& c, const Batch& b, const SeqSel& sel, TokenTerm& out, Stats& st);
void kl_tokens(const ObjectiveConfig& c, const Batch& b, const SeqSel& sel, TokenTerm& out, Stats& st);
void entropy_tokens(const Batch& b, const SeqSel& sel, TokenTerm& out, Stats& st);

// Sequence kernels: return the term's loss; add weight·∂L/∂input into the double accumulators.
struct SeqGrads {
  std::vector<double>& dlogp;   // [N]
  std::vector<double>& dvalue;  // [N]
};
double dpo_loss(const ObjectiveConfig& c, const Batch& b, double weight, SeqGrads g, Stats& st);    // dpo.cpp
double simpo_loss(const ObjectiveConfig& c, const Batch& b, double weight, SeqGrads g, Stats& st);  // simpo.cpp
double cpo_loss(const ObjectiveConfig& c, const Batch& b, double weight, SeqGrads g, Stats& st);    // cpo.cpp
double orpo_loss(const ObjectiveConfig& c, const Batch& b, double weight, SeqGrads g, Stats& st);   // orpo.cpp
double kto_loss(const ObjectiveConfig& c, const Batch& b, double weight, SeqGrads g, Stats& st);    // kto.cpp
double rm_loss(const ObjectiveConfig& c, const Batch& b, double weight, SeqGrads g, Stats& st);     // rm.cpp

}  // namespace tandem::objective::detail
