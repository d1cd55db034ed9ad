#!/bin/sh
# Issue 5's benchmark: `tandem sft` against a plain PyTorch SFT loop (bench/e2e/torch_sft.py)
# doing the same work, each timed as a whole process (start-up, data, training steps, the final
# checkpoint and model) by bench/e2e/whole_process.py, alternately, with medians and pair-by-pair
# ratios of wall time and peak memory.
#
# Same work on both sides: the SmolLM2-135M shape (random weights from `tandem init-model`, both
# load the same folder), the same pre-tokenized JSONL (BATCH * STEPS sequences of SEQ random
# tokens, every token trained), STEPS optimizer steps of BATCH sequences, AdamW (lr 1e-5 constant,
# weight decay 0.01 on matrices, clipping at 1.0), fp32, THREADS threads. The PyTorch command alone
# runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (its best OpenBLAS kernel for this CPU).
#
#   bench/e2e/sft_compare.sh            prepare (once) and measure
#   bench/e2e/sft_compare.sh --commands prepare and print the two commands, for another harness
#                                       (clear both output folders before every run)
# Environment: STEPS (6), BATCH (2), SEQ (512), THREADS (2), RUNS (3), WARMUP (1),
#   WORK (/tmp/tandem-sft-compare: model, data and run folders), EXTRA (more tandem keys, e.g. bf16=true).
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
STEPS=${STEPS:-6} BATCH=${BATCH:-2} SEQ=${SEQ:-512} THREADS=${THREADS:-2} RUNS=${RUNS:-3} WARMUP=${WARMUP:-1}
WORK=${WORK:-/tmp/tandem-sft-compare} EXTRA=${EXTRA:-}
TANDEM="$ROOT/build/src/tandem"
[ -x "$TANDEM" ] || { echo "build Tandem first ($TANDEM missing)" >&2; exit 2; }
mkdir -p "$WORK"

MODEL="$WORK/smollm2-135m"
if [ ! -f "$MODEL/model.safetensors" ]; then
  "$TANDEM" init-model --arch llama --layers 30 --hidden 576 --heads 9 --kv-heads 3 --intermediate 1536 \
    --vocab 49152 --tie --rope-theta 100000 --max-pos 8192 --seed 1 --out "$MODEL" >/dev/null
fi
DATA="$WORK/train-$BATCH-$STEPS-$SEQ.jsonl"
if [ ! -f "$DATA" ]; then
  /usr/bin/python3 -c '
import json, random, sys
n, seq, vocab = int(sys.argv[1]), int(sys.argv[2]), 49152
r = random.Random(1)
with open(sys.argv[3], "w") as f:
    for _ in range(n):
        f.write(json.dumps({"input_ids": [r.randrange(vocab) for _ in range(seq)]}) + "\n")
' $((BATCH * STEPS)) "$SEQ" "$DATA"
fi

A="$TANDEM --threads $THREADS sft model_name_or_path=$MODEL train_file=$DATA output_dir=$WORK/out-tandem \
max_steps=$STEPS per_device_train_batch_size=$BATCH max_length=$SEQ learning_rate=1e-5 lr_scheduler_type=constant \
weight_decay=0.01 max_grad_norm=1.0 logging_steps=1 seed=42 $EXTRA"
B="env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 $ROOT/bench/e2e/torch_sft.py --model $MODEL \
--train-file $DATA --output-dir $WORK/out-torch --max-steps $STEPS --batch $BATCH --max-length $SEQ --lr 1e-5 \
--weight-decay 0.01 --max-grad-norm 1.0 --threads $THREADS --seed 42"

if [ "${1:-}" = "--commands" ]; then
  printf '%s\n%s\n' "$A" "$B"
  exit 0
fi
echo "sft_compare: SmolLM2-135M shape, $STEPS steps x $BATCH x $SEQ tokens, $THREADS threads, $RUNS runs after $WARMUP warm-up"
exec /usr/bin/python3 "$ROOT/bench/e2e/whole_process.py" --runs "$RUNS" --warmup "$WARMUP" \
  --tokens $((STEPS * BATCH * SEQ)) --clean "$WORK/out-tandem" --clean "$WORK/out-torch" --a "$A" --b "$B"
