// DPO (sigmoid, with cDPO label smoothing), its hinge variant, and IPO.
// Papers: Rafailov et al., arXiv 2305.18290, Eq. 7; hinge (SLiC): Zhao et al., arXiv 2305.10425;
// IPO: Azar et al., arXiv 2310.12036, Eq. 17; cDPO: Mitchell 2023 note. Parity: TRL DPOTrainer dpo_loss.
//   h_p = (lw - ref_lw) - (ll - ref_ll)       summed log-probs; IPO: length-averaged (TRL ipo)
//   sigmoid: loss_p = -(1 - ls) log σ(beta h) - ls log σ(-beta h)
//   hinge:   loss_p = relu(1 - beta h)
//   ipo:     loss_p = (h - 1/(2 beta))²                                           (τ = beta in code)
//   L = (1/P) Σ_p loss_p,   ∂L/∂logp_t = ± (1/P) ∂loss_p/∂h · m_t (· 1/|y| for IPO)
// Stats (TRL names): rewards/chosen = beta(lw - ref_lw), rewards/rejected, rewards/margins,
// rewards/accuracies (chosen > rejected), logps/chosen, logps/rejected, all means over pairs.
// Defaults: beta 0.1, ls 0, loss sigmoid (TRL DPOConfig). A DPO pair is sequences (2p, 2p+1).
#include "objective/pairs.h"

namespace tandem::objective::detail {

double dpo_loss(const ObjectiveConfig& c, const Batch& b, double weight, SeqGrads g, Stats& st) {
  const int64_t P = b.n_seq() / 2;
  if (P == 0) return 0.0;
  const bool avg = c.dpo_loss == DpoLoss::kIpo;
  const double beta = c.beta, ls = c.label_smoothing;
  double loss = 0, rc = 0, rr = 0, acc = 0, lc = 0, lr = 0;
  for (int64_t p = 0; p < P; ++p) {
    const int64_t w = 2 * p, l = 2 * p + 1;
    const double cw = seq_logp(b, w, avg) - seq_ref(b, w, avg), cl = seq_logp(b, l, avg) - seq_ref(b, l, avg);
    const double h = cw - cl, z = beta * h;
    double lp = 0, dh = 0;
    switch (c.dpo_loss) {
      case DpoLoss::kSigmoid:
        lp = -(1 - ls) * log_sigmoid(z) - ls * log_sigmoid(-z);
        dh = -beta * ((1 - ls) * sigmoid(-z) - ls * sigmoid(z));
        break;
      case DpoLoss::kHinge:
        lp = std::max(0.0, 1.0 - z);
        dh = (1.0 - z) > 0 ? -beta : 0.0;
        break;
      case DpoLoss::kIpo:
        lp = (h - 1.0 / (2.0 * beta)) * (h - 1.0 / (2.0 * beta));
        dh = 2.0 * (h - 1.0 / (2.0 * beta));
        break;
    }
    loss += lp;
    seq_backward(b, w, avg, weight * dh / double(P), g.dlogp);
    seq_backward(b, l, avg, -weight * dh / double(P), g.dlogp);
    rc += beta * cw;
    rr += beta * cl;
    acc += cw > cl;
    lc += seq_logp(b, w, avg);
    lr += seq_logp(b, l, avg);
  }
  st["rewards/chosen"] = rc / P;
  st["rewards/rejected"] = rr / P;
  st["rewards/margins"] = (rc - rr) / P;
  st["rewards/accuracies"] = acc / P;
  st["logps/chosen"] = lc / P;
  st["logps/rejected"] = lr / P;
  return loss / double(P);
}

}  // namespace tandem::objective::detail
