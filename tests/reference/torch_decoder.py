#!/usr/bin/python3
"""Independent PyTorch reference (test oracle) for Tandem's decoder engine.

Owns: the forward math of the Hugging Face decoder families Llama, Qwen2, Qwen3
and Mistral (as *ForCausalLM, plus an optional scalar "score" head as in
*ForSequenceClassification), per-token log-probs and entropies for padded or
packed batches, and gradients of a weighted objective by torch autograd.
Written from the models' math, not from the transformers package (which is
not installed and is not copied). Deliberately not fast: full [B, T, V]
logits, explicit masks, float64 by default so it can judge the C++ engine.

Usage:
  /usr/bin/python3 tests/reference/torch_decoder.py --model DIR --batch batch.json \
      --out out.safetensors [--dtype float64|float32] [--bf16-matmul] [--no-grad] [--threads N]

batch.json: {"input_ids": [[..] x B], "position_ids": [[..]], "segment_ids": [[..]],
             "dlogp": [[..]], "dentropy": [[..]], "dvalue": [[..]]}
  All rows have the same length T. Only input_ids is required:
  segment_ids defaults to 0 everywhere; position_ids defaults to the index
  within the row's current segment (restarting where segment_ids changes);
  dlogp/dentropy/dvalue default to zeros.

Definitions (these are the contract the C++ engine is tested against):
  * segment_ids[b,t] = -1 marks padding. Token t of row b attends key j iff
    j <= t, segment_ids[b,j] == segment_ids[b,t], and, on a sliding-window
    layer with window W, t - j < W (so a token sees itself and W-1 earlier
    tokens). This is the rule of HF's current mask builder (key kept iff
    kv_idx > q_idx - sliding_window); some older HF releases let a token see
    W+1 keys (flash-attention window (W, W), or tril(diagonal=-W-1) masks),
    which we do not follow. Padding tokens attend only to padding (never to
    real tokens, and no real token attends to them), so they never change
    real outputs.
  * RoPE angles use position_ids, not the index; causality uses the index.
  * logp[b,t] = log_softmax(logits[b,t-1])[input_ids[b,t]] when t > 0 and
    segment_ids[b,t] == segment_ids[b,t-1] >= 0, else 0. entropy[b,t] is the
    entropy of that same distribution under the same condition, else 0.
  * value[b,t] = final_norm(h)[b,t] . score.weight[0] when the folder has
    score.weight [1, hidden] (no bias), and 0 on padding (segment_ids < 0).
  * J = sum(dlogp*logp) + sum(dentropy*entropy) + sum(dvalue*value).
  * The LM head is lm_head.weight when present, else model.embed_tokens.weight
    when tie_word_embeddings is true (its gradient is then the sum of both
    uses), else there is none and logp/entropy are not written.

Config rules (HF semantics as the reference understands them):
  * Attention biases: Llama, Mistral, Qwen3: attention_bias (default false)
    puts a bias on q, k, v AND o_proj, as HF's Llama/Qwen3 attention does.
    (HF's own Mistral hard-codes bias=False; a Mistral config with
    attention_bias true is followed here for symmetry.) Qwen2: q/k/v always
    have a bias, o_proj never.
  * head_dim: the config field when present and not null, else
    hidden_size / num_attention_heads, except Qwen3 whose HF default is 128.
  * Qwen3 q_norm/k_norm: RMSNorm over head_dim of each head, weight [head_dim],
    eps = rms_norm_eps, applied after the projection and before RoPE.
  * Sliding window: let W = sliding_window if (family is Mistral, or
    use_sliding_window is true for Qwen2/Qwen3) else none. If config has a
    layer_types list, layer i uses the window iff layer_types[i] ==
    "sliding_attention" and W is set. Otherwise: Mistral uses W on every layer;
    Qwen2/Qwen3 use W on layer i iff i >= max_window_layers (HF default 28),
    i.e. the FIRST max_window_layers layers are full attention - this is how
    HF's Qwen2Config builds layer_types from max_window_layers.
  * RoPE (rotate_half convention: pairs are (i, i + D/2)): inv_freq_i =
    theta^(-2i/D). rope_scaling (or legacy key "type", or a newer
    "rope_parameters" dict) selects:
      default; linear: inv_freq / factor;
      llama3: factor, low_freq_factor, high_freq_factor,
        original_max_position_embeddings (wavelength bands, smooth blend);
      yarn: factor (explicit factor wins, as in current HF), beta_fast (32),
        beta_slow (1), original_max_position_embeddings (default
        max_position_embeddings), truncate (true), attention_factor default
        0.1*ln(factor)+1 (1 if factor <= 1), or the mscale/mscale_all_dim
        ratio when both are given; cos and sin are multiplied by it.
    The rope tables are computed in float64 whatever --dtype says, then cast.
  * Attention scale is head_dim^-0.5. hidden_act must be silu.

--bf16-matmul models bf16 compute as a bf16 GEMM with wide accumulation does
it: every projection (q, k, v, o, gate, up, down) and the LM head multiply
operands rounded to bfloat16 (torch's own rounding, nearest even), and their
backward rounds the incoming gradient as well as the saved operands, while
the products and sums run in --dtype (exact products of bf16 values, as
AVX512_BF16's dot product and fp32 accumulation give). Embedding lookup,
norms, RoPE, attention, softmax, the score head and LoRA deltas stay in
--dtype. torch's own bf16 matmul is not used because it rounds its output to
bf16 as well, which is not the arithmetic under test.
"""

import argparse
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402

FAMILIES = {"Llama": "llama", "Qwen2": "qwen2", "Qwen3": "qwen3", "Mistral": "mistral"}
HEADS = ("ForCausalLM", "ForSequenceClassification")


class Spec:
    """Everything in config.json that changes the math, resolved to plain values."""

    def __init__(self, cfg, where="config.json"):
        def need(key):
            if key not in cfg or cfg[key] is None:
                raise ValueError(f"{where}: missing field {key}")
            return cfg[key]

        archs = need("architectures")
        arch = archs[0] if isinstance(archs, list) and archs else archs
        self.family = None
        for prefix, fam in FAMILIES.items():
            for head in HEADS:
                if arch == prefix + head:
                    self.family = fam
        if self.family is None:
            raise ValueError(f"{where}: architectures[0] = {arch!r} is not supported")
        self.arch = arch
        self.hidden = int(need("hidden_size"))
        self.intermediate = int(need("intermediate_size"))
        self.layers = int(need("num_hidden_layers"))
        self.heads = int(need("num_attention_heads"))
        self.kv_heads = int(cfg.get("num_key_value_heads") or self.heads)
        self.vocab = int(need("vocab_size"))
        hd = cfg.get("head_dim")
        if hd is None:
            hd = 128 if self.family == "qwen3" else self.hidden // self.heads
        self.head_dim = int(hd)
        if self.heads % self.kv_heads:
            raise ValueError(f"{where}: num_attention_heads {self.heads} not a multiple of "
                             f"num_key_value_heads {self.kv_heads}")
        self.eps = float(cfg.get("rms_norm_eps", 1e-6))
        act = cfg.get("hidden_act", "silu")
        if act != "silu":
            raise ValueError(f"{where}: hidden_act must be silu, got {act!r}")
        if cfg.get("mlp_bias"):
            raise ValueError(f"{where}: mlp_bias true is not supported")
        if float(cfg.get("partial_rotary_factor", 1.0)) != 1.0:
            raise ValueError(f"{where}: partial_rotary_factor != 1 is not supported")
        self.tie = bool(cfg.get("tie_word_embeddings", False))
        if self.family == "qwen2":
            self.qkv_bias, self.o_bias = True, False
        else:
            self.qkv_bias = self.o_bias = bool(cfg.get("attention_bias", False))
        self.qk_norm = self.family == "qwen3"
        self.max_pos = cfg.get("max_position_embeddings")

        rs = cfg.get("rope_scaling") or cfg.get("rope_parameters") or {}
        self.rope_theta = float(cfg.get("rope_theta") or rs.get("rope_theta") or 10000.0)
        self.rope = dict(rs)
        self.rope_type = rs.get("rope_type", rs.get("type", "default"))
        if self.rope_type not in ("default", "linear", "llama3", "yarn"):
            raise ValueError(f"{where}: rope_scaling.rope_type {self.rope_type!r} is not supported")

        window = cfg.get("sliding_window")
        if self.family != "mistral" and not cfg.get("use_sliding_window", False):
            window = None
        types = cfg.get("layer_types")
        if types is not None:
            if len(types) != self.layers:
                raise ValueError(f"{where}: layer_types has {len(types)} entries, expected {self.layers}")
            self.windows = [int(window) if (window is not None and t == "sliding_attention") else None
                            for t in types]
        elif self.family == "mistral":
            self.windows = [None if window is None else int(window)] * self.layers
        else:
            mwl = int(cfg.get("max_window_layers", 28))
            self.windows = [int(window) if (window is not None and i >= mwl) else None
                            for i in range(self.layers)]


def rope_tables(spec, positions):
    """cos, sin [B, T, D] in float64 for integer positions [B, T]."""
    D = spec.head_dim
    r = spec.rope
    base = spec.rope_theta
    inv = 1.0 / (base ** (torch.arange(0, D, 2, dtype=torch.float64) / D))  # [D/2]
    scale = 1.0
    if spec.rope_type == "linear":
        inv = inv / float(r["factor"])
    elif spec.rope_type == "llama3":
        factor = float(r["factor"])
        lo, hi = float(r["low_freq_factor"]), float(r["high_freq_factor"])
        old = float(r["original_max_position_embeddings"])
        wavelen = 2 * math.pi / inv
        lo_wavelen, hi_wavelen = old / lo, old / hi
        scaled = torch.where(wavelen > lo_wavelen, inv / factor, inv)  # long waves: interpolate
        smooth = (old / wavelen - lo) / (hi - lo)
        blended = (1 - smooth) * scaled / factor + smooth * scaled
        medium = (wavelen >= hi_wavelen) & (wavelen <= lo_wavelen)
        inv = torch.where(medium, blended, scaled)
    elif spec.rope_type == "yarn":
        factor = float(r["factor"])
        orig = r.get("original_max_position_embeddings") or spec.max_pos
        if orig is None:
            raise ValueError("config.json: yarn needs original_max_position_embeddings or max_position_embeddings")
        orig = float(orig)

        def mscale_of(s, m=1.0):
            return 1.0 if s <= 1 else 0.1 * m * math.log(s) + 1.0

        att = r.get("attention_factor")
        if att is None:
            ms, msad = r.get("mscale"), r.get("mscale_all_dim")
            att = mscale_of(factor, ms) / mscale_of(factor, msad) if (ms and msad) else mscale_of(factor)
        scale = float(att)
        fast = r.get("beta_fast") or 32
        slow = r.get("beta_slow") or 1

        def corr_dim(rot):  # dimension index whose wavelength makes `rot` turns over orig positions
            return D * math.log(orig / (rot * 2 * math.pi)) / (2 * math.log(base))

        low, high = corr_dim(fast), corr_dim(slow)
        if r.get("truncate", True):
            low, high = math.floor(low), math.ceil(high)
        low, high = max(low, 0), min(high, D - 1)
        if low == high:
            high += 0.001
        ramp = ((torch.arange(D // 2, dtype=torch.float64) - low) / (high - low)).clamp(0, 1)
        extrap = 1 - ramp  # 1: keep original frequency, 0: interpolate
        inv = (inv / factor) * (1 - extrap) + inv * extrap
    ang = positions.to(torch.float64)[..., None] * inv  # [B, T, D/2]
    ang = torch.cat([ang, ang], dim=-1)  # [B, T, D]
    return ang.cos() * scale, ang.sin() * scale


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


def apply_rope(x, cos, sin):
    """HF convention: channel i pairs with i + D/2; x' = x*cos + rotate_half(x)*sin."""
    return x * cos + rotate_half(x) * sin


def expected_shapes(spec, names):
    """{name: shape} for every parameter the config implies (score head if present in `names`)."""
    C, D, H, K, I, V = spec.hidden, spec.head_dim, spec.heads, spec.kv_heads, spec.intermediate, spec.vocab
    s = {"model.embed_tokens.weight": [V, C], "model.norm.weight": [C]}
    if "lm_head.weight" in names or not (spec.tie or spec.arch.endswith("ForSequenceClassification")):
        s["lm_head.weight"] = [V, C]
    if "score.weight" in names or spec.arch.endswith("ForSequenceClassification"):
        s["score.weight"] = [1, C]
    for i in range(spec.layers):
        p = f"model.layers.{i}."
        s[p + "input_layernorm.weight"] = [C]
        s[p + "post_attention_layernorm.weight"] = [C]
        for n, rows in (("q", H * D), ("k", K * D), ("v", K * D)):
            s[p + f"self_attn.{n}_proj.weight"] = [rows, C]
            if spec.qkv_bias:
                s[p + f"self_attn.{n}_proj.bias"] = [rows]
        s[p + "self_attn.o_proj.weight"] = [C, H * D]
        if spec.o_bias:
            s[p + "self_attn.o_proj.bias"] = [C]
        if spec.qk_norm:
            s[p + "self_attn.q_norm.weight"] = [D]
            s[p + "self_attn.k_norm.weight"] = [D]
        s[p + "mlp.gate_proj.weight"] = [I, C]
        s[p + "mlp.up_proj.weight"] = [I, C]
        s[p + "mlp.down_proj.weight"] = [C, I]
    return s


def load_model(folder, dtype=torch.float64):
    """(spec, params): params maps HF names to leaf tensors of `dtype` requiring grad."""
    cfg_path = os.path.join(folder, "config.json")
    with open(cfg_path) as f:
        spec = Spec(json.load(f), cfg_path)
    raw = safetensors_io.read_folder(folder)
    # Old checkpoints may carry RoPE buffers; they are derived data, not parameters.
    raw = {n: t for n, t in raw.items() if not n.endswith("rotary_emb.inv_freq")}
    want = expected_shapes(spec, raw)
    for name, shape in want.items():
        if name not in raw:
            raise ValueError(f"{folder}: missing tensor {name}")
        if list(raw[name].shape) != shape:
            raise ValueError(f"{folder}: tensor {name} has shape {list(raw[name].shape)}, config implies {shape}")
    extra = sorted(set(raw) - set(want))
    if extra:
        raise ValueError(f"{folder}: unexpected tensors for {spec.arch}: {extra[:5]}")
    params = {n: t.to(dtype).requires_grad_(True) for n, t in raw.items()}
    return spec, params


def _bf16(x):
    """x rounded to bfloat16 and back to x's dtype."""
    return x.to(torch.bfloat16).to(x.dtype)


class _Bf16Matmul(torch.autograd.Function):
    """x @ w^T on bf16-rounded operands; backward rounds the output gradient too."""

    @staticmethod
    def forward(ctx, x, w):
        xr, wr = _bf16(x), _bf16(w)
        ctx.save_for_backward(xr, wr)
        return xr @ wr.t()

    @staticmethod
    def backward(ctx, g):
        xr, wr = ctx.saved_tensors
        gr = _bf16(g)
        gx = gr @ wr
        gw = gr.reshape(-1, gr.shape[-1]).t() @ xr.reshape(-1, xr.shape[-1])
        return gx, gw


def attention_mask(seg, window):
    """allowed [B, T, T]: query t may read key j (see the module docstring)."""
    T = seg.shape[1]
    t = torch.arange(T)[:, None]
    j = torch.arange(T)[None, :]
    ok = (j <= t)[None] & (seg[:, :, None] == seg[:, None, :])
    if window is not None:
        ok = ok & ((t - j) < window)[None]
    return ok


def forward(spec, params, ids, pos, seg, keep_log_softmax=False, delta=None, bf16_matmul=False):
    """Returns dict with logp, entropy [B, T] (if there is an LM head) and value [B, T] (if a score head);
    with keep_log_softmax also log_softmax [B, T, V], the full next-token distributions (generation).
    delta(module_path, x), when given, returns a term added to that projection's output or None
    (module_path like "model.layers.0.self_attn.q_proj"; LoRA adapters, torch_lora.py).
    bf16_matmul: the projections and the LM head as bf16 GEMMs (see the module docstring)."""
    P = params

    def lin(x, module, bias=None):
        if bf16_matmul:
            y = _Bf16Matmul.apply(x, P[module + ".weight"])
            y = y if bias is None else y + bias
        else:
            y = F.linear(x, P[module + ".weight"], bias)
        d = delta(module, x) if delta is not None else None
        return y if d is None else y + d

    B, T = ids.shape
    H, K, D = spec.heads, spec.kv_heads, spec.head_dim
    dtype = P["model.embed_tokens.weight"].dtype
    cos, sin = (x.to(dtype)[:, None] for x in rope_tables(spec, pos))  # [B, 1, T, D]
    masks = {w: attention_mask(seg, w)[:, None] for w in set(spec.windows)}  # [B, 1, T, T]

    h = P["model.embed_tokens.weight"][ids]  # [B, T, C]
    for i in range(spec.layers):
        p = f"model.layers.{i}."
        x = rms_norm(h, P[p + "input_layernorm.weight"], spec.eps)

        def proj(n, x=x, p=p):
            return lin(x, p + f"self_attn.{n}_proj", P.get(p + f"self_attn.{n}_proj.bias"))

        q = proj("q").view(B, T, H, D).transpose(1, 2)  # [B, H, T, D]
        k = proj("k").view(B, T, K, D).transpose(1, 2)  # [B, K, T, D]
        v = proj("v").view(B, T, K, D).transpose(1, 2)  # [B, K, T, D]
        if spec.qk_norm:
            q = rms_norm(q, P[p + "self_attn.q_norm.weight"], spec.eps)
            k = rms_norm(k, P[p + "self_attn.k_norm.weight"], spec.eps)
        q = apply_rope(q, cos, sin)
        k = apply_rope(k, cos, sin)
        # GQA: query head h reads kv head h // (H/K).
        k = k.repeat_interleave(H // K, dim=1)  # [B, H, T, D]
        v = v.repeat_interleave(H // K, dim=1)
        scores = (q @ k.transpose(-1, -2)) * (D ** -0.5)  # [B, H, T, T]
        scores = scores.masked_fill(~masks[spec.windows[i]], float("-inf"))
        a = torch.softmax(scores, dim=-1) @ v  # [B, H, T, D]
        a = a.transpose(1, 2).reshape(B, T, H * D)
        h = h + lin(a, p + "self_attn.o_proj", P.get(p + "self_attn.o_proj.bias"))
        x = rms_norm(h, P[p + "post_attention_layernorm.weight"], spec.eps)
        m = F.silu(lin(x, p + "mlp.gate_proj")) * lin(x, p + "mlp.up_proj")
        h = h + lin(m, p + "mlp.down_proj")
    hn = rms_norm(h, P["model.norm.weight"], spec.eps)  # [B, T, C]

    out = {}
    head = P.get("lm_head.weight")
    if head is None and spec.tie:
        head = P["model.embed_tokens.weight"]
    if head is not None:
        logits = _Bf16Matmul.apply(hn, head) if bf16_matmul else hn @ head.t()
        logsm = torch.log_softmax(logits, dim=-1)  # [B, T, V]
        pred = logsm[:, :-1]  # distribution for token t lives at t-1
        valid = torch.zeros(B, T, dtype=torch.bool)
        valid[:, 1:] = (seg[:, 1:] == seg[:, :-1]) & (seg[:, 1:] >= 0)
        zero = torch.zeros(B, 1, dtype=dtype)
        lp = torch.cat([zero, pred.gather(-1, ids[:, 1:, None])[..., 0]], dim=1)
        ent = torch.cat([zero, -(pred.exp() * pred).sum(-1)], dim=1)
        # where(), not a multiply, so masked entries are exactly +0 and carry no gradient.
        lp = torch.where(valid, lp, torch.zeros_like(lp))
        ent = torch.where(valid, ent, torch.zeros_like(ent))
        out["logp"] = lp
        out["entropy"] = ent
        if keep_log_softmax:
            out["log_softmax"] = logsm
    if "score.weight" in P:
        val = (hn @ P["score.weight"].t())[..., 0]  # [B, T]
        out["value"] = torch.where(seg >= 0, val, torch.zeros_like(val))
    return out


def _int_rows(batch, key, B, T, default):
    if key not in batch or batch[key] is None:
        return default
    rows = batch[key]
    if len(rows) != B or any(len(r) != T for r in rows):
        raise ValueError(f"batch: {key} must be {B} rows of {T} entries")
    return torch.tensor(rows, dtype=torch.int64)


def prepare_batch(batch, spec, dtype):
    """Tensors ids, pos, seg [B, T] (int64) and weights {dlogp, dentropy, dvalue} [B, T] of dtype."""
    ids_rows = batch["input_ids"]
    B = len(ids_rows)
    T = len(ids_rows[0]) if B else 0
    ids = _int_rows(batch, "input_ids", B, T, None)
    if ids.min() < 0 or ids.max() >= spec.vocab:
        raise ValueError(f"batch: input_ids outside [0, {spec.vocab})")
    seg = _int_rows(batch, "segment_ids", B, T, torch.zeros(B, T, dtype=torch.int64))
    if "position_ids" in batch and batch["position_ids"] is not None:
        pos = _int_rows(batch, "position_ids", B, T, None)
    else:
        pos = torch.zeros(B, T, dtype=torch.int64)
        for t in range(1, T):
            pos[:, t] = torch.where(seg[:, t] == seg[:, t - 1], pos[:, t - 1] + 1, torch.zeros(B, dtype=torch.int64))
    w = {}
    for key in ("dlogp", "dentropy", "dvalue"):
        if key in batch and batch[key] is not None:
            rows = batch[key]
            if len(rows) != B or any(len(r) != T for r in rows):
                raise ValueError(f"batch: {key} must be {B} rows of {T} entries")
            w[key] = torch.tensor(rows, dtype=dtype)
    return ids, pos, seg, w


def objective(out, w):
    J = 0
    for key, name in (("dlogp", "logp"), ("dentropy", "entropy"), ("dvalue", "value")):
        if key not in w:
            continue
        if name not in out:
            if bool((w[key] != 0).any()):
                raise ValueError(f"batch: {key} is nonzero but the model has no {name} output")
            continue
        J = J + (w[key] * out[name]).sum()
    return J


def run(folder, batch, dtype=torch.float64, grad=True, bf16_matmul=False):
    """Outputs dict (logp, entropy, value, grad.<name>) for a loaded batch dict."""
    spec, params = load_model(folder, dtype)
    ids, pos, seg, w = prepare_batch(batch, spec, dtype)
    out = forward(spec, params, ids, pos, seg, bf16_matmul=bf16_matmul)
    result = {k: v.detach() for k, v in out.items()}
    if grad:
        J = objective(out, w)
        names = sorted(params)
        if torch.is_tensor(J):
            gs = torch.autograd.grad(J, [params[n] for n in names], allow_unused=True)
        else:
            gs = [None] * len(names)
        for n, g in zip(names, gs):
            result["grad." + n] = torch.zeros_like(params[n]) if g is None else g
    return result


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="HF model folder")
    ap.add_argument("--batch", required=True, help="batch.json")
    ap.add_argument("--out", required=True, help="output .safetensors")
    ap.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    ap.add_argument("--no-grad", action="store_true", help="only logp/entropy/value")
    ap.add_argument("--bf16-matmul", action="store_true", help="projections and LM head as bf16 GEMMs")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    dtype = torch.float64 if a.dtype == "float64" else torch.float32
    with open(a.batch) as f:
        batch = json.load(f)
    try:
        result = run(a.model, batch, dtype, grad=not a.no_grad, bf16_matmul=a.bf16_matmul)
    except ValueError as e:
        print(f"torch_decoder: {e}", file=sys.stderr)
        return 2
    safetensors_io.write_file(a.out, result, "F64" if dtype == torch.float64 else "F32",
                              {"format": "pt", "script": "tests/reference/torch_decoder.py",
                               "torch": torch.__version__, "dtype": a.dtype,
                               "bf16_matmul": str(a.bf16_matmul).lower()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
