// KTO: prospect-theoretic loss on unpaired desirable/undesirable examples.
// Ethayarajh et al., arXiv 2402.01306, Eq. 8. Parity: TRL KTOTrainer kto_loss.
//   rho_i = Σ m (logp - ref_logp)      z0 = max(0, Batch::kto_kl), detached (the trainer averages the
//                                       mismatched-pair log-ratios, across ranks as TRL does)
//   desirable (label 1):   loss_i = lambda_D (1 - σ(beta (rho_i - z0)))
//   undesirable (label 0): loss_i = lambda_U (1 - σ(beta (z0 - rho_i)))
//   L = mean over examples;  ∂loss_i/∂rho_i = -lambda_D beta σ'(u) or +lambda_U beta σ'(v)
// Defaults: beta 0.1, lambda_D = lambda_U = 1.0 (TRL KTOConfig).
#include <algorithm>

#include "objective/pairs.h"

namespace tandem::objective::detail {

double kto_loss(const ObjectiveConfig& c, const Batch& b, double weight, SeqGrads g, Stats& st) {
  const int64_t B = b.n_seq();
  if (B == 0) return 0.0;
  const double z0 = std::max(0.0, b.kto_kl), beta = c.beta;
  double loss = 0, rc = 0, rr = 0, nc = 0, nr = 0;
  for (int64_t s = 0; s < B; ++s) {
    const double rho = seq_logp_sum(b, s) - seq_ref_sum(b, s);
    double d;
    if (b.label[s] > 0.5) {
      const double sg = sigmoid(beta * (rho - z0));
      loss += c.kto_desirable_weight * (1 - sg);
      d = -c.kto_desirable_weight * beta * sg * (1 - sg);
      rc += beta * rho;
      nc += 1;
    } else {
      const double sg = sigmoid(beta * (z0 - rho));
      loss += c.kto_undesirable_weight * (1 - sg);
      d = c.kto_undesirable_weight * beta * sg * (1 - sg);
      rr += beta * rho;
      nr += 1;
    }
    seq_backward(b, s, false, weight * d / double(B), g.dlogp);
  }
  st["kl"] = z0;
  st["rewards/chosen"] = nc > 0 ? rc / nc : 0.0;
  st["rewards/rejected"] = nr > 0 ? rr / nr : 0.0;
  st["rewards/margins"] = st["rewards/chosen"] - st["rewards/rejected"];
  return loss / double(B);
}

}  // namespace tandem::objective::detail
