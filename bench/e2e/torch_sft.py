#!/usr/bin/python3
"""Benchmark peer of `tandem sft`: the same fine-tuning run as a plain PyTorch training loop.

Owns: what a PyTorch user writes for supervised fine-tuning of a causal LM on
pre-tokenized JSONL ({"input_ids": [...]} per line): nn.Module blocks (those
of torch_train_step.py), full [B, T, V] logits and F.cross_entropy over every
next token (the token mean, as `tandem sft` with loss_type nll and no
completion mask), torch.optim.AdamW with weight decay on matrices only,
gradient clipping by global norm, a constant learning rate, fp32, one process
and torch.set_num_threads(N). At the end it writes what `tandem sft` writes:
a checkpoint (weights and optimizer state, torch.save) and the final model as
an HF folder (config.json, model.safetensors), both fsynced, plus
metrics.jsonl. Deliberately not: mixed precision, a fused or chunked LM head,
packing, or anything else a plain loop would not do. It is timed from the
outside as a whole process (bench/e2e/sft_compare.sh), so its start-up
(importing torch, loading the weights, reading the data) counts, as Tandem's
does.

Usage:
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/e2e/torch_sft.py \\
      --model DIR --train-file data.jsonl --output-dir DIR --max-steps S --batch B \\
      [--max-length T] [--lr 1e-5] [--weight-decay 0.01] [--max-grad-norm 1.0] [--threads 2] [--seed 42]
"""

import argparse
import json
import os
import random
import shutil
import struct
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_train_step  # noqa: E402  (the model classes and the HF-folder loader)
import torch_decoder  # noqa: E402  (RoPE tables; on the path through torch_train_step)


def read_examples(path, max_length):
    out = []
    with open(path) as f:
        for line in f:
            if line.strip():
                out.append(json.loads(line)["input_ids"][:max_length])
    return out


def fsync_file(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_safetensors(path, tensors):
    """Streams {name: fp32 tensor} into a safetensors file, one tensor at a time (no second copy of the model)."""
    header, offset = {}, 0
    for name in sorted(tensors):
        n = tensors[name].numel() * 4
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + n]}
        offset += n
    header["__metadata__"] = {"format": "pt"}
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for name in sorted(tensors):
            f.write(memoryview(tensors[name].detach().contiguous().numpy()).cast("B"))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description="Plain PyTorch SFT loop, the peer of `tandem sft`.")
    ap.add_argument("--model", required=True)
    ap.add_argument("--train-file", required=True)
    ap.add_argument("--output-dir", required=True)
    ap.add_argument("--max-steps", type=int, required=True)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--max-length", type=int, default=1024)
    ap.add_argument("--lr", type=float, default=1e-5)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--max-grad-norm", type=float, default=1.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)

    spec, cfg, model = torch_train_step.build(argparse.Namespace(model=a.model))
    examples = read_examples(a.train_file, a.max_length)
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=a.lr, betas=(0.9, 0.999), eps=1e-8)
    os.makedirs(a.output_dir, exist_ok=True)
    metrics = open(os.path.join(a.output_dir, "metrics.jsonl"), "w")

    order, pos, t_start = [], 0, time.perf_counter()
    for step in range(1, a.max_steps + 1):
        t0 = time.perf_counter()
        rows = []
        for _ in range(a.batch):
            if pos == len(order):
                order, pos = list(range(len(examples))), 0
                rng.shuffle(order)
            rows.append(examples[order[pos]])
            pos += 1
        T = max(len(r) for r in rows)
        ids = torch.zeros(len(rows), T, dtype=torch.int64)
        labels = torch.full((len(rows), T), -100, dtype=torch.int64)
        for i, r in enumerate(rows):
            ids[i, :len(r)] = torch.tensor(r)
            labels[i, :len(r)] = torch.tensor(r)
        positions = torch.arange(T)[None]
        cos, sin = (x.to(torch.float32)[:, None] for x in torch_decoder.rope_tables(spec, positions))
        mask = torch.full((T, T), float("-inf")).triu(1)
        # Right padding: a causal mask keeps real tokens from seeing it, and its labels are ignored.
        logits = model(ids, cos, sin, mask)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, spec.vocab), labels[:, 1:].reshape(-1), ignore_index=-100)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), a.max_grad_norm)
        opt.step()
        tokens = int((labels[:, 1:] != -100).sum())
        dt = time.perf_counter() - t0
        metrics.write(json.dumps({"step": step, "loss": float(loss), "grad_norm": float(grad_norm), "lr": a.lr,
                                  "tokens_per_s": tokens / dt, "elapsed": time.perf_counter() - t_start}) + "\n")
        metrics.flush()
    metrics.close()

    ckpt = os.path.join(a.output_dir, f"checkpoint-{a.max_steps}")
    os.makedirs(ckpt, exist_ok=True)
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": a.max_steps,
                "rng": torch.get_rng_state()}, os.path.join(ckpt, "state.pt"))
    fsync_file(os.path.join(ckpt, "state.pt"))
    state = {("lm_head.weight" if n == "lm_head.weight" else "model." + n): t for n, t in model.state_dict().items()}
    if spec.tie:
        state.pop("lm_head.weight", None)
    save_safetensors(os.path.join(a.output_dir, "model.safetensors"), state)
    shutil.copyfile(os.path.join(a.model, "config.json"), os.path.join(a.output_dir, "config.json"))
    print(json.dumps({"steps": a.max_steps, "last_loss": float(loss), "elapsed_s": time.perf_counter() - t_start}))


if __name__ == "__main__":
    main()
