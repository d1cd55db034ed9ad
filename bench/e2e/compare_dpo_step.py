#!/usr/bin/python3
"""DPO step time, Tandem vs plain PyTorch, side by side in one run, alternating process by process.

  /usr/bin/python3 bench/e2e/compare_dpo_step.py --shape tiny|smollm2-135m [--rounds 3] [--pairs 2]
      [--prompt 128] [--completion 128] [--steps 3] [--threads 2]

The step is policy + reference forward and policy backward of the sigmoid DPO loss on B pairs
(2B sequences of prompt + completion tokens). Writes the model folder once with tandem
init-model (both load the same weights), runs build/bench/dpo_step_bench and
bench/e2e/torch_dpo_step.py alternately, prints a Markdown table of medians and the ratio.
"""
import argparse, json, os, statistics, subprocess, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_train_step import ROOT, SHAPES, run_json  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", choices=sorted(SHAPES), required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--pairs", type=int, default=2)
    ap.add_argument("--prompt", type=int, default=128)
    ap.add_argument("--completion", type=int, default=128)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    model = os.path.join(ROOT, "bench", "out", a.shape)
    if not os.path.exists(os.path.join(model, "model.safetensors")):
        subprocess.run(f"{ROOT}/build/src/tandem init-model {SHAPES[a.shape]} --seed 1 --out {model}", shell=True, check=True)
    common = ["--model", model, "--pairs", str(a.pairs), "--prompt", str(a.prompt), "--completion", str(a.completion),
              "--steps", str(a.steps), "--warmup", "1", "--threads", str(a.threads)]
    peer_env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    rows = {"tandem": [], "torch": []}
    for _ in range(a.rounds):
        rows["tandem"].append(run_json([f"{ROOT}/build/bench/dpo_step_bench"] + common))
        rows["torch"].append(run_json(["/usr/bin/python3", f"{ROOT}/bench/e2e/torch_dpo_step.py"] + common, env=peer_env))
    med = lambda k, key: statistics.median(r[key] for r in rows[k])
    load = os.getloadavg()[0]
    print(f"shape {a.shape}, {a.pairs} pairs x ({a.prompt} prompt + {a.completion} completion), {a.threads} threads, "
          f"{a.rounds} rounds x {a.steps} steps, loadavg_1m at end {load:.1f}")
    print("| engine | DPO step s (median) | of which ref forward s | tokens/s | peak RSS MB |")
    print("|---|---|---|---|---|")
    for k in ("tandem", "torch"):
        print(f"| {k} | {med(k, 'step_s_median'):.3f} | {med(k, 'ref_forward_s_median'):.3f} | "
              f"{med(k, 'tokens_per_s'):.0f} | {med(k, 'peak_rss_mb'):.0f} |")
    print(f"speed ratio (torch step / tandem step): {med('torch', 'step_s_median') / med('tandem', 'step_s_median'):.2f}x")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
