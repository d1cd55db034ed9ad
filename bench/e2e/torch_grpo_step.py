#!/usr/bin/python3
"""Benchmark peer for issue 8: one GRPO step in plain PyTorch, split as grpo_step_bench splits it.

Owns: the step a PyTorch user writes without a framework: generation with a KV cache (the loop of
torch_rollout.py, sampling with torch.multinomial at temperature 1 and keeping the log-probs), the
same cheap reward (share of even token ids), group mean/std advantages, reference log-probs from a
frozen copy, then one update: micro-batches of --micro sequences with the clipped ratio loss + k3 KL
(0.001), token-mean over the batch, clip_grad_norm_ and AdamW. fp32. Deliberately not: padding
(every prompt and completion has the same length), eos handling, or a correctness oracle
(tests/reference/torch_grpo_step.py is that).

Usage:
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/e2e/torch_grpo_step.py \
      --preset tiny|smollm2-135m [--prompts 16] [--g 8] [--new 128] [--prompt-len 32] [--micro 16] \
      [--repeats 3] [--threads 2]
Prints one JSON line: medians over repeats (after one warm-up step) of step/generate/score/reference/update.
"""
import argparse
import copy
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_rollout as tr  # noqa: E402
import torch_train_step as tts  # noqa: E402


def logp_of(model, ids, cos, sin, mask, P):
    logits = model(ids, cos, sin, mask)  # [B, T, V]
    lsm = torch.log_softmax(logits[:, P - 1:-1], dim=-1)
    return lsm.gather(-1, ids[:, P:, None])[..., 0]  # [B, new]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", choices=sorted(tts.PRESETS), default="tiny")
    for k, v in (("prompts", 16), ("g", 8), ("new", 128), ("prompt-len", 32), ("micro", 16), ("repeats", 3),
                 ("threads", 2)):
        ap.add_argument("--" + k, type=int, default=v)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    ns = argparse.Namespace(model=None, preset=a.preset, seed=0, tie=False,
                            **{k: None for k in ("arch", "layers", "hidden", "heads", "kv_heads", "intermediate", "vocab",
                                                 "head_dim", "rope_theta")})
    spec, cfg, model = tts.build(ns)
    ref = copy.deepcopy(model).eval()
    for p in ref.parameters():
        p.requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-6, weight_decay=0.0)
    P, N, B = a.prompt_len, a.new, a.prompts * a.g
    T = P + N
    cos_all, sin_all = (t.float() for t in tr.torch_decoder_tables(spec, T))
    mask = torch.full((T, T), float("-inf")).triu(1)
    gen = torch.Generator().manual_seed(1)
    prompts = torch.randint(0, spec.vocab, (a.prompts, P), generator=gen)
    rows = {k: [] for k in ("step", "generate", "score", "reference", "update")}
    for rep in range(a.repeats + 1):
        t0 = time.perf_counter()
        with torch.no_grad():  # generate
            ids = prompts.repeat_interleave(a.g, dim=0)
            caches = [[None, None] for _ in model.layers]
            logits = tr.step(model, ids, cos_all[:, :, :P], sin_all[:, :, :P], caches, True)
            out, old = [], []
            for i in range(N):
                lsm = torch.log_softmax(logits, dim=-1)
                nxt = torch.multinomial(lsm.exp(), 1, generator=gen)[:, 0]
                out.append(nxt)
                old.append(lsm.gather(-1, nxt[:, None])[:, 0])
                if i + 1 < N:
                    p = P + i
                    logits = tr.step(model, nxt[:, None], cos_all[:, :, p:p + 1], sin_all[:, :, p:p + 1], caches, False)
            comp = torch.stack(out, 1)
            old = torch.stack(old, 1)
            full = torch.cat([ids, comp], 1)
        t1 = time.perf_counter()
        R = (comp % 2 == 0).double().mean(1)  # score
        t2 = time.perf_counter()
        with torch.no_grad():  # reference log-probs
            ref_lp = torch.cat([logp_of(ref, full[s:s + a.micro], cos_all, sin_all, mask, P) for s in range(0, B, a.micro)])
        g = R.view(a.prompts, a.g)
        A = ((g - g.mean(1, keepdim=True)) / (g.std(1, keepdim=True) + 1e-6)).view(B, 1).float()
        t3 = time.perf_counter()
        opt.zero_grad()
        n_tok = B * N
        for s in range(0, B, a.micro):  # update
            lp = logp_of(model, full[s:s + a.micro], cos_all, sin_all, mask, P)
            ratio = torch.exp(torch.clamp(lp - old[s:s + a.micro], -20, 20))
            adv = A[s:s + a.micro]
            pg = torch.maximum(-adv * ratio, -adv * torch.clamp(ratio, 0.8, 1.2))
            pg = torch.where(adv < 0, torch.minimum(pg, -adv * 3.0), pg)
            kl = torch.clamp(ref_lp[s:s + a.micro] - lp, -20, 20)
            k3 = torch.clamp(torch.exp(kl) - kl - 1, -10, 10)
            ((pg.sum() + 0.001 * k3.sum()) / n_tok).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        t4 = time.perf_counter()
        if rep == 0:
            continue
        for k, v in (("step", t4 - t0), ("generate", t1 - t0), ("score", t2 - t1), ("reference", t3 - t2),
                     ("update", t4 - t3)):
            rows[k].append(v)
    res = {f"{k}_s": statistics.median(v) for k, v in rows.items()}
    res.update({"step_all": rows["step"], "preset": a.preset, "prompts": a.prompts, "g": a.g, "new": N,
                "prompt_len": P, "micro": a.micro, "threads": a.threads, "torch": torch.__version__,
                "loadavg_1m_end": os.getloadavg()[0]})
    print(json.dumps(res))


if __name__ == "__main__":
    main()
