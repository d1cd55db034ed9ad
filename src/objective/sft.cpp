// Weighted negative log-likelihood: the SFT family, ψ_t = -sg(w_t)·ℓ_t, so c_t = w_t (algorithms.md §3).
//   sft (and rft, relift/hpt SFT phase): w_t = 1                        InstructGPT stage 1, arXiv 2203.02155
//   dft:       w_t = p_t = exp(ℓ_t), detached                           Wu et al., arXiv 2508.05629, Eq. (DFT loss)
//   chord_phi: w_t = p_t (1 - p_t), detached                            Zhang et al., arXiv 2508.11408 (CHORD-φ)
// Reduction: whatever the term's aggregation says; SFT/DFT presets use token-mean over the global batch
// (TRL divides by num_items_in_batch). RFT's filtering (keep verified-correct samples) is the trainer's.
// Parity: TRL SFTTrainer loss_type nll / dft; Trinity-RFT mix_chord sft loss.
#include <cmath>

#include "objective/terms.h"

namespace tandem::objective::detail {

void nll_tokens(TermType type, const Batch& b, const SeqSel& sel, TokenTerm& out, Stats& st) {
  double nll = 0, n = 0;
  for (int64_t s = 0; s < b.n_seq(); ++s) {
    if (!sel[s]) continue;
    for (int64_t t = b.offsets[s]; t < b.offsets[s + 1]; ++t) {
      const double l = b.logp[t];
      const double p = std::exp(l);
      const double w = type == TermType::kSft ? 1.0 : (type == TermType::kDft ? p : p * (1.0 - p));
      out.psi[t] = -w * l;
      out.dlogp[t] = -w;
      nll -= double(b.mask[t]) * l;
      n += b.mask[t];
    }
  }
  st["nll"] = n > 0 ? nll / n : 0.0;
}

}  // namespace tandem::objective::detail
