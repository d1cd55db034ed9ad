#!/usr/bin/python3
"""Times two commands as whole processes, alternately (A B A B ...), and reports medians.

Owns: the measurement of a command from the outside: wall seconds from just before
its start to just after it is reaped, its user + system seconds and its peak
resident memory as the kernel accounts them for the reaped child (os.wait4's
rusage; ru_maxrss is the largest process, the command's own, in KiB), and the
ratio A / B taken pair by pair so that drift in the machine's speed hits both.
Standard output and error of the commands are thrown away. Before each pair,
the paths given with --clean are removed (outside the timed spans). Also
prints the 1-minute load average before and after, so a contended run shows.
Public tools only (Python's standard library).

Usage:
  /usr/bin/python3 bench/e2e/whole_process.py [--runs 3] [--warmup 1] [--tokens N] \\
      [--clean PATH ...] --a 'COMMAND A' --b 'COMMAND B'
Commands are split as a shell splits words (shlex) and run without a shell; a
leading VAR=value or `env -u VAR` is written as `env ...`.
"""

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import time


def run_once(argv):
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    rc = os.waitstatus_to_exitcode(status)
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "peak_mb": ru.ru_maxrss / 1024.0, "rc": rc}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--a", required=True)
    ap.add_argument("--b", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--tokens", type=float, default=0, help="tokens each command processes (for tokens/s)")
    ap.add_argument("--clean", action="append", default=[], help="path removed before every pair of runs")
    a = ap.parse_args()
    cmds = {"A": shlex.split(a.a), "B": shlex.split(a.b)}
    rows = {"A": [], "B": []}
    print(f"A: {a.a}\nB: {a.b}\nload average before: {os.getloadavg()[0]:.2f}", flush=True)
    for i in range(a.warmup + a.runs):
        for path in a.clean:  # before each pair, so the last pair's outputs stay for a look
            shutil.rmtree(path, ignore_errors=True)
        for k in ("A", "B"):
            r = run_once(cmds[k])
            tag = "warm-up" if i < a.warmup else f"run {i - a.warmup + 1}"
            print(f"{tag} {k}: wall {r['wall']:.2f} s, cpu {r['cpu']:.2f} s, peak {r['peak_mb']:.0f} MB, exit {r['rc']}", flush=True)
            if r["rc"] != 0:
                raise SystemExit(f"command {k} exited with {r['rc']}; run it by hand to see why")
            if i >= a.warmup:
                rows[k].append(r)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    med = lambda k, f: statistics.median(r[f] for r in rows[k])
    ratio = lambda f: statistics.median(x[f] / y[f] for x, y in zip(rows["A"], rows["B"]))
    print("\n| | wall s (median) | cpu s | peak MB | tokens/s |\n|---|---|---|---|---|")
    for k in ("A", "B"):
        tps = a.tokens / med(k, "wall") if a.tokens else float("nan")
        print(f"| {k} | {med(k, 'wall'):.2f} | {med(k, 'cpu'):.2f} | {med(k, 'peak_mb'):.0f} | {tps:.1f} |")
    print(f"\nA/B pair by pair (medians): wall {ratio('wall'):.3f} (A is {1 / ratio('wall'):.2f}x as fast), "
          f"peak memory {ratio('peak_mb'):.3f}")


if __name__ == "__main__":
    main()
