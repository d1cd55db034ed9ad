#!/usr/bin/python3
"""Independent PyTorch reference for one online RL step on given completions (GRPO or PPO).

Owns: the whole step as algorithms.md writes it, on top of the decoder math of torch_decoder.py:
old log-probs from the starting weights, reference log-probs from the same frozen weights,
advantages (GRPO group mean/std; PPO GAE over a value head on the policy trunk with the KL in the
reward), then ppo_epochs passes of one mini-batch each with the clipped policy loss (+ k3 KL in the
loss for GRPO, + clipped value loss for PPO), token-mean over the batch, global-norm clipping as
torch.nn.utils.clip_grad_norm_, and a plain SGD update. float64 throughout. Written from the
formulas, not from the C++ code. Deliberately does not: sample, shuffle mini-batches, or cover
the other presets (the objective's own parity test covers every loss on fixed inputs).

Usage:
  /usr/bin/python3 tests/reference/torch_grpo_step.py --model DIR --batch step.json --out new.safetensors
step.json: {"algorithm": "grpo"|"ppo", "lr": x, "ppo_epochs": n, "max_grad_norm": x,
            "sequences": [{"prompt": [..], "completion": [..], "reward": r, "group": g}]}
Constants (the presets' reference values, algorithms.md §4):
  grpo: eps 0.2/0.2, dual clip C 3, k3 KL coef 0.001 in the loss, std eps 1e-6 (verl).
  ppo:  eps 0.2, no dual clip, vf_coef 0.1, value clip 0.2, gamma 1, lambda 0.95, k1 KL 0.05 in the
        reward, whitened advantages (TRL PPOConfig); V_t read at the state before token t.
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402
import torch_decoder  # noqa: E402

D = torch.float64


def pad_batch(seqs):
    rows = [s["prompt"] + s["completion"] for s in seqs]
    T = max(len(r) for r in rows)
    B = len(rows)
    ids = torch.zeros(B, T, dtype=torch.int64)
    seg = torch.full((B, T), -1, dtype=torch.int64)
    pos = torch.zeros(B, T, dtype=torch.int64)
    for b, r in enumerate(rows):
        ids[b, : len(r)] = torch.tensor(r)
        seg[b, : len(r)] = 0
        pos[b, : len(r)] = torch.arange(len(r))
    # response token j of row b sits at column P + j
    where = [[(b, len(s["prompt"]) + j) for j in range(len(s["completion"]))] for b, s in enumerate(seqs)]
    return ids, pos, seg, where


def gather(x, where, shift=0):
    return [torch.stack([x[b, t - shift] for (b, t) in w]) for w in where]


def k3(logp, ref):
    kl = torch.clamp(ref - logp, -20.0, 20.0)
    return torch.clamp(torch.exp(kl) - kl - 1.0, -10.0, 10.0)


def whiten(x):
    n = x.numel()
    mean = x.mean()
    var = ((x - mean) ** 2).sum() / (n - 1 if n > 1 else 1)
    return (x - mean) / torch.sqrt(var + 1e-8)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--batch", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.set_num_threads(1)
    with open(a.batch) as f:
        job = json.load(f)
    algo = job["algorithm"]
    seqs = job["sequences"]
    spec, params = torch_decoder.load_model(a.model, D)
    if algo == "ppo" and "score.weight" not in params:  # value head on the trunk, zero-initialised
        params["score.weight"] = torch.zeros(1, spec.hidden, dtype=D, requires_grad=True)
    ids, pos, seg, where = pad_batch(seqs)

    with torch.no_grad():
        out0 = torch_decoder.forward(spec, params, ids, pos, seg)
    old = [x.clone() for x in gather(out0["logp"], where)]
    ref = [x.clone() for x in old]  # the frozen reference is the starting weights
    R = torch.tensor([s["reward"] for s in seqs], dtype=D)

    if algo == "grpo":
        eps_l = eps_h = 0.2
        C, beta = 3.0, 0.001
        A_seq = torch.zeros(len(seqs), dtype=D)
        groups = [s["group"] for s in seqs]
        for g in set(groups):
            idx = [i for i, x in enumerate(groups) if x == g]
            r = R[idx]
            if len(idx) > 1:
                A_seq[idx] = (r - r.mean()) / (r.std(unbiased=True) + 1e-6)
            else:
                A_seq[idx] = r
        A = [A_seq[i].expand(len(s["completion"])).float().double() for i, s in enumerate(seqs)]
    else:
        eps_l = eps_h = 0.2
        C, vf_coef, eps_v, gamma, lam, kl_coef = 0.0, 0.1, 0.2, 1.0, 0.95, 0.05
        V_old = [x.clone() for x in gather(out0["value"], where, shift=1)]
        A_raw, ret = [], []
        for i, s in enumerate(seqs):
            L = len(s["completion"])
            r = -kl_coef * (old[i] - ref[i])
            r = r.clone()
            r[L - 1] += R[i]
            adv = torch.zeros(L, dtype=D)
            last, nv = 0.0, 0.0
            for t in reversed(range(L)):
                delta = r[t] + gamma * nv - V_old[i][t]
                last = delta + gamma * lam * last
                adv[t] = last
                nv = V_old[i][t]
            A_raw.append(adv)
            ret.append((adv + V_old[i]).float().double())
        flat = whiten(torch.cat(A_raw)).float().double()
        A, k = [], 0
        for s in seqs:
            A.append(flat[k: k + len(s["completion"])])
            k += len(s["completion"])

    names = sorted(params)
    n_tok = sum(len(s["completion"]) for s in seqs)
    for epoch in range(job["ppo_epochs"]):
        out = torch_decoder.forward(spec, params, ids, pos, seg)
        lp = gather(out["logp"], where)
        loss = torch.zeros((), dtype=D)
        for i in range(len(seqs)):
            ratio = torch.exp(torch.clamp(lp[i] - old[i], -20.0, 20.0))
            p1 = -A[i] * ratio
            p2 = -A[i] * torch.clamp(ratio, 1 - eps_l, 1 + eps_h)
            pg = torch.maximum(p1, p2)
            if C > 1:
                pg = torch.where(A[i] < 0, torch.minimum(pg, -A[i] * C), pg)
            loss = loss + pg.sum() / n_tok
            if algo == "grpo":
                loss = loss + beta * k3(lp[i], ref[i]).sum() / n_tok
        if algo == "ppo":
            V = gather(out["value"], where, shift=1)
            for i in range(len(seqs)):
                vc = V_old[i] + torch.clamp(V[i] - V_old[i], -eps_v, eps_v)
                vl = 0.5 * torch.maximum((V[i] - ret[i]) ** 2, (vc - ret[i]) ** 2)
                loss = loss + vf_coef * vl.sum() / n_tok
        grads = torch.autograd.grad(loss, [params[n] for n in names], allow_unused=True)
        grads = [torch.zeros_like(params[n]) if g is None else g for n, g in zip(names, grads)]
        norm = torch.sqrt(sum((g ** 2).sum() for g in grads))
        scale = 1.0
        if job["max_grad_norm"] > 0 and norm > job["max_grad_norm"]:
            scale = job["max_grad_norm"] / (norm + 1e-6)
        with torch.no_grad():
            for n, g in zip(names, grads):
                params[n] -= job["lr"] * scale * g
    safetensors_io.write_file(a.out, {n: params[n].detach() for n in names}, "F64",
                              {"script": "tests/reference/torch_grpo_step.py", "torch": torch.__version__})
    return 0


if __name__ == "__main__":
    sys.exit(main())
