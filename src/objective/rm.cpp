// Bradley–Terry reward-model loss on a scalar head. Bradley & Terry 1952; InstructGPT arXiv 2203.02155 Eq. 1.
// The reward of a sequence is Batch::values at its last token with mask > 0 (where transformers reads a
// sequence-classification head: the last non-padding token).
//   L = -(1/P) Σ_p log σ(r_w - r_l - margin_p) + center_coef · (1/P) Σ_p (r_w + r_l)²
// Parity: TRL RewardTrainer compute_loss (margin, center_rewards_coefficient). OpenRLHF LogExpLoss is
// the same function. Defaults: margin 0 when absent, center_coef 0 (TRL None).
#include "objective/pairs.h"

namespace tandem::objective::detail {

namespace {
int64_t last_token(const Batch& b, int64_t s) {
  for (int64_t t = b.offsets[s + 1] - 1; t >= b.offsets[s]; --t)
    if (b.mask[t] > 0) return t;
  throw Error("objective.batch.mask", cat("rm reads the reward at the last valid token, sequence ", s, " has none"));
}
}  // namespace

double rm_loss(const ObjectiveConfig& c, const Batch& b, double weight, SeqGrads g, Stats& st) {
  const int64_t P = b.n_seq() / 2;
  if (P == 0) return 0.0;
  double loss = 0, acc = 0, rc = 0, rr = 0;
  for (int64_t p = 0; p < P; ++p) {
    const int64_t tw = last_token(b, 2 * p), tl = last_token(b, 2 * p + 1);
    const double rw = b.values[tw], rl = b.values[tl], m = b.margin.empty() ? 0.0 : double(b.margin[p]);
    const double z = rw - rl - m;
    loss += -log_sigmoid(z) + c.rm_center_coef * (rw + rl) * (rw + rl);
    const double dz = -sigmoid(-z), dc = 2.0 * c.rm_center_coef * (rw + rl);
    g.dvalue[tw] += weight * (dz + dc) / double(P);
    g.dvalue[tl] += weight * (-dz + dc) / double(P);
    acc += rw > rl;
    rc += rw;
    rr += rl;
  }
  st["accuracy"] = acc / P;
  st["rewards/chosen"] = rc / P;
  st["rewards/rejected"] = rr / P;
  st["rewards/margins"] = (rc - rr) / P;
  return loss / double(P);
}

}  // namespace tandem::objective::detail
