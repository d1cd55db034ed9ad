// CPO: reference-free sigmoid preference loss plus behaviour cloning on the chosen answer.
// Xu et al., "Contrastive Preference Optimization", arXiv 2401.08417, Eq. 3 (L_prefer) + L_NLL.
//   Δ_p = lw - ll (summed log-probs),  loss_p = -(1 - ls) log σ(beta Δ) - ls log σ(-beta Δ)
//   L = (1/P) Σ_p loss_p + cpo_alpha · NLL(chosen),  NLL = token-mean over all chosen tokens of the batch
// Parity: TRL CPOTrainer (loss_type sigmoid). Defaults: beta 0.1, cpo_alpha 1.0, ls 0 (TRL CPOConfig).
#include "objective/pairs.h"

namespace tandem::objective::detail {

double cpo_loss(const ObjectiveConfig& c, const Batch& b, double weight, SeqGrads g, Stats& st) {
  const int64_t P = b.n_seq() / 2;
  if (P == 0) return 0.0;
  const double beta = c.beta, ls = c.label_smoothing;
  double loss = 0, rc = 0, rr = 0, acc = 0;
  for (int64_t p = 0; p < P; ++p) {
    const double lw = seq_logp(b, 2 * p, false), ll = seq_logp(b, 2 * p + 1, false);
    const double z = beta * (lw - ll);
    loss += -(1 - ls) * log_sigmoid(z) - ls * log_sigmoid(-z);
    const double dz = -((1 - ls) * sigmoid(-z) - ls * sigmoid(z));
    seq_backward(b, 2 * p, false, weight * beta * dz / double(P), g.dlogp);
    seq_backward(b, 2 * p + 1, false, -weight * beta * dz / double(P), g.dlogp);
    rc += beta * lw;
    rr += beta * ll;
    acc += lw > ll;
  }
  const double nll = chosen_nll(b, weight * c.cpo_alpha, g.dlogp);
  st["nll_loss"] = nll;
  st["rewards/chosen"] = rc / P;
  st["rewards/rejected"] = rr / P;
  st["rewards/margins"] = (rc - rr) / P;
  st["rewards/accuracies"] = acc / P;
  return loss / double(P) + c.cpo_alpha * nll;
}

}  // namespace tandem::objective::detail
