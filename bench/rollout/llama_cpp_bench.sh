#!/usr/bin/env bash
# llama.cpp as a rollout peer (issue 6): llama-batched-bench on the SmolLM2-135M-shape GGUF files
# that build_llama_cpp.sh wrote, f32 and bf16, 128-token prompts, NEW generated tokens per
# sequence, batches 1, 16 and 64, THREADS threads. Prints llama.cpp's own tables (S_PP = prefill
# tokens/s, S_TG = decode tokens/s).
#   bench/rollout/llama_cpp_bench.sh [SCRATCH] ; env THREADS=2 NEW=32 BATCHES=1,16,64
set -euo pipefail
scratch="${1:-/tmp/tandem-llama-cpp}"
threads="${THREADS:-2}"
new="${NEW:-32}"
batches="${BATCHES:-1,16,64}"
bin="$scratch/llama.cpp/build/bin"
for dt in f32 bf16; do
  echo "== $dt, $threads threads"
  "$bin/llama-batched-bench" -m "$scratch/smollm2-$dt.gguf" -c 16384 -b 2048 -ub 512 -npp 128 -ntg "$new" \
    -npl "$batches" -t "$threads" -tb "$threads" 2>/dev/null | grep -E '^\|'
done
