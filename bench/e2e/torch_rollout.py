#!/usr/bin/python3
"""Benchmark peer for issue 6: generation with a KV cache in plain PyTorch.

Owns: prefill and greedy decode of a batch of equal-length random prompts,
written the way a PyTorch user writes a KV-cache loop: the nn.Module blocks
of torch_train_step.py, per-layer key/value tensors grown with torch.cat
each step (HF's DynamicCache idea), full [B, V] logits and argmax, fp32,
torch.no_grad(). Deliberately not: sampling filters, continuous batching,
padding, or anything a user would not write. Not a correctness oracle (that
is tests/reference/torch_generate.py).

Usage:
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/e2e/torch_rollout.py \
      --preset tiny|smollm2-135m --prompt-len P --new N --batch B [--repeats R] [--threads T]

Prints one JSON line: prefill_tokens_per_s and decode_tokens_per_s (medians
over repeats), their per-repeat lists, loadavg_1m, and the shape used.
"""

import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_train_step as tts  # noqa: E402


def attn(mod, x, cos, sin, cache, causal):
    B, T, _ = x.shape
    q = mod.q_proj(x).view(B, T, mod.H, mod.D).transpose(1, 2)
    k = mod.k_proj(x).view(B, T, mod.K, mod.D).transpose(1, 2)
    v = mod.v_proj(x).view(B, T, mod.K, mod.D).transpose(1, 2)
    if mod.qk_norm:
        q, k = mod.q_norm(q), mod.k_norm(k)
    q = q * cos + tts.rotate_half(q) * sin
    k = k * cos + tts.rotate_half(k) * sin
    if cache[0] is not None:
        k = torch.cat([cache[0], k], dim=2)
        v = torch.cat([cache[1], v], dim=2)
    cache[0], cache[1] = k, v
    k = k.repeat_interleave(mod.H // mod.K, dim=1)
    v = v.repeat_interleave(mod.H // mod.K, dim=1)
    att = (q @ k.transpose(-1, -2)) * (mod.D ** -0.5)
    if causal:
        att = att + torch.full((T, T), float("-inf")).triu(1)
    y = torch.softmax(att, dim=-1) @ v
    return mod.o_proj(y.transpose(1, 2).reshape(B, T, mod.H * mod.D))


def step(model, ids, cos, sin, caches, causal):
    h = model.embed_tokens(ids)
    for blk, cache in zip(model.layers, caches):
        h = h + attn(blk.self_attn, blk.input_layernorm(h), cos, sin, cache, causal)
        h = h + blk.mlp(blk.post_attention_layernorm(h))
    return model.lm_head(model.norm(h[:, -1]))  # [B, V]


def main():
    ap = argparse.ArgumentParser(description="PyTorch KV-cache generation loop (prefill + greedy decode).")
    ap.add_argument("--preset", choices=sorted(tts.PRESETS), default="tiny")
    ap.add_argument("--prompt-len", type=int, default=128)
    ap.add_argument("--new", type=int, default=64)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    ns = argparse.Namespace(model=None, preset=a.preset, seed=0, tie=False,
                            **{k: None for k in ("arch", "layers", "hidden", "heads", "kv_heads", "intermediate", "vocab",
                                                 "head_dim", "rope_theta")})
    spec, cfg, model = tts.build(ns)
    model.eval()
    total = a.prompt_len + a.new
    cos_all, sin_all = (t.float() for t in torch_decoder_tables(spec, total))
    g = torch.Generator().manual_seed(1)
    pre, dec = [], []
    load0 = os.getloadavg()[0]
    with torch.no_grad():
        for _ in range(a.repeats):
            ids = torch.randint(0, spec.vocab, (a.batch, a.prompt_len), generator=g)
            caches = [[None, None] for _ in model.layers]
            t0 = time.perf_counter()
            logits = step(model, ids, cos_all[:, :, :a.prompt_len], sin_all[:, :, :a.prompt_len], caches, True)
            t1 = time.perf_counter()
            nxt = logits.argmax(-1)
            for i in range(a.new - 1):
                p = a.prompt_len + i
                logits = step(model, nxt[:, None], cos_all[:, :, p:p + 1], sin_all[:, :, p:p + 1], caches, False)
                nxt = logits.argmax(-1)
            t2 = time.perf_counter()
            pre.append(a.batch * a.prompt_len / (t1 - t0))
            dec.append(a.batch * (a.new - 1) / (t2 - t1))
    print(json.dumps({"prefill_tokens_per_s": statistics.median(pre), "decode_tokens_per_s": statistics.median(dec),
                      "prefill_all": pre, "decode_all": dec, "loadavg_1m": [load0, os.getloadavg()[0]],
                      "batch": a.batch, "prompt_len": a.prompt_len, "new": a.new, "threads": a.threads,
                      "preset": a.preset, "torch": torch.__version__}))


def torch_decoder_tables(spec, n):
    cos, sin = tts.torch_decoder.rope_tables(spec, torch.arange(n)[None])  # [1, n, D]
    return cos[:, None], sin[:, None]  # [1, 1, n, D]


if __name__ == "__main__":
    main()
