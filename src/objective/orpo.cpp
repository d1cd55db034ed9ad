// ORPO: NLL on the chosen answer plus an odds-ratio penalty; no reference model.
// Hong et al., arXiv 2403.07691, Eq. 6-7. Parity: TRL ORPOTrainer odds_ratio_loss.
//   lbar = Σ m logp / |y|,  log odds(y) = lbar - log(1 - exp(lbar))
//   LO_p = log odds(y_w) - log odds(y_l)
//   L = NLL(chosen, token-mean over the batch) - beta · (1/P) Σ_p log σ(LO_p)          (beta = λ)
//   ∂LO/∂lbar_w = 1/(1 - exp(lbar_w)),  ∂LO/∂lbar_l = -1/(1 - exp(lbar_l))
// Default beta (λ) 0.1 (TRL ORPOConfig). An empty completion has no odds (lbar = 0 ⇒ log 0): an Error.
#include <cmath>

#include "objective/pairs.h"

namespace tandem::objective::detail {

double orpo_loss(const ObjectiveConfig& c, const Batch& b, double weight, SeqGrads g, Stats& st) {
  const int64_t P = b.n_seq() / 2;
  if (P == 0) return 0.0;
  double pen = 0, lo_sum = 0, acc = 0;
  for (int64_t p = 0; p < P; ++p) {
    for (int64_t s : {2 * p, 2 * p + 1})
      if (masked_len(b, s) == 0)
        throw Error(cat("objective.batch.mask"), cat("orpo needs a non-empty completion, sequence ", s, " has none"));
    const double lw = seq_logp(b, 2 * p, true), ll = seq_logp(b, 2 * p + 1, true);
    const double LO = (lw - ll) - (std::log1p(-std::exp(lw)) - std::log1p(-std::exp(ll)));
    pen += log_sigmoid(LO);
    const double dLO = -c.beta * sigmoid(-LO) / double(P);  // ∂(-beta·mean log σ)/∂LO
    seq_backward(b, 2 * p, true, weight * dLO / (1.0 - std::exp(lw)), g.dlogp);
    seq_backward(b, 2 * p + 1, true, -weight * dLO / (1.0 - std::exp(ll)), g.dlogp);
    lo_sum += LO;
    acc += lw > ll;
  }
  const double nll = chosen_nll(b, weight, g.dlogp);
  st["nll_loss"] = nll;
  st["log_odds_ratio"] = pen / P;
  st["log_odds_chosen"] = lo_sum / P;
  st["rewards/accuracies"] = acc / P;
  return nll - c.beta * pen / double(P);
}

}  // namespace tandem::objective::detail
