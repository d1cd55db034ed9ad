// Every algorithm as data (style.md E5, algorithms.md §4-5): terms with weights, advantage estimator,
// aggregation, hyper-parameters, and `source` saying where each number comes from. No arithmetic here:
// grpo, dr_grpo, dapo, rloo, reinforce_pp(_baseline) and ppo share ppo.cpp's kernel and differ only in
// these fields. Loop-level facts (filters, interleaving, schedules of the data) go in `loop` for the
// trainer; the estimator never reads them.
#include "objective/presets.h"

#include "core/error.h"

namespace tandem::objective {

namespace {

TermSpec term(TermType t, double w = 1.0, Subset s = Subset::kAll) {
  TermSpec x;
  x.type = t;
  x.weight = w;
  x.subset = s;
  return x;
}
TermSpec with_agg(TermSpec t, AggMode m) {
  t.agg = m;
  return t;
}
TermSpec scheduled(TermSpec t, TermSpec::Schedule s) {
  t.schedule = s;
  return t;
}

std::vector<ObjectiveConfig> build() {
  std::vector<ObjectiveConfig> v;
  auto add = [&](const char* name, std::vector<TermSpec> terms, AggMode agg, AdvantageType adv, const char* source) {
    ObjectiveConfig c;
    c.name = name;
    c.terms = std::move(terms);
    c.agg = agg;
    c.advantage.type = adv;
    c.source = source;
    v.push_back(std::move(c));
    return &v.back();
  };
  using T = TermType;
  using A = AdvantageType;
  using M = AggMode;
  using S = Subset;
  ObjectiveConfig* c;

  // ---- Supervised -------------------------------------------------------------------------------------
  add("sft", {term(T::kSft)}, M::kTokenMean, A::kNone,
      "NLL, InstructGPT arXiv 2203.02155 stage 1; token-mean over the global batch as TRL (num_items_in_batch)");
  add("dft", {term(T::kDft)}, M::kTokenMean, A::kNone,
      "Wu et al. arXiv 2508.05629; TRL loss_type=dft normaliser (global token-mean)");
  c = add("rft", {term(T::kSft)}, M::kTokenMean, A::kNone,
          "Yuan et al. arXiv 2308.01825: SFT on verified-correct self-samples; k=100, T=0.7 [unverified]");
  c->loop = {{"source", "self_samples"}, {"keep_if", "reward == 1"}, {"dedup", "distinct reasoning paths"},
             {"samples_per_prompt", 100}, {"temperature", 0.7}};

  // ---- Preference (offline pairs / labels) --------------------------------------------------------------
  add("dpo", {term(T::kDpo)}, M::kTokenSum, A::kNone,
      "Rafailov et al. arXiv 2305.18290 Eq. 7; beta 0.1, sigmoid, label_smoothing 0 (TRL DPOConfig)");
  c = add("dpo_hinge", {term(T::kDpo)}, M::kTokenSum, A::kNone,
          "TRL DPOConfig loss_type=hinge: relu(1 - beta h), beta 0.1");
  c->dpo_loss = DpoLoss::kHinge;
  c = add("ipo", {term(T::kDpo)}, M::kTokenSum, A::kNone,
          "Azar et al. arXiv 2310.12036 Eq. 17; TRL loss_type=ipo (length-averaged log-probs), beta(=tau) 0.1");
  c->dpo_loss = DpoLoss::kIpo;
  c = add("simpo", {term(T::kSimpo)}, M::kTokenSum, A::kNone,
          "Meng et al. arXiv 2405.14734 Eq. 6; beta 2.5, gamma/beta 0.55 (SimPO repo Llama-3-8B-Instruct), no NLL");
  c->beta = 2.5;
  c->simpo_gamma = 0.55 * 2.5;
  add("orpo", {term(T::kOrpo)}, M::kTokenSum, A::kNone, "Hong et al. arXiv 2403.07691 Eq. 6; lambda(beta) 0.1 (TRL ORPOConfig)");
  add("kto", {term(T::kKto)}, M::kTokenSum, A::kNone,
      "Ethayarajh et al. arXiv 2402.01306 Eq. 8; beta 0.1, desirable/undesirable weights 1.0 (TRL KTOConfig)");
  add("cpo", {term(T::kCpo)}, M::kTokenSum, A::kNone,
      "Xu et al. arXiv 2401.08417 Eq. 3; beta 0.1, cpo_alpha 1.0, sigmoid (TRL CPOConfig)");
  add("rm", {term(T::kRm)}, M::kTokenSum, A::kNone,
      "Bradley-Terry, InstructGPT arXiv 2203.02155 Eq. 1; margin per pair, center_rewards_coefficient None=0 (TRL RewardConfig)");

  // ---- On-policy RL ----------------------------------------------------------------------------------------
  c = add("ppo", {term(T::kPolicy), term(T::kValue, 0.1)}, M::kTokenMean, A::kGae,
          "Schulman et al. arXiv 1707.06347 + GAE arXiv 1506.02438; TRL PPOConfig: eps 0.2, cliprange_value 0.2, "
          "vf_coef 0.1, gamma 1, lam 0.95, kl_coef 0.05 (k1 in reward), whitened advantages; no dual clip (TRL has none)");
  c->value_clip = 0.2;
  c->clip_c = 0;
  c->advantage.lam = 0.95;
  c->advantage.kl_in_reward_coef = 0.05;
  c->loop = {{"ppo_epochs", 4}, {"samples_per_prompt", 1}};
  c = add("grpo", {term(T::kPolicy), term(T::kKl, 0.001)}, M::kTokenMean, A::kGrpo,
          "DeepSeekMath arXiv 2402.03300 Eq. 3 with verl defaults: token-mean, eps 0.2, clip_ratio_c 3, "
          "norm_adv_by_std (eps 1e-6), use_kl_loss low_var_kl (k3) coef 0.001");
  c = add("grpo_paper", {term(T::kPolicy), term(T::kKl, 0.04)}, M::kSeqMeanTokenMean, A::kGrpo,
          "DeepSeekMath arXiv 2402.03300 Eq. 3 as written: seq-mean-token-mean, k3 beta 0.04 [unverified], eps 0.2");
  c->clip_c = 0;
  c = add("dr_grpo", {term(T::kPolicy)}, M::kSeqMeanTokenSumNorm, A::kGroupMean,
          "Liu et al. arXiv 2503.20783: A = R - mean, no KL; seq-mean-token-sum-norm as algorithms.md §1 "
          "(= TRL loss_type=dr_grpo up to B vs B'; L_norm = loss_scale_factor or padded width). verl's code has no "
          "1/B: set loss_agg_mode token-sum-norm to match verl");
  c = add("dapo", {term(T::kPolicy)}, M::kTokenMean, A::kGrpo,
          "Yu et al. arXiv 2503.14476: clip-higher eps_low 0.2 eps_high 0.28, token-mean, no KL; dynamic sampling and "
          "overlong shaping are loop settings (verl recipe)");
  c->clip_eps_high = 0.28;
  c->loop = {{"filter_groups", {{"enable", true}, {"metric", "acc"}, {"max_num_gen_batches", 10}}},
             {"overlong_buffer", {{"enable", true}, {"len", 4096}, {"penalty_factor", 1.0}}},
             {"max_response_length", 20480}};
  c = add("gspo", {term(T::kGspo)}, M::kSeqMeanTokenMean, A::kGrpo,
          "Zheng et al. arXiv 2507.18071: sequence ratio, eps 3e-4/4e-4 (TRL docs [unverified]), seq-mean-token-mean "
          "(verl forces it), no KL");
  c->clip_eps_low = 3e-4;
  c->clip_eps_high = 4e-4;
  c = add("cispo", {term(T::kCispo)}, M::kTokenMean, A::kGrpo,
          "MiniMax-M1 arXiv 2506.13585: clip_ratio_low 1.0 (no lower bound, Trinity-RFT), clip_ratio_high 5.0 (TRL "
          "cispo recommendation), token-mean, no KL");
  c->clip_eps_low = 1.0;
  c->clip_eps_high = 5.0;
  c = add("rloo", {term(T::kPolicy)}, M::kTokenMean, A::kRloo,
          "Ahmadian et al. arXiv 2402.14740; TRL legacy RLOO: rloo_k 2, PPO clip 0.2, 4 epochs, kl_coef 0.05 as a "
          "sequence-level k1 sum in the reward");
  c->clip_c = 0;
  c->advantage.kl_in_reward_coef = 0.05;
  c->loop = {{"samples_per_prompt", 2}, {"ppo_epochs", 4}};
  c = add("reinforce_pp", {term(T::kPolicy)}, M::kTokenMean, A::kReinforcePP,
          "Hu arXiv 2501.03262; verl reinforce_plus_plus: k1 in the token reward (verl kl_coef 0.001), gamma 1, "
          "batch-whitened returns, eps 0.2, token-mean");
  c->advantage.kl_in_reward_coef = 0.001;
  c = add("reinforce_pp_baseline", {term(T::kPolicy), term(T::kKl, 1e-4)}, M::kTokenMean, A::kReinforcePPBaseline,
          "Hu arXiv 2501.03262; verl reinforce_plus_plus_baseline (R - group mean, batch-whitened); k2 KL in the loss "
          "with coef 1e-4 (OpenRLHF examples), eps 0.2, token-mean");
  c->kl_type = KlType::kK2;
  add("remax", {term(T::kReinforce)}, M::kSeqMeanTokenSum, A::kRemax,
      "Li et al. arXiv 2310.10505: REINFORCE (no ratio), A_t = reward-to-go - greedy reward, per-sequence sum, "
      "no whitening, no KL");

  // ---- Hybrids: demonstrations and rollouts --------------------------------------------------------------
  c = add("luffy", {term(T::kLuffy), term(T::kEntropy, 0.001)}, M::kTokenSumNorm, A::kGroupMean,
          "Yan et al. arXiv 2504.14945; released train.sh: off_policy_reshape p_div_p_0.1, grpo_use_std=False, "
          "loss_remove_clip, loss_remove_token_mean (sum / T_pad), entropy_coeff 0.001, KL 0");
  c->clip = false;
  c->loop = {{"samples_per_prompt", 8}, {"demos_per_group", 1}, {"demo_in_group", true}};
  c = add("srft", {term(T::kSrft), term(T::kEntropy, 0.001)}, M::kTokenSumNorm, A::kGroupMean,
          "Fu et al. arXiv 2506.19767 via HPT's re-implementation (no official code; w_RL sign/exponent "
          "[unverified]): w_sft 0.5 e^-H, w_rl 0.1 e^H, LUFFY shaping on demos, sum / T_pad, entropy 0.001");
  c->loop = {{"samples_per_prompt", 8}, {"demos_per_group", 1}, {"demo_in_group", true}};
  c = add("chord",
          {scheduled(with_agg(term(T::kPolicy, 1.0, S::kRollout), M::kTokenMean), TermSpec::Schedule::kOneMinusMu),
           scheduled(with_agg(term(T::kChordPhi, 1.0, S::kDemo), M::kTokenMean), TermSpec::Schedule::kMu)},
          M::kTokenMean, A::kGrpo,
          "Zhang et al. arXiv 2508.11408 (Trinity-RFT mix_chord code defaults): (1-mu) GRPO + mu phi-NLL, mu 0.1 "
          "constant, phi on, eps 0.2, each part token-mean over its own sub-batch, no KL");
  c->clip_c = 0;
  c->loop = {{"expert_data_ratio", 0.2}, {"samples_per_prompt", 8}};
  c = add("chord_mu",
          {scheduled(with_agg(term(T::kPolicy, 1.0, S::kRollout), M::kTokenMean), TermSpec::Schedule::kOneMinusMu),
           scheduled(with_agg(term(T::kSft, 1.0, S::kDemo), M::kTokenMean), TermSpec::Schedule::kMu)},
          M::kTokenMean, A::kGrpo,
          "CHORD-mu, Trinity-RFT example yaml comments: warmup 0, decay 200, peak 0.9, valley 0.05, plain NLL");
  c->clip_c = 0;
  c->mu_peak = 0.9;
  c->mu_valley = 0.05;
  c->mu_decay_steps = 200;
  c = add("relift",
          {term(T::kPolicy, 1.0, S::kRollout), with_agg(term(T::kSft, 1.0, S::kDemo), M::kTokenMean),
           term(T::kEntropy, 0.001)},
          M::kTokenSumNorm, A::kGroupMean,
          "Ma et al. arXiv 2506.07527; script: grpo_use_std=False, loss_remove_token_mean, loss_remove_clip, entropy "
          "0.001, KL 0; SFT phase token-mean NLL. The interleaving is the trainer's (loop.*)");
  c->clip = false;
  c->loop = {{"interleave", "sft_when_buffer_full"}, {"buffer_rule", "all rollouts of a prompt score 0"},
             {"sft_data_size", 128}, {"sft_epochs", 1}, {"samples_per_prompt", 8}};
  c = add("uft",
          {with_agg(term(T::kPolicy, 1.0, S::kRollout), M::kTokenMean),
           with_agg(term(T::kSft, 0.001, S::kDemo), M::kTokenMean), term(T::kKl, 0.001, S::kRollout)},
          M::kTokenMean, A::kGrpo,
          "Liu, Farina, Ozdaglar arXiv 2505.16984 run.py: eps 0.2, sft_loss_coef 0.001 on hint tokens (a demo "
          "segment), KL loss on (coef 0.001 [unverified]); hint schedule is the trainer's (loop.*)");
  c->clip_c = 0;
  c->loop = {{"hint", {{"p_lo", 0.05}, {"p_hi", 0.95}, {"t_hint", 300}, {"segments", 5}}}, {"samples_per_prompt", 4}};
  c = add("hpt",
          {term(T::kPolicy, 1.0, S::kRollout), term(T::kSft, 1.0, S::kDemo), term(T::kEntropy, 0.001)},
          M::kTokenSumNorm, A::kGroupMean,
          "Lv et al. arXiv 2509.04419 train.sh: switch gate 0 (all 8 fail -> demo NLL, coef 1.0), grpo_use_std=False, "
          "loss_remove_token_mean, loss_remove_clip, entropy 0.001, KL 0");
  c->clip = false;
  c->loop = {{"unify_strategy", "switch"}, {"switch_gate", 0}, {"n_verify", 8}};
  return v;
}

const std::vector<ObjectiveConfig>& presets() {
  static const std::vector<ObjectiveConfig> kPresets = build();
  return kPresets;
}

}  // namespace

std::vector<std::string> preset_names() {
  std::vector<std::string> n;
  for (const auto& p : presets()) n.push_back(p.name);
  return n;
}

bool has_preset(const std::string& name) {
  for (const auto& p : presets())
    if (p.name == name) return true;
  return false;
}

ObjectiveConfig find_preset(const std::string& name) {
  for (const auto& p : presets())
    if (p.name == name) return p;
  std::string known;
  for (const auto& p : presets()) known += (known.empty() ? "" : ", ") + p.name;
  throw Error("objective.preset", cat("unknown preset '", name, "'; known: ", known));
}

}  // namespace tandem::objective
