#!/usr/bin/env bash
# LUT fidelity on whole networks (issue 5's acceptance): for fbnet-cifar and fbnet on --device cpu
# (ONNX Runtime, 1 thread): profile the LUT if it is missing, measure N random networks (seed 1)
# and fit the whole-network calibration from them, then judge the calibrated LUT on N other
# random networks (seed 2). Prints each step's figures; about 25 minutes on 2 busy cores.
#   N=50 benchmarks/lut_fidelity.sh            # results under runs/fidelity/
# Acceptance: >= 95% of networks within +-10% and Spearman >= 0.95 on the seed-2 run of both.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
N=${N:-50}
OUT=${OUT:-runs/fidelity}
for pair in "fbnet-cifar lut/cpu.csv" "fbnet lut/cpu-fbnet.csv"; do
  read -r space lut <<<"$pair"
  echo "== $space ($lut)"
  [ -f "$lut" ] || $PY -m profiler.run --device cpu --space "$space" --out "$lut" --quiet
  $PY -m profiler.validate --lut "$lut" --device cpu --space "$space" --samples "$N" --seed 1 \
      --out "$OUT/$space-fit" --overwrite --uncalibrated --quiet
  $PY -m profiler.calibrate --lut "$lut" --from "$OUT/$space-fit"
  $PY -m profiler.validate --lut "$lut" --device cpu --space "$space" --samples "$N" --seed 2 \
      --out "$OUT/$space-check" --overwrite --quiet
done
