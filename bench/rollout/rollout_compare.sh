#!/usr/bin/env bash
# Rollout speed side by side, one command: Tandem's rollout_bench, the PyTorch KV-cache loop
# (bench/e2e/torch_rollout.py) and, when build_llama_cpp.sh has been run, llama.cpp's
# llama-batched-bench, on the same shape, prompt length and new tokens, 2 threads, interleaved
# ROUNDS times. Tandem is run twice per round: its default GEMM path and TANDEM_DEBUG_GEMM=onednn
# (oneDNN for every GEMM, the path before the small-M kernel), so their ratio comes from one run.
#   bench/rollout/rollout_compare.sh ; env PRESET=smollm2-135m|tiny BATCHES="1 16 64" NEW=32 ROUNDS=2
#                                       REPEATS=2 THREADS=2 LLAMA=/tmp/tandem-llama-cpp WAIT=passive
# OpenMP's wait policy is left at the default (what `tandem` runs with) unless WAIT is set:
# passive helps only when other jobs share the cores, and then for every engine.
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
preset="${PRESET:-smollm2-135m}"
batches="${BATCHES:-1 16 64}"
new="${NEW:-32}"
rounds="${ROUNDS:-2}"
repeats="${REPEATS:-2}"
threads="${THREADS:-2}"
llama="${LLAMA:-/tmp/tandem-llama-cpp}"
export OMP_NUM_THREADS="$threads"
if [ -n "${WAIT:-}" ]; then export OMP_WAIT_POLICY="$WAIT"; fi
bflags=""
for b in $batches; do bflags="$bflags --batch $b"; done
for r in $(seq 1 "$rounds"); do
  echo "## round $r ($(date -u +%H:%M), load $(cut -d' ' -f1-3 /proc/loadavg))"
  for g in default onednn; do
    echo "# tandem gemm=$g"
    TANDEM_DEBUG_GEMM=$([ $g = onednn ] && echo onednn) "$root/build/bench/rollout_bench" --preset "$preset" --new "$new" \
      $bflags --repeats "$repeats" --threads "$threads" 2>/dev/null
  done
  echo "# pytorch"
  for b in $batches; do
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 "$root/bench/e2e/torch_rollout.py" --preset "$preset" \
      --new "$new" --batch "$b" --repeats "$repeats" --threads "$threads"
  done
  if [ "$preset" = smollm2-135m ] && [ -x "$llama/llama.cpp/build/bin/llama-batched-bench" ]; then
    echo "# llama.cpp"
    THREADS="$threads" NEW="$new" BATCHES="$(echo $batches | tr ' ' ',')" "$root/bench/rollout/llama_cpp_bench.sh" "$llama"
  fi
done
