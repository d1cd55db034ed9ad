#!/usr/bin/python3
"""Plain-PyTorch reference for src/objective, written from /work/shared/algorithms.md formulas (and the
verl / TRL expressions it quotes), NOT from the C++ code. float64 everywhere; gradients come from autograd.

Usage: objective_ref.py IN.json OUT.json
IN:  {"cases": [{"id": str, "config": <objective_to_json output>, "batch": {...}}]}
OUT: {"results": [{"id", "loss", "dlogp", "dentropy", "dvalues", "advantages", "returns"}]}
Run with Debian's python3 (python3-torch 1.13).
"""
import json
import math
import sys

import torch

D = torch.float64


def t(x):
    return torch.tensor(x, dtype=D)


# ---------------------------------------------------------------------------------------------------------
# KL estimators, algorithms.md §2 (verl kl_penalty)
def kl_est(kind, logp, ref):
    x = logp - ref
    if kind == "k1":
        return x
    if kind == "k2":
        return 0.5 * x * x
    if kind == "abs":
        return x.abs()
    if kind in ("k3", "k3+"):
        kl = torch.clamp(ref - logp, min=-20.0, max=20.0)
        k3 = torch.clamp(torch.exp(kl) - kl - 1.0, min=-10.0, max=10.0)
        if kind == "k3":
            return k3
        k2 = 0.5 * x * x
        return k2 - k2.detach() + k3.detach()
    if kind == "k1+":
        k2 = 0.5 * x * x
        return k2 - k2.detach() + x.detach()
    raise ValueError(kind)


# ---------------------------------------------------------------------------------------------------------
# Advantages, algorithms.md §3-4
def whiten(x, m):
    n = m.sum()
    if n == 0:
        return torch.zeros_like(x)
    mean = (x * m).sum() / n
    var = (((x - mean) ** 2) * m).sum() / n
    if n > 1:
        var = var * n / (n - 1)
    return (x - mean) / torch.sqrt(var + 1e-8)


def advantages(cfg, b, seqs, m):
    a = cfg["advantage"]
    kind = a["type"]
    N = m.shape[0]
    if kind == "none":
        return torch.zeros(N, dtype=D), torch.zeros(N, dtype=D)
    R = t(b["reward"])
    beta = a["kl_in_reward_coef"]
    k = torch.zeros(N, dtype=D)
    if beta > 0:
        k = kl_est(a["kl_in_reward_type"], t(b["old_logp"]), t(b["ref_logp"])) * m
    B = len(seqs)
    if kind in ("grpo", "group_mean", "rloo", "reinforce_pp_baseline"):
        Rk = torch.stack([R[i] - beta * k[s:e].sum() for i, (s, e) in enumerate(seqs)])
        groups = b["group"]
        A_seq = torch.zeros(B, dtype=D)
        for g in set(groups):
            if g < 0:
                continue
            idx = [i for i in range(B) if groups[i] == g]
            r = Rk[idx]
            G = len(idx)
            if kind == "rloo":
                A_seq[idx] = (r * G - r.sum()) / (G - 1) if G > 1 else torch.zeros(G, dtype=D)  # R_i - mean of others
                continue
            if kind == "reinforce_pp_baseline":
                A_seq[idx] = r - (r.mean() if G > 1 else 0.0)
                continue
            mean = r.mean() if G > 1 else torch.zeros((), dtype=D)
            std = r.std(unbiased=True) if G > 1 else torch.ones((), dtype=D)
            A_seq[idx] = (r - mean) / (std + a["eps"]) if kind == "grpo" else r - mean
        A = torch.cat([A_seq[i].expand(e - s) for i, (s, e) in enumerate(seqs)]) * m if N else torch.zeros(0, dtype=D)
        if kind == "reinforce_pp_baseline":
            A = whiten(A, m)
        return A * m, A * m
    # token rewards
    r = -beta * k
    r = r.clone()
    for i, (s, e) in enumerate(seqs):
        valid = [j for j in range(s, e) if m[j] > 0]
        if valid:
            r[valid[-1]] += R[i]
    A = torch.zeros(N, dtype=D)
    ret = torch.zeros(N, dtype=D)
    gamma, lam = a["gamma"], a["lam"]
    for i, (s, e) in enumerate(seqs):
        if kind == "reinforce_pp":
            G = 0.0
            for j in reversed(range(s, e)):
                G = r[j] + gamma * G
                A[j] = G
                G = G * m[j]
        elif kind == "remax":
            for j in range(s, e):
                A[j] = (r[j:e] * m[j:e]).sum() - t(b["baseline"])[i] * m[j]
        elif kind == "gae":
            V = t(b["old_values"])
            nv, last = 0.0, 0.0
            for j in reversed(range(s, e)):
                delta = r[j] + gamma * nv - V[j]
                lg = delta + gamma * lam * last
                nv = V[j] * m[j] + (1 - m[j]) * nv
                last = lg * m[j] + (1 - m[j]) * last
                A[j] = last
                ret[j] = last + V[j]
        else:
            raise ValueError(kind)
    if kind != "gae":
        ret = A.clone()
    if kind == "reinforce_pp" or (kind == "gae" and a["whiten"]):
        A = whiten(A, m)
    return A * m, ret * m


# ---------------------------------------------------------------------------------------------------------
# Aggregation, algorithms.md §1: returns L = agg(psi) over the selected sequences
def aggregate(mode, psi, m, seqs, sel, b, cfg, use_global):
    lens = [m[s:e].sum() for (s, e) in seqs]
    tokens = sum((lens[i] for i in range(len(seqs)) if sel[i]), torch.zeros((), dtype=D))
    nseq = sum(1 for i in range(len(seqs)) if sel[i] and lens[i] > 0)
    if use_global and b["global_tokens"] > 0:
        tokens = t(b["global_tokens"])
    if use_global and b["global_seqs"] > 0:
        nseq = b["global_seqs"]
    longest = max([e - s for (s, e) in seqs] + [0])
    lnorm = cfg["loss_scale_factor"] if cfg["loss_scale_factor"] > 0 else (b["pad_width"] or longest)
    seq_sums = [(psi[s:e] * m[s:e]).sum() for (s, e) in seqs]
    total = torch.zeros((), dtype=D)
    for i in range(len(seqs)):
        if sel[i]:
            total = total + seq_sums[i]
    if mode == "token-sum":
        return total
    if mode == "token-mean":
        return total / tokens if tokens > 0 else total * 0
    if mode == "token-sum-norm":
        return total / lnorm
    if nseq == 0:
        return total * 0
    if mode == "seq-mean-token-sum":
        return total / nseq
    if mode == "seq-mean-token-sum-norm":
        return total / (nseq * lnorm)
    if mode == "seq-mean-token-mean":
        acc = torch.zeros((), dtype=D)
        for i in range(len(seqs)):
            if sel[i] and lens[i] > 0:
                acc = acc + seq_sums[i] / lens[i]
        return acc / nseq
    raise ValueError(mode)


# ---------------------------------------------------------------------------------------------------------
# Token losses psi_t (algorithms.md §3-4)
def ppo_psi(cfg, logp, old, A):
    ratio = torch.exp(torch.clamp(logp - old, -cfg["log_ratio_clamp"], cfg["log_ratio_clamp"]))
    pg1 = -A * ratio
    if not cfg["clip"]:
        return pg1
    pg2 = -A * torch.clamp(ratio, 1 - cfg["clip_ratio_low"], 1 + cfg["clip_ratio_high"])
    c1 = torch.maximum(pg1, pg2)
    C = cfg["clip_ratio_c"]
    if C > 1:
        c2 = torch.minimum(-A * C, c1)
        return torch.where(A < 0, c2, c1)
    return c1


def shaped(cfg, logp, A):
    p = torch.exp(logp)
    return -A * p / (p + cfg["luffy_gamma"])


def token_psi(kind, cfg, X, b, seqs, m, demo):
    logp, A = X["logp"], X["A"]
    old = t(b["old_logp"]) if b["old_logp"] else logp.detach()
    if kind == "sft":
        return -logp
    if kind == "dft":
        return -torch.exp(logp).detach() * logp
    if kind == "chord_phi":
        p = torch.exp(logp).detach()
        return -(p * (1 - p)) * logp
    if kind == "policy":
        return ppo_psi(cfg, logp, old, A)
    if kind == "reinforce":
        return -A * logp
    if kind == "cispo":
        ratio = torch.exp(torch.clamp(logp - old, -cfg["log_ratio_clamp"], cfg["log_ratio_clamp"]))
        w = torch.clamp(ratio, 1 - cfg["clip_ratio_low"], 1 + cfg["clip_ratio_high"]).detach()
        return -w * A * logp
    if kind == "gspo":
        out = []
        for (s, e) in seqs:
            lp, od, mm = logp[s:e], old[s:e], m[s:e]
            seq_kl = ((lp - od) * mm).sum() / torch.clamp(mm.sum(), min=1.0)
            log_s = torch.clamp(lp - lp.detach() + seq_kl.detach(), max=cfg["gspo_log_ratio_max"])
            si = torch.exp(log_s)
            a = A[s:e]
            out.append(torch.maximum(-a * si, -a * torch.clamp(si, 1 - cfg["clip_ratio_low"], 1 + cfg["clip_ratio_high"])))
        return torch.cat(out) if out else logp * 0
    if kind == "luffy":
        on = ppo_psi(cfg, logp, old, A)
        off = shaped(cfg, logp, A)
        dm = torch.cat([torch.full((e - s,), float(demo[i]), dtype=D) for i, (s, e) in enumerate(seqs)])
        return dm * off + (1 - dm) * on
    if kind == "srft":
        H = X["entropy"].detach()
        R = b["reward"]
        out = []
        for i, (s, e) in enumerate(seqs):
            mm = m[s:e]
            h = (H[s:e] * mm).sum() / mm.sum() if mm.sum() > 0 else torch.zeros((), dtype=D)
            lp = logp[s:e]
            if demo[i]:
                out.append(-cfg["srft_sft_scale"] * torch.exp(-h) * lp + shaped(cfg, lp, A[s:e]))
            elif R[i] > 0:
                out.append(-cfg["srft_rl_scale"] * torch.exp(h) * lp)
            else:
                out.append(lp)
        return torch.cat(out) if out else logp * 0
    if kind == "value":
        V, Rt = X["values"], X["returns"]
        l1 = (V - Rt) ** 2
        if cfg["cliprange_value"] <= 0:
            return 0.5 * l1
        Vo = t(b["old_values"])
        eps = cfg["cliprange_value"]
        vc = Vo + torch.clamp(V - Vo, -eps, eps)
        return 0.5 * torch.maximum(l1, (vc - Rt) ** 2)
    if kind == "kl":
        return kl_est(cfg["kl_loss_type"], logp, t(b["ref_logp"]))
    if kind == "entropy":
        return -X["entropy"]
    raise ValueError(kind)


# ---------------------------------------------------------------------------------------------------------
# Sequence-level preference losses (algorithms.md §4)
def seq_sum(x, m, seqs, i):
    s, e = seqs[i]
    return (x[s:e] * m[s:e]).sum()


def seq_avg(x, m, seqs, i):
    s, e = seqs[i]
    return (x[s:e] * m[s:e]).sum() / max(float(m[s:e].sum()), 1.0)


def chosen_nll(logp, m, seqs):
    num = sum(-seq_sum(logp, m, seqs, i) for i in range(0, len(seqs), 2))
    den = sum(float(m[s:e].sum()) for (s, e) in seqs[0::2])
    return num / den if den > 0 else logp.sum() * 0


def pref_loss(kind, cfg, X, b, seqs, m):
    logp = X["logp"]
    P = len(seqs) // 2
    beta, ls = cfg["beta"], cfg["label_smoothing"]
    F = torch.nn.functional
    if kind == "kto":
        ref = t(b["ref_logp"])
        z0 = max(0.0, b["kto_kl"])
        terms = []
        for i in range(len(seqs)):
            rho = seq_sum(logp, m, seqs, i) - seq_sum(ref, m, seqs, i)
            if b["label"][i] > 0.5:
                terms.append(cfg["desirable_weight"] * (1 - torch.sigmoid(beta * (rho - z0))))
            else:
                terms.append(cfg["undesirable_weight"] * (1 - torch.sigmoid(beta * (z0 - rho))))
        return torch.stack(terms).mean()
    if P == 0:
        return logp.sum() * 0
    losses = []
    if kind == "rm":
        V = X["values"]
        cw, cl = [], []
        for p in range(P):
            r = []
            for i in (2 * p, 2 * p + 1):
                s, e = seqs[i]
                last = max(j for j in range(s, e) if m[j] > 0)
                r.append(V[last])
            cw.append(r[0])
            cl.append(r[1])
        rw, rl = torch.stack(cw), torch.stack(cl)
        margin = t(b["margin"]) if b["margin"] else torch.zeros(P, dtype=D)
        loss = -F.logsigmoid(rw - rl - margin).mean()
        return loss + cfg["center_rewards_coefficient"] * ((rw + rl) ** 2).mean()
    for p in range(P):
        w, l = 2 * p, 2 * p + 1
        if kind == "dpo":
            ref = t(b["ref_logp"])
            f = seq_avg if cfg["loss_type"] == "ipo" else seq_sum
            h = (f(logp, m, seqs, w) - f(ref, m, seqs, w)) - (f(logp, m, seqs, l) - f(ref, m, seqs, l))
            if cfg["loss_type"] == "sigmoid":
                losses.append(-(1 - ls) * F.logsigmoid(beta * h) - ls * F.logsigmoid(-beta * h))
            elif cfg["loss_type"] == "hinge":
                losses.append(torch.relu(1 - beta * h))
            else:
                losses.append((h - 1 / (2 * beta)) ** 2)
        elif kind == "simpo":
            z = beta * (seq_avg(logp, m, seqs, w) - seq_avg(logp, m, seqs, l)) - cfg["simpo_gamma"]
            losses.append(-(1 - ls) * F.logsigmoid(z) - ls * F.logsigmoid(-z))
        elif kind == "cpo":
            z = beta * (seq_sum(logp, m, seqs, w) - seq_sum(logp, m, seqs, l))
            losses.append(-(1 - ls) * F.logsigmoid(z) - ls * F.logsigmoid(-z))
        elif kind == "orpo":
            lw, ll = seq_avg(logp, m, seqs, w), seq_avg(logp, m, seqs, l)
            lo = (lw - ll) - (torch.log1p(-torch.exp(lw)) - torch.log1p(-torch.exp(ll)))
            losses.append(-beta * F.logsigmoid(lo))
        else:
            raise ValueError(kind)
    loss = torch.stack(losses).mean()
    if kind == "cpo":
        loss = loss + cfg["cpo_alpha"] * chosen_nll(logp, m, seqs)
    if kind == "orpo":
        loss = loss + chosen_nll(logp, m, seqs)
    return loss


def chord_mu(cfg, step):
    w, d = cfg["mu_warmup_steps"], cfg["mu_decay_steps"]
    if step < w:
        return cfg["mu_peak"] * step / w
    k = step - w
    if k < d:
        return cfg["mu_valley"] + (cfg["mu_peak"] - cfg["mu_valley"]) * 0.5 * (1 + math.cos(math.pi * k / d))
    return cfg["mu_valley"]


def run_case(case):
    cfg, b = case["config"], case["batch"]
    off = b["offsets"]
    seqs = [(off[i], off[i + 1]) for i in range(len(off) - 1)]
    m = t(b["mask"])
    N = m.shape[0]
    demo = b["is_demo"] if b["is_demo"] else [0] * len(seqs)
    A, ret = advantages(cfg, b, seqs, m)
    # The estimator's Batch stores advantages and returns as float32 (what a trainer keeps per token); the loss
    # is computed from the same rounded values so that cancelling sums (whitened advantages) compare at 1e-6.
    A, ret = A.float().double(), ret.float().double()
    X = {
        "logp": t(b["logp"]).requires_grad_(True),
        "entropy": (t(b["entropy"]) if b["entropy"] else torch.zeros(N, dtype=D)).requires_grad_(True),
        "values": (t(b["values"]) if b["values"] else torch.zeros(N, dtype=D)).requires_grad_(True),
        "A": A,
        "returns": ret,
    }
    if b.get("use_given_advantages"):
        X["A"] = t(b["advantages"])
        X["returns"] = t(b["returns"])
    loss = torch.zeros((), dtype=D)
    for term in cfg["terms"]:
        kind = term["type"]
        w = term["weight"]
        if term["schedule"] == "mu":
            w *= chord_mu(cfg, b["step"])
        elif term["schedule"] == "one_minus_mu":
            w *= 1 - chord_mu(cfg, b["step"])
        if kind in ("dpo", "simpo", "cpo", "orpo", "kto", "rm"):
            loss = loss + w * pref_loss(kind, cfg, X, b, seqs, m)
            continue
        on = term["on"]
        sel = [on == "all" or (on == "demo") == bool(demo[i]) for i in range(len(seqs))]
        psi = token_psi(kind, cfg, X, b, seqs, m, demo)
        mode = term.get("loss_agg_mode", cfg["loss_agg_mode"])
        loss = loss + w * aggregate(mode, psi, m, seqs, sel, b, cfg, on == "all")
    gl, ge, gv = torch.autograd.grad(loss, [X["logp"], X["entropy"], X["values"]], allow_unused=True)
    z = torch.zeros(N, dtype=D)
    return {
        "id": case["id"],
        "loss": float(loss),
        "dlogp": (gl if gl is not None else z).tolist(),
        "dentropy": (ge if ge is not None else z).tolist(),
        "dvalues": (gv if gv is not None else z).tolist(),
        "advantages": X["A"].tolist(),
        "returns": X["returns"].tolist(),
    }


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)["cases"]
    out = {"results": [run_case(c) for c in cases], "torch": torch.__version__}
    with open(sys.argv[2], "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
