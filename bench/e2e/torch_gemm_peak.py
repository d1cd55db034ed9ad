#!/usr/bin/python3
"""sgemm GFLOP/s that PyTorch reaches for the matrix products of one training step.

Owns: timing torch's fp32 matmuls (through its BLAS, OpenBLAS here) for each
GEMM shape of the step that bench/e2e/torch_train_step.py runs (forward
F.linear, backward dX = dY W and dW = dY^T X, the two batched attention
products and their backward), plus a square 2048^3 sgemm, so the report can
state the share of peak sgemm FLOP/s a step reaches. Deliberately not a GEMM
library benchmark (bench/kernels/ has that for Tandem's own kernels).

Usage:
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/e2e/torch_gemm_peak.py \
      (--preset tiny|smollm2-135m | --layers L --hidden C --heads H [--kv-heads K]
       --intermediate I --vocab V [--head-dim D]) --batch B --seq T [--threads N] [--reps R]

Prints one JSON line: peak_gflops (best of all shapes, square included),
square_2048_gflops, step_gemm_gflop (matmul work of one step, forward and
backward, attention counted over the full T x T square as plain PyTorch
computes it), step_gemm_s (the sum of the measured median times, i.e. the
step's time if it ran at these rates and did nothing else) and per-shape rows.
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
from torch_train_step import PRESETS  # noqa: E402


def timed(fn, reps):
    fn()  # warm: first call allocates and lets the BLAS spin up its threads
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def main():
    ap = argparse.ArgumentParser(description="torch sgemm GFLOP/s for the shapes of one training step")
    ap.add_argument("--preset", choices=sorted(PRESETS))
    for k in ("layers", "hidden", "heads", "kv-heads", "intermediate", "vocab", "head-dim"):
        ap.add_argument("--" + k, type=int)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--seq", type=int, required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    sh = dict(PRESETS[a.preset]) if a.preset else {}
    for k in ("layers", "hidden", "heads", "kv_heads", "intermediate", "vocab", "head_dim"):
        if getattr(a, k) is not None:
            sh[k] = getattr(a, k)
    C, H, I, V, L = sh["hidden"], sh["heads"], sh["intermediate"], sh["vocab"], sh["layers"]
    K = sh.get("kv_heads") or H
    D = sh.get("head_dim") or C // H
    B, T = a.batch, a.seq
    N = B * T

    # (name, out_features, in_features, uses per step)
    linears = [("q_proj", H * D, C, L), ("k_proj", K * D, C, L), ("v_proj", K * D, C, L),
               ("o_proj", C, H * D, L), ("gate_proj", I, C, L), ("up_proj", I, C, L),
               ("down_proj", C, I, L), ("lm_head", V, C, 1)]
    rows = []
    g = torch.Generator().manual_seed(0)
    step_flop = 0.0
    step_s = 0.0
    seen = {}
    for name, n, k, uses in linears:
        x = torch.randn(N, k, generator=g)
        w = torch.randn(n, k, generator=g)
        dy = torch.randn(N, n, generator=g)
        for kind, fn, (mm, nn_, kk) in (("fwd", lambda: F.linear(x, w), (N, n, k)),
                                         ("bwd_dx", lambda: dy @ w, (N, k, n)),
                                         ("bwd_dw", lambda: dy.t() @ x, (n, k, N))):
            key = (kind, mm, nn_, kk)
            if key not in seen:  # k_proj and v_proj share shapes: time once
                seen[key] = timed(fn, a.reps)
            s = seen[key]
            flop = 2.0 * mm * nn_ * kk
            rows.append({"op": f"{name}.{kind}", "m": mm, "n": nn_, "k": kk, "ms": s * 1e3,
                         "gflops": flop / s / 1e9, "uses": uses})
            step_flop += flop * uses
            step_s += s * uses
    # Attention products on [B*H, T, D]: scores = Q K^T, out = P V; backward needs four more of the same size.
    q = torch.randn(B * H, T, D, generator=g)
    kt = torch.randn(B * H, D, T, generator=g)
    p = torch.randn(B * H, T, T, generator=g)
    v = torch.randn(B * H, T, D, generator=g)
    for kind, fn, fl in (("qk", lambda: torch.bmm(q, kt), 2.0 * B * H * T * T * D),
                         ("pv", lambda: torch.bmm(p, v), 2.0 * B * H * T * T * D)):
        s = timed(fn, a.reps)
        rows.append({"op": f"attn.{kind}", "batch": B * H, "t": T, "d": D, "ms": s * 1e3,
                     "gflops": fl / s / 1e9, "uses": 3 * L})
        step_flop += 3 * L * fl  # forward + two backward products each
        step_s += 3 * L * s
    S = 2048
    x = torch.randn(S, S, generator=g)
    y = torch.randn(S, S, generator=g)
    sq = 2.0 * S ** 3 / timed(lambda: x @ y, a.reps) / 1e9
    print(json.dumps({
        "threads": a.threads, "torch": torch.__version__, "batch": B, "seq": T, "shape": sh,
        "peak_gflops": max([sq] + [r["gflops"] for r in rows]),
        "square_2048_gflops": sq,
        "step_gemm_gflop": step_flop / 1e9,
        "step_gemm_s": step_s,
        "shapes": rows,
        "openblas_env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")},
    }))


if __name__ == "__main__":
    main()
