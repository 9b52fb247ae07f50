#!/usr/bin/env bash
# LUT fidelity on whole networks (issue 11's acceptance): for fbnet-cifar and fbnet on --device cpu
# (ONNX Runtime, 1 thread): profile a fresh LUT timed in-network (the default) and one timed warm,
# measure N random networks (seed 2) against the in-network LUT's plain sum (no calibration), and
# judge the warm LUT's plain sum on the same measurements. About 15 minutes on 2 busy cores.
#   N=50 benchmarks/lut_fidelity.sh            # results under runs/fidelity/
# Acceptance (printed by validate): >= 95% within +-10%, >= 70% within +-5%, Spearman >= 0.97 and
# a median measured/predicted within 1 +- 0.03, for both spaces.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
N=${N:-50}
OUT=${OUT:-runs/fidelity}
mkdir -p "$OUT"
for space in fbnet-cifar fbnet; do
  echo "== $space"
  $PY -m profiler.run --device cpu --space "$space" --out "$OUT/$space.csv" --overwrite --quiet
  $PY -m profiler.run --device cpu --space "$space" --out "$OUT/$space-warm.csv" --conditions warm --overwrite --quiet
  $PY -m profiler.validate --lut "$OUT/$space.csv" --device cpu --space "$space" --samples "$N" --seed 2 \
      --out "$OUT/$space" --overwrite --uncalibrated --quiet
  $PY benchmarks/fidelity_compare.py "$OUT/$space" "$OUT/$space.csv" "$OUT/$space-warm.csv"
done
