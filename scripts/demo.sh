#!/usr/bin/env bash
# The main job until `tandem demo` exists: set up, build, then write a small random Qwen3-shaped
# model and compute per-token log-probs and entropies of a few sequences with the engine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
out=build/demo
mkdir -p "$out"
build/src/tandem init-model --arch qwen3 --layers 2 --hidden 64 --heads 4 --kv-heads 2 \
  --intermediate 128 --vocab 512 --seed 1 --out "$out/model"
/usr/bin/env python3 - "$out/in.jsonl" <<'PY' 2>/dev/null || printf '%s\n' '{"input_ids":[1,5,9,77,3,200,14]}' '{"input_ids":[7,8,9,10,11,12,13,14,15,16]}' > "$out/in.jsonl"
import json, random, sys
random.seed(0)
with open(sys.argv[1], "w") as f:
    for n in (8, 16, 32):
        f.write(json.dumps({"input_ids": [random.randrange(512) for _ in range(n)]}) + "\n")
PY
build/src/tandem logprobs --model "$out/model" --data "$out/in.jsonl" --out "$out/out.jsonl" --entropy --summary
