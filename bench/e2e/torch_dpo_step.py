#!/usr/bin/python3
"""Benchmark peer: one DPO step gradient in plain PyTorch, the way TRL computes it.

Owns: the step Tandem's bench/e2e/dpo_step_bench.cpp times: chosen and rejected sequences of
B pairs concatenated into one [2B, P+C] batch (TRL's concatenated_forward), the reference
forward under torch.no_grad() on a frozen copy, the policy forward, per-sequence sums of
completion log-probs (full [2B, T, V] logits, log_softmax + gather), the sigmoid DPO loss
(beta 0.1) and backward. fp32, torch.set_num_threads(N). Not: an optimizer step.
The model classes are bench/e2e/torch_train_step.py's.

Usage:
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/e2e/torch_dpo_step.py \
      --model DIR --pairs B --prompt P --completion C [--steps K] [--warmup W] [--threads N]
Prints one JSON line: step_s_median, step_s_all, ref_forward_s_median, tokens_per_s, peak_rss_mb.
"""
import argparse
import copy
import json
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_train_step as tts  # noqa: E402
import torch_decoder  # noqa: E402  (path set up by torch_train_step)


def seq_logps(model, ids, cos, sin, mask, P):
    logits = model(ids, cos, sin, mask)  # [2B, T, V]
    logp = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, ids[:, 1:, None])[..., 0]  # [2B, T-1]
    return logp[:, P - 1:].sum(-1)  # completion tokens only


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--pairs", type=int, default=2)
    ap.add_argument("--prompt", type=int, default=128)
    ap.add_argument("--completion", type=int, default=128)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--beta", type=float, default=0.1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    ns = argparse.Namespace(model=a.model, preset=None, seed=0)
    spec, cfg, policy = tts.build(ns)
    ref = copy.deepcopy(policy).eval()
    for p in ref.parameters():
        p.requires_grad_(False)
    B, P, C = a.pairs, a.prompt, a.completion
    T = P + C
    ids = torch.randint(0, spec.vocab, (2 * B, T))
    pos = torch.arange(T)[None]
    cos, sin = (x.to(torch.float32)[:, None] for x in torch_decoder.rope_tables(spec, pos))
    mask = torch.full((T, T), float("-inf")).triu(1)
    times, ref_times = [], []
    for step in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        policy.zero_grad(set_to_none=True)
        with torch.no_grad():
            t1 = time.perf_counter()
            ref_lp = seq_logps(ref, ids, cos, sin, mask, P)
            t_ref = time.perf_counter() - t1
        lp = seq_logps(policy, ids, cos, sin, mask, P)
        h = (lp[:B] - ref_lp[:B]) - (lp[B:] - ref_lp[B:])
        loss = -F.logsigmoid(a.beta * h).mean()
        loss.backward()
        if step >= a.warmup:
            times.append(time.perf_counter() - t0)
            ref_times.append(t_ref)
    med = statistics.median(times)
    print(json.dumps({"engine": "torch", "step_s_median": med, "step_s_all": times,
                      "ref_forward_s_median": statistics.median(ref_times),
                      "tokens_per_s": 2 * B * T / med,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
                      "threads": a.threads, "torch": torch.__version__, "pairs": B, "prompt": P, "completion": C}))


if __name__ == "__main__":
    main()
