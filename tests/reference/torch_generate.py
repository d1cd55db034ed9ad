#!/usr/bin/python3
"""Greedy generation reference for Tandem's rollout engine (test oracle).

Owns: greedy continuations of token prompts under torch_decoder.py's model
math, computed the plainest way: no KV cache, the whole sequence re-run
through the full forward (float64) for every new token, one prompt at a
time. Deliberately slow and independent of any cache or batching logic.
For each step it also reports the margin between the best and second-best
log-prob, so a test can tell a real divergence from a float near-tie.

Usage:
  /usr/bin/python3 tests/reference/torch_generate.py --model DIR \
      --prompts prompts.json --max-new-tokens N --out out.json

prompts.json: [[id, ...], ...]
out.json: {"tokens": [[...] per prompt], "margins": [[...] per prompt]}
"""

import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_decoder  # noqa: E402


def greedy(spec, params, prompt, max_new):
    seq = list(prompt)
    toks, margins = [], []
    for _ in range(max_new):
        ids = torch.tensor([seq], dtype=torch.int64)
        pos = torch.arange(len(seq), dtype=torch.int64)[None]
        seg = torch.zeros_like(ids)
        out = torch_decoder.forward(spec, params, ids, pos, seg, keep_log_softmax=True)
        last = out["log_softmax"][0, -1]
        top = torch.topk(last, 2)
        nxt = int(top.indices[0])
        toks.append(nxt)
        margins.append(float(top.values[0] - top.values[1]))
        seq.append(nxt)
    return toks, margins


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--prompts", required=True)
    ap.add_argument("--max-new-tokens", type=int, required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    spec, params = torch_decoder.load_model(a.model, torch.float64)
    with open(a.prompts) as f:
        prompts = json.load(f)
    res = {"tokens": [], "margins": []}
    with torch.no_grad():
        for p in prompts:
            t, m = greedy(spec, params, p, a.max_new_tokens)
            res["tokens"].append(t)
            res["margins"].append(m)
    with open(a.out, "w") as f:
        json.dump(res, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
