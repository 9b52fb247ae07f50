#!/usr/bin/env bash
# The search acceptance experiments of issue 3, run as concurrent searches (on one GPU, or CPU cores).
# Usage: benchmarks/search_acceptance.sh OUTDIR [cpu|cuda] [SECONDS] [SET]
#   SET all (default): hard mode with --loss none, target and target-abs at T = 0.3, 0.5, 0.8 ms,
#       fbnet with alpha 0.1, 0.2, 0.4, and soft mode with target at the three T (13 searches);
#   SET targets: hard mode, target and target-abs at the three T (6 searches).
# Environment: EPOCHS (hard mode, default 150), TAU_DECAY (default 0.98), LR_THETA (default 0.01), PYTHON.
# Needs lut/cpu-r16.csv: python -m profiler.run --device cpu --space fbnet-cifar --resolution 16 --out lut/cpu-r16.csv
# Every search: fbnet-cifar at 16x16 on digits, batch 32. Each is stopped after SECONDS (default 480);
# its metrics.csv (a row per finished epoch: argmax_ms is the derived architecture's LUT latency) and,
# when it finishes, arch.json (the argmax: --select 0) are kept under OUTDIR/<name>/ (checkpoints are removed).
set -u
out=${1:?usage: search_acceptance.sh OUTDIR [cpu|cuda] [SECONDS] [SET]}; dev=${2:-cuda}; limit=${3:-480}; set=${4:-all}
py=${PYTHON:-python3}
mkdir -p "$out"
common=(--lut lut/cpu-r16.csv --resolution 16 --batch-size 32 --threads 1 --train-device "$dev" --no-export --quiet --select 0
        --lr-theta "${LR_THETA:-0.01}")
hard=(--mode hard --epochs "${EPOCHS:-150}" --tau-decay "${TAU_DECAY:-0.98}")
soft=(--mode soft --epochs 40)
run() { name=$1; shift; timeout "$limit" "$py" -m search.run "${common[@]}" --out "$out/$name" "$@" >"$out/$name.log" 2>&1 & }
for t in 0.3 0.5 0.8; do
  run "hard-target-$t" "${hard[@]}" --loss target --target-ms "$t"
  run "hard-abs-$t" "${hard[@]}" --loss target-abs --target-ms "$t"
done
if [ "$set" = all ]; then
  run hard-none "${hard[@]}" --loss none
  for t in 0.3 0.5 0.8; do run "soft-target-$t" "${soft[@]}" --loss target --target-ms "$t"; done
  for a in 0.1 0.2 0.4; do run "hard-fbnet-a$a" "${hard[@]}" --loss fbnet --alpha "$a"; done
fi
wait
for d in "$out"/*/; do rm -f "$d/checkpoint.pt"; done
echo "done: $(ls "$out" | wc -l) entries"
