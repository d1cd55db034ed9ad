#!/usr/bin/python3
"""Independent PyTorch reference (test oracle) for Tandem's LoRA adapters.

Owns: the LoRA forward as PEFT defines it, on top of the decoder oracle
(torch_decoder.py): for each targeted projection with weight W [out, in],
    y = x W^T (+ bias) + scale * dropout(x) A^T B^T,
    scale = lora_alpha / r, or lora_alpha / sqrt(r) with use_rslora,
with A = lora_A.weight [r, in], B = lora_B.weight [out, r] read from a PEFT
adapter folder (adapter_config.json + adapter_model.safetensors, parsed here,
not by Tandem); per-token log-probs/entropies and the gradients of
J = sum(dlogp*logp) + sum(dentropy*entropy) with respect to every A and B by
torch autograd (float64). The base weights are constants.

Dropout (only with --dropout-seed): Tandem's documented mask rule
(src/model/lora.h), re-implemented here from the formula so that the
placement of dropout (on the adapter input, per projection, kept elements
scaled by 1/(1-p)) is checked against autograd: element e of the adapter
input x [N, in] (N = B*T tokens, row-major) is kept iff
u(e) = (word >> 8) * 2^-24 >= p, where word is word e % 4 of
philox4x32-10(counter {e//4 low, e//4 high, stream low, stream high},
key {seed low, seed high}) and stream = (step << 20) | (layer << 3) | target,
target = index in (q, k, v, o, gate, up, down).

Usage:
  /usr/bin/python3 tests/reference/torch_lora.py --model DIR --adapter DIR \
      --batch batch.json --out out.safetensors [--dropout-seed S --dropout-step K]
  Output tensors: logp, entropy [B, T]; grad.<adapter key> for every key.
"""

import argparse
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402
import torch_decoder as td  # noqa: E402

TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
M32 = 0xFFFFFFFF


def philox4x32(ctr, key):
    c0, c1, c2, c3 = ctr
    k0, k1 = key
    for _ in range(10):
        p0 = 0xD2511F53 * c0
        p1 = 0xCD9E8D57 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0) & M32, p1 & M32, ((p0 >> 32) ^ c3 ^ k1) & M32, p0 & M32
        k0 = (k0 + 0x9E3779B9) & M32
        k1 = (k1 + 0xBB67AE85) & M32
    return c0, c1, c2, c3


def keep_mask(n, p, seed, stream):
    """[n] bool: which of n consecutive elements dropout keeps."""
    key = (seed & M32, (seed >> 32) & M32)
    out = []
    for b in range((n + 3) // 4):
        w = philox4x32((b & M32, (b >> 32) & M32, stream & M32, (stream >> 32) & M32), key)
        out.extend(((x >> 8) * (1.0 / 16777216.0)) >= p for x in w)
    return torch.tensor(out[:n], dtype=torch.bool)


def load_adapter(folder, dtype):
    with open(os.path.join(folder, "adapter_config.json")) as f:
        cfg = json.load(f)
    if cfg.get("peft_type") != "LORA":
        raise ValueError(f"{folder}: peft_type is not LORA")
    r = int(cfg["r"])
    alpha = float(cfg["lora_alpha"])
    scale = alpha / math.sqrt(r) if cfg.get("use_rslora") else alpha / r
    raw, _ = safetensors_io.read_file(os.path.join(folder, "adapter_model.safetensors"))
    ab = {n: t.to(dtype).requires_grad_(True) for n, t in raw.items()}
    return cfg, scale, ab


def run(model, adapter, batch, dropout_seed=None, dropout_step=0, dtype=torch.float64):
    spec, params = td.load_model(model, dtype)
    params = {n: t.detach() for n, t in params.items()}  # the base is frozen
    cfg, scale, ab = load_adapter(adapter, dtype)
    p = float(cfg.get("lora_dropout") or 0.0)
    ids, pos, seg, w = td.prepare_batch(batch, spec, dtype)
    B, T = ids.shape

    def delta(module, x):
        key = "base_model.model." + module
        if key + ".lora_A.weight" not in ab:
            return None
        A, Bm = ab[key + ".lora_A.weight"], ab[key + ".lora_B.weight"]
        if dropout_seed is not None and p > 0:
            layer = int(module.split(".")[2])
            target = TARGETS.index(module.split(".")[-1])
            stream = (dropout_step << 20) | (layer << 3) | target
            mask = keep_mask(x.numel(), p, dropout_seed, stream).view(x.shape)
            x = torch.where(mask, x / (1 - p), torch.zeros_like(x))
        return scale * (x @ A.t() @ Bm.t())

    out = td.forward(spec, params, ids, pos, seg, delta=delta)
    result = {"logp": out["logp"].detach(), "entropy": out["entropy"].detach()}
    J = td.objective(out, w)
    names = sorted(ab)
    gs = torch.autograd.grad(J, [ab[n] for n in names], allow_unused=True)
    for n, g in zip(names, gs):
        result["grad." + n] = torch.zeros_like(ab[n]) if g is None else g
    return result


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--adapter", required=True)
    ap.add_argument("--batch", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--dropout-seed", type=int, default=None)
    ap.add_argument("--dropout-step", type=int, default=0)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    with open(a.batch) as f:
        batch = json.load(f)
    try:
        result = run(a.model, a.adapter, batch, a.dropout_seed, a.dropout_step)
    except (ValueError, KeyError) as e:
        print(f"torch_lora: {e}", file=sys.stderr)
        return 2
    safetensors_io.write_file(a.out, result, "F64", {"format": "pt", "script": "tests/reference/torch_lora.py",
                                                     "torch": torch.__version__})
    return 0


if __name__ == "__main__":
    sys.exit(main())
