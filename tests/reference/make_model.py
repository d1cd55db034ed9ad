#!/usr/bin/python3
"""Writes a random Hugging Face model folder (config.json + safetensors weights).

Owns: an independent writer of HF-format decoder folders for Llama, Qwen2,
Qwen3 and Mistral (as *ForCausalLM, or *ForSequenceClassification with a
[1, hidden] score head), with the config quirks the engine must honour (GQA,
head_dim != hidden/heads, attention biases, tied embeddings, rope_scaling,
sliding window), weights in F32/BF16/F16, in one file or sharded with an
index. The C++ loader tests use it to check they read what another
implementation wrote. Deliberately does not: write tokenizer files, or try
to look like a trained model (weights are random).

Usage:
  /usr/bin/python3 tests/reference/make_model.py --arch llama|qwen2|qwen3|mistral \
      --layers L --hidden C --heads H --kv-heads K --intermediate I --vocab V \
      [--head-dim D] [--tie] [--qkv-bias] [--rope-scaling JSON] [--rope-theta X] \
      [--sliding-window N] [--max-window-layers M] [--max-position-embeddings P] \
      [--dtype F32|BF16|F16] [--shards N] [--seed S] [--init-std X] \
      [--score-head [--with-lm-head]] --out DIR

Initialisation: linear and embedding weights ~ N(0, init-std^2) (HF's
initializer_range idea); norm weights 1 + N(0, 0.1^2) and biases
N(0, init-std^2), so that every parameter changes the output and a reader
that drops or misplaces one is caught (HF itself initialises norms to 1 and
biases to 0).

Flag meanings per family:
  --qkv-bias   llama/mistral/qwen3: attention_bias=true (bias on q, k, v and o
               as HF's attention reads it); qwen2: no-op, q/k/v always have
               a bias and o_proj never has one.
  --sliding-window N
               mistral: sliding_window=N on every layer; qwen2/qwen3:
               use_sliding_window=true, sliding_window=N, and layers with
               index >= --max-window-layers (default 0 then) use it. Without
               the flag, qwen2/qwen3 write use_sliding_window=false with
               sliding_window=max_position_embeddings (as real Qwen configs
               do) and mistral writes sliding_window=null.
  --score-head architectures[0] = <Family>ForSequenceClassification,
               num_labels 1, score.weight [1, C]; no lm_head.weight unless
               --with-lm-head (a critic initialised from a policy).
"""

import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402

PREFIX = {"llama": "Llama", "qwen2": "Qwen2", "qwen3": "Qwen3", "mistral": "Mistral"}
TORCH_DTYPE = {"F32": "float32", "BF16": "bfloat16", "F16": "float16"}


def make_config(a):
    D = a.head_dim or a.hidden // a.heads
    arch = PREFIX[a.arch] + ("ForSequenceClassification" if a.score_head else "ForCausalLM")
    cfg = {
        "architectures": [arch],
        "model_type": a.arch,
        "hidden_size": a.hidden,
        "intermediate_size": a.intermediate,
        "num_hidden_layers": a.layers,
        "num_attention_heads": a.heads,
        "num_key_value_heads": a.kv_heads,
        "head_dim": D,
        "hidden_act": "silu",
        "max_position_embeddings": a.max_position_embeddings,
        "rms_norm_eps": a.rms_norm_eps,
        "rope_theta": a.rope_theta,
        "rope_scaling": json.loads(a.rope_scaling) if a.rope_scaling else None,
        "tie_word_embeddings": bool(a.tie),
        "vocab_size": a.vocab,
        "torch_dtype": TORCH_DTYPE[a.dtype],
        "initializer_range": a.init_std,
        "attention_dropout": 0.0,
        "use_cache": True,
        "bos_token_id": 1,
        "eos_token_id": 2,
    }
    if a.arch in ("llama", "mistral", "qwen3"):
        cfg["attention_bias"] = bool(a.qkv_bias)
    if a.arch == "llama":
        cfg["mlp_bias"] = False
        cfg["pretraining_tp"] = 1
    if a.arch in ("qwen2", "qwen3"):
        if a.sliding_window:
            cfg["use_sliding_window"] = True
            cfg["sliding_window"] = a.sliding_window
            cfg["max_window_layers"] = a.max_window_layers if a.max_window_layers is not None else 0
        else:
            cfg["use_sliding_window"] = False
            cfg["sliding_window"] = a.max_position_embeddings
            cfg["max_window_layers"] = a.max_window_layers if a.max_window_layers is not None else a.layers
    if a.arch == "mistral":
        cfg["sliding_window"] = a.sliding_window or None
    if a.score_head:
        cfg["num_labels"] = 1
        cfg["id2label"] = {"0": "LABEL_0"}
        cfg["label2id"] = {"LABEL_0": 0}
        cfg["pad_token_id"] = 0
    return cfg


def make_weights(a, cfg):
    g = torch.Generator().manual_seed(a.seed)
    C, I, V = a.hidden, a.intermediate, a.vocab
    H, K, D = a.heads, a.kv_heads, cfg["head_dim"]

    def w(*shape):
        return torch.randn(*shape, generator=g) * a.init_std

    def norm(n):
        return 1.0 + 0.1 * torch.randn(n, generator=g)

    qkv_bias = a.arch == "qwen2" or bool(a.qkv_bias)
    o_bias = a.arch != "qwen2" and bool(a.qkv_bias)
    t = {"model.embed_tokens.weight": w(V, C)}
    for i in range(a.layers):
        p = f"model.layers.{i}."
        t[p + "input_layernorm.weight"] = norm(C)
        for n, rows in (("q", H * D), ("k", K * D), ("v", K * D)):
            t[p + f"self_attn.{n}_proj.weight"] = w(rows, C)
            if qkv_bias:
                t[p + f"self_attn.{n}_proj.bias"] = w(rows)
        t[p + "self_attn.o_proj.weight"] = w(C, H * D)
        if o_bias:
            t[p + "self_attn.o_proj.bias"] = w(C)
        if a.arch == "qwen3":
            t[p + "self_attn.q_norm.weight"] = norm(D)
            t[p + "self_attn.k_norm.weight"] = norm(D)
        t[p + "post_attention_layernorm.weight"] = norm(C)
        t[p + "mlp.gate_proj.weight"] = w(I, C)
        t[p + "mlp.up_proj.weight"] = w(I, C)
        t[p + "mlp.down_proj.weight"] = w(C, I)
    t["model.norm.weight"] = norm(C)
    if not a.tie and (not a.score_head or a.with_lm_head):
        t["lm_head.weight"] = w(V, C)
    if a.score_head:
        t["score.weight"] = w(1, C)
    return t


def parser():
    ap = argparse.ArgumentParser(description="Write a random HF decoder model folder.")
    ap.add_argument("--arch", required=True, choices=sorted(PREFIX))
    ap.add_argument("--layers", type=int, required=True)
    ap.add_argument("--hidden", type=int, required=True)
    ap.add_argument("--heads", type=int, required=True)
    ap.add_argument("--kv-heads", type=int)
    ap.add_argument("--intermediate", type=int, required=True)
    ap.add_argument("--vocab", type=int, required=True)
    ap.add_argument("--head-dim", type=int)
    ap.add_argument("--tie", action="store_true")
    ap.add_argument("--qkv-bias", action="store_true")
    ap.add_argument("--rope-scaling", help="JSON object for config.rope_scaling")
    ap.add_argument("--rope-theta", type=float, default=10000.0)
    ap.add_argument("--sliding-window", type=int)
    ap.add_argument("--max-window-layers", type=int)
    ap.add_argument("--max-position-embeddings", type=int, default=4096)
    ap.add_argument("--rms-norm-eps", type=float, default=1e-6)
    ap.add_argument("--dtype", default="F32", choices=["F32", "BF16", "F16"])
    ap.add_argument("--shards", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--init-std", type=float, default=0.02)
    ap.add_argument("--score-head", action="store_true")
    ap.add_argument("--with-lm-head", action="store_true")
    ap.add_argument("--out", required=True)
    return ap


def make_model(argv):
    """Writes the folder described by command-line style `argv` (a list); returns the config dict."""
    a = parser().parse_args(argv)
    if a.kv_heads is None:
        a.kv_heads = a.heads
    if a.heads % a.kv_heads:
        raise SystemExit("--heads must be a multiple of --kv-heads")
    cfg = make_config(a)
    tensors = make_weights(a, cfg)
    os.makedirs(a.out, exist_ok=True)
    safetensors_io.write_folder(a.out, tensors, a.dtype, a.shards)
    tmp = os.path.join(a.out, "config.json.tmp")
    with open(tmp, "w") as f:
        json.dump(cfg, f, indent=2)
    os.replace(tmp, os.path.join(a.out, "config.json"))
    return cfg


if __name__ == "__main__":
    make_model(sys.argv[1:])
