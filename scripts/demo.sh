#!/usr/bin/env bash
# The main job until `tandem demo` exists: set up, build, then write a small random Qwen3-shaped
# model and compute per-token log-probs and entropies of a few token sequences with the engine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
out=build/demo
mkdir -p "$out"
build/src/tandem init-model --arch qwen3 --layers 2 --hidden 64 --heads 4 --kv-heads 2 \
  --intermediate 128 --vocab 512 --seed 1 --out "$out/model"
: > "$out/in.jsonl"
RANDOM=7
for n in 8 16 32 64; do
  ids=$RANDOM; ids=$((ids % 512))
  for ((i = 1; i < n; i++)); do ids="$ids,$((RANDOM % 512))"; done
  echo "{\"input_ids\": [$ids]}" >> "$out/in.jsonl"
done
build/src/tandem logprobs --model "$out/model" --data "$out/in.jsonl" --out "$out/out.jsonl" --entropy --summary
echo "first output line: $(head -c 200 "$out/out.jsonl")..."
