#!/usr/bin/python3
"""Issue 2's benchmark: one training step (forward + backward of summed log-probs), Tandem vs
plain PyTorch, side by side in one run, alternating process by process so drift hits both.

  /usr/bin/python3 bench/e2e/compare_train_step.py --shape tiny|smollm2-135m [--rounds 3]
      [--batch 1] [--seq 256|512] [--steps 5] [--threads 2] [--recompute]

Writes the model folder once with `tandem init-model` (both engines load the same weights),
runs build/bench/train_step_bench and bench/e2e/torch_train_step.py --model DIR alternately
`rounds` times each, and prints a Markdown table of medians and ratios (Tandem / PyTorch).
The PyTorch peer runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset so OpenBLAS picks its
best kernel for this CPU; Tandem runs in the environment as it is.
"""
import argparse, json, os, platform, statistics, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHAPES = {
    "tiny": "--arch llama --layers 4 --hidden 256 --heads 4 --kv-heads 4 --intermediate 768 --vocab 8192",
    "smollm2-135m": "--arch llama --layers 30 --hidden 576 --heads 9 --kv-heads 3 --intermediate 1536 "
                    "--vocab 49152 --tie --rope-theta 100000 --max-pos 8192",
}


def run_json(cmd, env=None):
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", choices=sorted(SHAPES), required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--seq", type=int, default=None)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--recompute", action="store_true")
    ap.add_argument("--two-pass", action="store_true", help="Tandem runs forward() then backward() (the RL path)")
    a = ap.parse_args()
    seq = a.seq or (256 if a.shape == "tiny" else 512)
    model = os.path.join(ROOT, "bench", "out", a.shape)
    if not os.path.exists(os.path.join(model, "model.safetensors")):
        subprocess.run(f"{ROOT}/build/src/tandem init-model {SHAPES[a.shape]} --seed 1 --out {model}",
                       shell=True, check=True)
    common = ["--batch", str(a.batch), "--seq", str(seq), "--steps", str(a.steps), "--warmup", "1",
              "--threads", str(a.threads)]
    tandem_cmd = [f"{ROOT}/build/bench/train_step_bench", "--model", model] + common + (["--recompute"] if a.recompute else []) + (["--two-pass"] if a.two_pass else [])
    torch_cmd = ["/usr/bin/python3", f"{ROOT}/bench/e2e/torch_train_step.py", "--model", model] + common
    peer_env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    rows = {"tandem": [], "torch": []}
    for _ in range(a.rounds):
        rows["tandem"].append(run_json(tandem_cmd))
        rows["torch"].append(run_json(torch_cmd, env=peer_env))
    med = lambda k, key: statistics.median(r[key] for r in rows[k])
    t_tps, p_tps = med("tandem", "tokens_per_s"), med("torch", "tokens_per_s")
    t_mem, p_mem = med("tandem", "peak_rss_mb"), med("torch", "peak_rss_mb")
    peak = med("tandem", "gemm_peak_gflops")
    share_t = med("tandem", "share_of_gemm_peak")
    share_p = p_tps * rows["tandem"][0]["step_gflop"] / (a.batch * seq) / peak
    print(f"shape {a.shape}, batch {a.batch} x seq {seq}, {a.threads} threads, {a.rounds} rounds x {a.steps} steps, "
          f"recompute={a.recompute}, two_pass={a.two_pass}, host {platform.node()}")
    print("| engine | tokens/s (median) | step s | peak RSS MB | share of sgemm peak |")
    print("|---|---|---|---|---|")
    print(f"| Tandem | {t_tps:.1f} | {med('tandem', 'step_s_median'):.3f} | {t_mem:.0f} | {share_t:.1%} |")
    print(f"| PyTorch {rows['torch'][0].get('torch', '')} | {p_tps:.1f} | {med('torch', 'step_s_median'):.3f} | {p_mem:.0f} | {share_p:.1%} |")
    print(f"| ratio Tandem/PyTorch | {t_tps / p_tps:.2f}x | | {t_mem / p_mem:.2f}x | |")
    print(f"sgemm peak measured in the Tandem process: {peak:.1f} GFLOP/s; step = {rows['tandem'][0]['step_gflop']:.2f} GFLOP")
    print("raw:", json.dumps(rows))


if __name__ == "__main__":
    sys.exit(main())
