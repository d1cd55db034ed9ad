#!/usr/bin/python3
"""Checks a LoRA adapter folder against the PEFT format, independently of Tandem's reader.

Owns: what PEFT's from_pretrained needs from a LoRA folder, written down from
the format (../shared/formats.md and PEFT's saved files), checked with json and
struct only (no torch, no safetensors package, no Tandem code):
  * adapter_config.json: peft_type "LORA", task_type "CAUSAL_LM", r (int > 0),
    lora_alpha (number), lora_dropout (number in [0, 1)), target_modules (a
    list of module names), base_model_name_or_path (string), use_rslora
    (bool), bias "none", fan_in_fan_out false.
  * adapter_model.safetensors: 8-byte little-endian header length, a JSON
    header whose entries have dtype F32/F16/BF16, 2-D shapes and data_offsets
    that tile the data section exactly in order; keys exactly
    base_model.model.model.layers.{i}.{self_attn|mlp}.{module}.lora_A.weight
    and .lora_B.weight for every layer i and every target module; lora_A
    [r, in_features] and lora_B [out_features, r], with in/out features from
    the base model's config.json.
Deliberately not: loading into PEFT (not installed) or checking values.

Usage: /usr/bin/python3 tests/reference/check_peft.py --adapter DIR --model DIR [--r R] [--alpha A]
Prints "ok" and exits 0, or prints every problem and exits 1.
"""

import argparse
import json
import os
import struct
import sys

BLOCK = {"q_proj": "self_attn", "k_proj": "self_attn", "v_proj": "self_attn", "o_proj": "self_attn",
         "gate_proj": "mlp", "up_proj": "mlp", "down_proj": "mlp"}
SIZES = {"F32": 4, "F16": 2, "BF16": 2}


def features(cfg):
    """{module: (in_features, out_features)} of an HF decoder config."""
    C, I = cfg["hidden_size"], cfg["intermediate_size"]
    H = cfg["num_attention_heads"]
    K = cfg.get("num_key_value_heads") or H
    D = cfg.get("head_dim") or C // H
    return {"q_proj": (C, H * D), "k_proj": (C, K * D), "v_proj": (C, K * D), "o_proj": (H * D, C),
            "gate_proj": (C, I), "up_proj": (C, I), "down_proj": (I, C)}


def check(adapter, model, want_r=None, want_alpha=None):
    bad = []
    with open(os.path.join(model, "config.json")) as f:
        mcfg = json.load(f)
    with open(os.path.join(adapter, "adapter_config.json")) as f:
        cfg = json.load(f)

    def field(key, ok, what):
        if key not in cfg:
            bad.append(f"adapter_config.json: missing {key}")
        elif not ok(cfg[key]):
            bad.append(f"adapter_config.json: {key} = {cfg[key]!r}, expected {what}")

    field("peft_type", lambda v: v == "LORA", "LORA")
    field("task_type", lambda v: v == "CAUSAL_LM", "CAUSAL_LM")
    field("r", lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0, "an int > 0")
    field("lora_alpha", lambda v: isinstance(v, (int, float)) and not isinstance(v, bool), "a number")
    field("lora_dropout", lambda v: isinstance(v, (int, float)) and 0 <= v < 1, "a number in [0, 1)")
    field("target_modules", lambda v: isinstance(v, list) and v and all(m in BLOCK for m in v),
          "a list of q/k/v/o/gate/up/down_proj")
    field("base_model_name_or_path", lambda v: isinstance(v, str), "a string")
    field("use_rslora", lambda v: isinstance(v, bool), "a bool")
    field("bias", lambda v: v == "none", "none")
    field("fan_in_fan_out", lambda v: v is False, "false")
    if bad:
        return bad
    r = cfg["r"]
    if want_r is not None and r != want_r:
        bad.append(f"adapter_config.json: r = {r}, expected {want_r}")
    if want_alpha is not None and float(cfg["lora_alpha"]) != want_alpha:
        bad.append(f"adapter_config.json: lora_alpha = {cfg['lora_alpha']}, expected {want_alpha}")

    path = os.path.join(adapter, "adapter_model.safetensors")
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data_len = len(blob) - 8 - n
    header.pop("__metadata__", None)
    feats = features(mcfg)
    want = {}
    for i in range(mcfg["num_hidden_layers"]):
        for m in cfg["target_modules"]:
            stem = f"base_model.model.model.layers.{i}.{BLOCK[m]}.{m}"
            fin, fout = feats[m]
            want[stem + ".lora_A.weight"] = [r, fin]
            want[stem + ".lora_B.weight"] = [fout, r]
    for k in sorted(set(want) - set(header)):
        bad.append(f"adapter_model.safetensors: missing {k}")
    for k in sorted(set(header) - set(want)):
        bad.append(f"adapter_model.safetensors: unexpected key {k}")
    spans = []
    for k, e in header.items():
        if e.get("dtype") not in SIZES:
            bad.append(f"{k}: dtype {e.get('dtype')}")
            continue
        shape, (b, end) = e["shape"], e["data_offsets"]
        count = 1
        for d in shape:
            count *= d
        if end - b != count * SIZES[e["dtype"]]:
            bad.append(f"{k}: {end - b} bytes for shape {shape}")
        spans.append((b, end))
        if k in want and shape != want[k]:
            bad.append(f"{k}: shape {shape}, expected {want[k]}")
    spans.sort()
    pos = 0
    for b, end in spans:
        if b != pos:
            bad.append(f"data_offsets leave a gap or overlap at byte {pos}")
        pos = end
    if pos != data_len:
        bad.append(f"data section is {data_len} bytes, tensors cover {pos}")
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--adapter", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--r", type=int)
    ap.add_argument("--alpha", type=float)
    a = ap.parse_args()
    bad = check(a.adapter, a.model, a.r, a.alpha)
    for b in bad:
        print(b)
    if not bad:
        print("ok")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
