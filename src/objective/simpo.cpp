// SimPO: reference-free, length-normalised DPO with a target margin. Meng et al., arXiv 2405.14734, Eq. 6.
//   z_p = beta (lbar_w - lbar_l) - gamma,    lbar = Σ_t m_t logp_t / |y|
//   loss_p = -(1 - ls) log σ(z_p) - ls log σ(-z_p),   L = (1/P) Σ_p loss_p
//   ∂L/∂logp_t = ∓ (beta / (P |y|)) [(1 - ls) σ(-z) - ls σ(z)] m_t
// Parity: TRL CPOTrainer loss_type="simpo" with cpo_alpha = 0 (TRL adds cpo_alpha·NLL; the simpo preset
// leaves it out, as the SimPO repo does). Defaults (simpo preset): beta 2.5, gamma = 0.55·2.5 = 1.375
// (SimPO repo, Llama-3-8B-Instruct: gamma/beta 0.55). TRL's simpo_gamma 0.5 is the field's default.
#include "objective/pairs.h"

namespace tandem::objective::detail {

double simpo_loss(const ObjectiveConfig& c, const Batch& b, double weight, SeqGrads g, Stats& st) {
  const int64_t P = b.n_seq() / 2;
  if (P == 0) return 0.0;
  const double beta = c.beta, ls = c.label_smoothing;
  double loss = 0, rc = 0, rr = 0, acc = 0;
  for (int64_t p = 0; p < P; ++p) {
    const double lw = seq_logp(b, 2 * p, true), ll = seq_logp(b, 2 * p + 1, true);
    const double z = beta * (lw - ll) - c.simpo_gamma;
    loss += -(1 - ls) * log_sigmoid(z) - ls * log_sigmoid(-z);
    const double dz = -((1 - ls) * sigmoid(-z) - ls * sigmoid(z));
    seq_backward(b, 2 * p, true, weight * beta * dz / double(P), g.dlogp);
    seq_backward(b, 2 * p + 1, true, -weight * beta * dz / double(P), g.dlogp);
    rc += beta * lw;
    rr += beta * ll;
    acc += lw > ll;
  }
  st["rewards/chosen"] = rc / P;
  st["rewards/rejected"] = rr / P;
  st["rewards/margins"] = (rc - rr) / P;
  st["rewards/accuracies"] = acc / P;
  return loss / double(P);
}

}  // namespace tandem::objective::detail
