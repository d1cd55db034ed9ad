#!/usr/bin/python3
"""Issue 11's benchmark: `tandem sft` as 2 ranks x 1 thread (mpirun) against 1 rank x 2 threads,
and 2 ranks with the gradient reduced during the backward (buckets, the default) against after it.

Owns: running the two configurations alternately on the same global batch and reading back what
each did. Both train the same model folder on the same pre-tokenized JSONL (GLOBAL sequences of
SEQ random tokens per optimizer step, every token trained), STEPS steps of AdamW (lr 1e-5
constant, weight decay 0.01, clipping 1.0), fp32. One rank takes per_device_train_batch_size =
GLOBAL with --threads 2; two ranks take GLOBAL / 2 each with --threads 1 (ZeRO-1, the default).

Reported per configuration (medians over the runs):
  step_s       steady-state seconds per optimizer step (steps 2..STEPS, from metrics.jsonl's
               `elapsed`; step 1 carries first-touch costs)
  tokens/s     GLOBAL * SEQ / step_s
  sync_s       the gradient's collectives per step (`time/grad_sync`: reduce-scatter, the norm's
               scalar, the all-gather of the updated shards), and its share of step_s
  train MB     per rank: the resident high-water mark before the final checkpoint, as each rank
               logs it ("peak resident memory while training"): weights, gradients, optimizer
               state, activations, communication buffers
  peak MB      per rank: the largest resident set of each tandem process over its whole life (GNU
               time's %M), the final checkpoint included (it gathers the full AdamW moments)
  wall s       the whole process (start-up, data, steps, final checkpoint and model)
Also printed: the gradient volume a ring would move per step and rank, 2 (N-1)/N x 4 bytes x P.
Machine, commit and the 1-minute load average before and after go with the figures, so a
contended run shows as one. Public tools only (Python's standard library, GNU time, Open MPI).

Usage:
  /usr/bin/python3 bench/e2e/dist_sft_compare.py [--steps 6] [--global-batch 4] [--seq 512]
      [--runs 3] [--warmup 1] [--work /tmp/tandem-dist-compare] [--extra 'key=value ...']
The model is the SmolLM2-135M shape (random weights from `tandem init-model`), written once
into --work with the data.
"""

import argparse
import json
import os
import random
import re
import shlex
import shutil
import statistics
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TANDEM = os.path.join(ROOT, "build", "src", "tandem")
PEAK_TAG = "tandem-peak-kb"


def prepare(work, global_batch, steps, seq):
    model = os.path.join(work, "smollm2-135m")
    if not os.path.exists(os.path.join(model, "model.safetensors")):
        subprocess.run([TANDEM, "init-model", "--arch", "llama", "--layers", "30", "--hidden", "576", "--heads", "9",
                        "--kv-heads", "3", "--intermediate", "1536", "--vocab", "49152", "--tie", "--rope-theta", "100000",
                        "--max-pos", "8192", "--seed", "1", "--out", model], check=True, stdout=subprocess.DEVNULL)
    data = os.path.join(work, f"train-{global_batch}-{steps}-{seq}.jsonl")
    if not os.path.exists(data):
        r = random.Random(1)
        with open(data, "w") as f:
            for _ in range(global_batch * steps):
                f.write(json.dumps({"input_ids": [r.randrange(49152) for _ in range(seq)]}) + "\n")
    return model, data


def command(ranks, model, data, out, a, extra=()):
    per_rank = a.global_batch // ranks
    timed = ["/usr/bin/time", "-f", PEAK_TAG + " %M", TANDEM, "--threads", str(2 // ranks), "sft"]
    keys = [f"model_name_or_path={model}", f"train_file={data}", f"output_dir={out}", f"max_steps={a.steps}",
            f"per_device_train_batch_size={per_rank}", f"max_length={a.seq}", "learning_rate=1e-5",
            "lr_scheduler_type=constant", "weight_decay=0.01", "max_grad_norm=1.0", "logging_steps=1", "seed=42"]
    keys += shlex.split(a.extra) + list(extra)
    mpi = ["mpirun", "--allow-run-as-root", "-np", str(ranks)] if ranks > 1 else []
    return mpi + timed + keys


def run_once(argv, out, log):
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.monotonic()
    with open(log, "w") as f:
        rc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT).returncode
    wall = time.monotonic() - t0
    if rc != 0:
        raise SystemExit(f"exit {rc}: {' '.join(argv)}\nsee {log}")
    text = open(log).read()
    peaks = [int(k) / 1024.0 for k in re.findall(PEAK_TAG + r" (\d+)", text)]
    params = re.search(r"with (\d+) parameters", text)
    steps = [json.loads(line) for line in open(os.path.join(out, "metrics.jsonl"))]
    elapsed = [s["elapsed"] for s in steps]
    step_s = [b - a for a, b in zip(elapsed, elapsed[1:])]  # steps 2..n
    sync_s = [s.get("time/grad_sync", 0.0) for s in steps[1:]]
    return {"wall": wall, "peaks": peaks, "step_s": statistics.median(step_s), "sync_s": statistics.median(sync_s),
            "train_mb": [float(k) for k in re.findall(r"peak resident memory while training (\d+) MB", text)],
            "params": int(params.group(1)) if params else 0, "loss": [s["loss"] for s in steps]}


def commit():
    try:
        return subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def cpu_name():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--global-batch", type=int, default=4, help="sequences per optimizer step, over all ranks (even)")
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--work", default="/tmp/tandem-dist-compare")
    ap.add_argument("--extra", default="", help="more tandem keys for both, e.g. 'zero_stage=0' or 'bf16=true'")
    a = ap.parse_args()
    if a.global_batch % 2 or a.steps < 2:
        raise SystemExit("--global-batch must be even and --steps at least 2")
    if not os.access(TANDEM, os.X_OK):
        raise SystemExit(f"build Tandem first ({TANDEM} missing)")
    os.makedirs(a.work, exist_ok=True)
    model, data = prepare(a.work, a.global_batch, a.steps, a.seq)
    # The 2-rank runs with the gradient reduced in buckets during the backward (the default) and in
    # one piece after it.
    configs = {"1 rank x 2 threads": (1, ()), "2 ranks x 1 thread": (2, ()),
               "2 ranks x 1 thread, reduce after backward": (2, ("ddp_bucket_cap_mb=0",))}
    rows = {k: [] for k in configs}
    print(f"dist_sft_compare: SmolLM2-135M shape, {a.steps} steps x {a.global_batch} x {a.seq} tokens (global), "
          f"{a.runs} runs after {a.warmup} warm-up; {cpu_name()}, {os.cpu_count()} cores, commit {commit()}")
    print(f"load average before: {os.getloadavg()[0]:.2f}", flush=True)
    for i in range(a.warmup + a.runs):
        for k, (name, (ranks, extra)) in enumerate(configs.items()):
            out = os.path.join(a.work, f"out-{k}")
            r = run_once(command(ranks, model, data, out, a, extra), out, os.path.join(a.work, f"log-{k}.txt"))
            tag = "warm-up" if i < a.warmup else f"run {i - a.warmup + 1}"
            print(f"{tag} {name}: step {r['step_s']:.2f} s, sync {r['sync_s']:.2f} s, train {', '.join(f'{t:.0f}' for t in r['train_mb'])} MB, peak "
                  f"{', '.join(f'{p:.0f}' for p in r['peaks'])} MB, wall {r['wall']:.1f} s", flush=True)
            if i >= a.warmup:
                rows[name].append(r)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    tokens = a.global_batch * a.seq
    print("\n| configuration | step s | tokens/s | grad sync s (share) | train MB per rank | peak MB per rank | wall s |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, rs in rows.items():
        step = statistics.median(r["step_s"] for r in rs)
        sync = statistics.median(r["sync_s"] for r in rs)
        peak = statistics.median(max(r["peaks"]) for r in rs)
        train = statistics.median(max(r["train_mb"]) for r in rs)
        wall = statistics.median(r["wall"] for r in rs)
        print(f"| {name} | {step:.2f} | {tokens / step:.0f} | {sync:.2f} ({100 * sync / step:.0f}%) | {train:.0f} | {peak:.0f} | {wall:.1f} |")
    one, two = rows["1 rank x 2 threads"][-1], rows["2 ranks x 1 thread"][-1]
    p = one["params"] or two["params"]
    print(f"\nparameters {p}; a ring all-reduce moves 2 (N-1)/N x 4 B x P = {2 * 0.5 * 4 * p / 1e6:.0f} MB per rank and step at N = 2")
    drift = max(abs(x - y) / max(abs(x), 1e-12) for x, y in zip(one["loss"], two["loss"]))
    print(f"largest relative loss difference between 1 and 2 ranks (same global batch): {drift:.2e}")
    after = rows["2 ranks x 1 thread, reduce after backward"][-1]
    print(f"losses of the 2-rank runs with the reduce during and after the backward identical: {after['loss'] == two['loss']}")


if __name__ == "__main__":
    main()
