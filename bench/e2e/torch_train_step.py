#!/usr/bin/python3
"""Benchmark peer for issue 2: one training step in plain PyTorch.

Owns: "one training step" (forward + backward of the summed log-probs of a
batch) for a Llama/Qwen2/Qwen3/Mistral-shaped decoder, written the way a
PyTorch user would write it: nn.Module blocks, F.linear, full [B, T, V]
logits, log_softmax + gather, causal masked softmax attention (torch 1.13
has no scaled_dot_product_attention), fp32, torch.set_num_threads(N).
Deliberately not: an optimizer step, packing, mixed precision, or anything
a user would not write (no fused or chunked LM head). It is the side-by-side
peer of Tandem's e2e benchmark, not a correctness oracle (that is
tests/reference/torch_decoder.py).

Usage:
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/e2e/torch_train_step.py \
      (--model DIR | --preset tiny|smollm2-135m | --arch A --layers L --hidden C --heads H
       [--kv-heads K] --intermediate I --vocab V [--head-dim D] [--tie] [--rope-theta X])
      --batch B --seq T [--steps K] [--warmup W] [--threads N] [--seed S]

Prints one JSON line: tokens_per_s (B*T / median step time), step_s_median,
step_s_min, step_s_all, loadavg_1m (before, after), peak_rss_mb (ru_maxrss of the whole process, so it includes the
interpreter, torch and the weights), threads, torch, and the shape used.
Input ids are uniform random tokens; timing does not depend on them.
"""

import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "reference"))
import safetensors_io  # noqa: E402
import torch_decoder  # noqa: E402  (config parsing and RoPE tables only, outside the timed step)

PRESETS = {
    # Small shape of issue 2: d=256, 4 layers, vocab 8192 (heads/intermediate are this script's choice).
    "tiny": dict(arch="llama", layers=4, hidden=256, heads=4, kv_heads=4, intermediate=768, vocab=8192,
                 head_dim=64, tie=False, rope_theta=10000.0),
    # SmolLM2-135M: Llama, tied embeddings, rope_theta 1e5.
    "smollm2-135m": dict(arch="llama", layers=30, hidden=576, heads=9, kv_heads=3, intermediate=1536,
                         vocab=49152, head_dim=64, tie=True, rope_theta=100000.0),
}
ARCH = {"llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM", "qwen3": "Qwen3ForCausalLM",
        "mistral": "MistralForCausalLM"}


class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


class Attention(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.H, self.K, self.D = s.heads, s.kv_heads, s.head_dim
        self.q_proj = nn.Linear(s.hidden, self.H * self.D, bias=s.qkv_bias)
        self.k_proj = nn.Linear(s.hidden, self.K * self.D, bias=s.qkv_bias)
        self.v_proj = nn.Linear(s.hidden, self.K * self.D, bias=s.qkv_bias)
        self.o_proj = nn.Linear(self.H * self.D, s.hidden, bias=s.o_bias)
        if s.qk_norm:
            self.q_norm = RMSNorm(self.D, s.eps)
            self.k_norm = RMSNorm(self.D, s.eps)
        self.qk_norm = s.qk_norm

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.H, self.D).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.K, self.D).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.K, self.D).transpose(1, 2)
        if self.qk_norm:
            q, k = self.q_norm(q), self.k_norm(k)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(self.H // self.K, dim=1)
        v = v.repeat_interleave(self.H // self.K, dim=1)
        att = (q @ k.transpose(-1, -2)) * (self.D ** -0.5) + mask
        y = torch.softmax(att, dim=-1) @ v
        return self.o_proj(y.transpose(1, 2).reshape(B, T, self.H * self.D))


class MLP(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.gate_proj = nn.Linear(s.hidden, s.intermediate, bias=False)
        self.up_proj = nn.Linear(s.hidden, s.intermediate, bias=False)
        self.down_proj = nn.Linear(s.intermediate, s.hidden, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.input_layernorm = RMSNorm(s.hidden, s.eps)
        self.self_attn = Attention(s)
        self.post_attention_layernorm = RMSNorm(s.hidden, s.eps)
        self.mlp = MLP(s)

    def forward(self, h, cos, sin, mask):
        h = h + self.self_attn(self.input_layernorm(h), cos, sin, mask)
        return h + self.mlp(self.post_attention_layernorm(h))


class Decoder(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.embed_tokens = nn.Embedding(s.vocab, s.hidden)
        self.layers = nn.ModuleList([Block(s) for _ in range(s.layers)])
        self.norm = RMSNorm(s.hidden, s.eps)
        self.lm_head = nn.Linear(s.hidden, s.vocab, bias=False)
        if s.tie:
            self.lm_head.weight = self.embed_tokens.weight

    def forward(self, ids, cos, sin, mask):
        h = self.embed_tokens(ids)
        for blk in self.layers:
            h = blk(h, cos, sin, mask)
        return self.lm_head(self.norm(h))


def summed_logp(model, ids, cos, sin, mask):
    logits = model(ids, cos, sin, mask)  # [B, T, V]
    logp = torch.log_softmax(logits[:, :-1], dim=-1)
    return logp.gather(-1, ids[:, 1:, None]).sum()


def build(a):
    if a.model:
        with open(os.path.join(a.model, "config.json")) as f:
            cfg = json.load(f)
    else:
        sh = dict(PRESETS[a.preset]) if a.preset else {}
        for k in ("arch", "layers", "hidden", "heads", "kv_heads", "intermediate", "vocab", "head_dim",
                  "rope_theta"):
            if getattr(a, k) is not None:
                sh[k] = getattr(a, k)
        if a.tie:
            sh["tie"] = True
        missing = [k for k in ("arch", "layers", "hidden", "heads", "intermediate", "vocab") if k not in sh]
        if missing:
            raise SystemExit(f"need --model, --preset or the shape flags; missing {missing}")
        cfg = {"architectures": [ARCH[sh["arch"]]], "hidden_size": sh["hidden"],
               "intermediate_size": sh["intermediate"], "num_hidden_layers": sh["layers"],
               "num_attention_heads": sh["heads"], "num_key_value_heads": sh.get("kv_heads") or sh["heads"],
               "head_dim": sh.get("head_dim") or sh["hidden"] // sh["heads"], "vocab_size": sh["vocab"],
               "tie_word_embeddings": bool(sh.get("tie")), "rope_theta": sh.get("rope_theta", 10000.0),
               "rms_norm_eps": 1e-5}
    spec = torch_decoder.Spec(cfg)
    if any(w is not None for w in spec.windows):
        raise SystemExit("sliding-window models are not part of this benchmark")
    model = Decoder(spec)
    if a.model:
        weights = safetensors_io.read_folder(a.model)
        state = {n[len("model."):] if n.startswith("model.") else n: t for n, t in weights.items()}
        if spec.tie:
            state["lm_head.weight"] = state["embed_tokens.weight"]
        model.load_state_dict(state, strict=True)
    else:
        g = torch.Generator().manual_seed(a.seed)
        with torch.no_grad():
            for n, p in model.named_parameters():
                if not n.endswith("norm.weight"):
                    p.copy_(torch.randn(p.shape, generator=g) * 0.02)
    return spec, cfg, model


def main():
    ap = argparse.ArgumentParser(description="One PyTorch training step (forward + backward of summed log-probs).")
    ap.add_argument("--model")
    ap.add_argument("--preset", choices=sorted(PRESETS))
    ap.add_argument("--arch", choices=sorted(ARCH))
    for k in ("layers", "hidden", "heads", "kv-heads", "intermediate", "vocab", "head-dim"):
        ap.add_argument("--" + k, type=int)
    ap.add_argument("--rope-theta", type=float)
    ap.add_argument("--tie", action="store_true")
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--seq", type=int, required=True)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    spec, cfg, model = build(a)
    B, T = a.batch, a.seq
    ids = torch.randint(0, spec.vocab, (B, T))
    pos = torch.arange(T)[None].expand(B, T)
    cos, sin = (x.to(torch.float32)[:, None] for x in torch_decoder.rope_tables(spec, pos[:1]))  # [1, 1, T, D]
    mask = torch.full((T, T), float("-inf")).triu(1)  # [T, T] causal, additive

    load_before = os.getloadavg()[0]
    times = []
    for step in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        model.zero_grad(set_to_none=True)
        loss = summed_logp(model, ids, cos, sin, mask)
        loss.backward()
        dt = time.perf_counter() - t0
        if step >= a.warmup:
            times.append(dt)
    med = statistics.median(times)
    shape = {k: cfg.get(k) for k in ("architectures", "hidden_size", "num_hidden_layers", "num_attention_heads",
                                       "num_key_value_heads", "head_dim", "intermediate_size", "vocab_size",
                                       "tie_word_embeddings")}
    print(json.dumps({
        "tokens_per_s": B * T / med,
        "step_s_median": med,
        "step_s_min": min(times),
        "step_s_all": times,
        # 1-minute load average before and after: above the core count, other processes share the
        # cores and OpenMP's barriers make multi-threaded steps far slower (see bench/RESULTS.md).
        "loadavg_1m": [load_before, os.getloadavg()[0]],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "threads": a.threads,
        "torch": torch.__version__,
        "batch": B, "seq": T,
        "shape": shape,
        "openblas_env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                                        "OMP_NUM_THREADS")},
    }))


if __name__ == "__main__":
    main()
