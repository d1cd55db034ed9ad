#!/bin/bash
# Peak resident memory of a LoRA DPO run with the reference as the policy's base (adapters off, the
# default) and with a second copy of the model forced (ref_model_name_or_path = the model), which is
# what every LoRA run held before. Model: Qwen3 shape, 8 layers, d=512, V=32000 (57.9 M parameters,
# 232 MB in f32), random weights; 64 pairs of 24 + 41 tokens; 3 steps of batch 4; LoRA r=16 on q/k/v/o.
# Usage: bench/e2e/lora_dpo_rss.sh [TANDEM_BINARY] [WORK_DIR]
set -euo pipefail
T=${1:-build/src/tandem}
D=${2:-/tmp/tandem-lora-dpo-rss}
mkdir -p "$D"
[ -d "$D/model" ] || "$T" init-model --arch qwen3 --layers 8 --hidden 512 --heads 8 --kv-heads 4 --intermediate 1536 \
  --vocab 32000 --seed 1 --out "$D/model" 2>/dev/null
[ -f "$D/train.jsonl" ] || /usr/bin/python3 - "$D/train.jsonl" <<'PY'
import json, random, sys
r = random.Random(1)
with open(sys.argv[1], "w") as f:
    for _ in range(64):
        p = [r.randrange(10, 32000) for _ in range(24)]
        m = [r.randrange(10, 32000) for _ in range(40)]
        f.write(json.dumps({"prompt_input_ids": p, "chosen_input_ids": m + [5], "rejected_input_ids": m + [6]}) + "\n")
PY
ARGS=(model_name_or_path="$D/model" train_file="$D/train.jsonl" max_steps=3 per_device_train_batch_size=4
      learning_rate=1e-3 seed=1 "lora={r: 16, alpha: 32, target_modules: [q_proj, k_proj, v_proj, o_proj]}")
for mode in base_adapters_off second_copy; do
  extra=()
  [ $mode = second_copy ] && extra=(ref_model_name_or_path="$D/model")
  rm -rf "$D/out_$mode"
  /usr/bin/time -v "$T" --threads 2 dpo "${ARGS[@]}" output_dir="$D/out_$mode" "${extra[@]}" 2> "$D/$mode.err" >/dev/null
  echo "$mode: $(grep -o 'Maximum resident set size (kbytes): [0-9]*' "$D/$mode.err")"
done
cmp -s "$D/out_base_adapters_off/adapter_model.safetensors" "$D/out_second_copy/adapter_model.safetensors" &&
  echo "adapters: identical bytes" || echo "adapters: DIFFER"
