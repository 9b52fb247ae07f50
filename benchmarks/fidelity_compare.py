"""Judge several LUTs' plain sums on the networks one profiler.validate run measured.

    python benchmarks/fidelity_compare.py runs/fidelity/fbnet lut/cpu-fbnet.csv lut/cpu-fbnet-warm.csv

The networks are measured once (the run's predictions.csv), so the LUTs are compared on the
same measurements: the fair way to compare measurement conditions (in-network vs warm).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lut import load  # noqa: E402
from profiler.fidelity import fidelity, format_fidelity  # noqa: E402
from search.space import get_space  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", type=Path, help="a profiler.validate output folder (predictions.csv, run.json)")
    p.add_argument("luts", type=Path, nargs="+", help="LUT files of the run's space")
    args = p.parse_args()
    info = json.loads((args.run / "run.json").read_text())
    space = get_space(info["space"], info.get("width_mult"), info.get("input_size"))
    table = pd.read_csv(args.run / "predictions.csv")
    archs = [str(b).split() for b in table["blocks"]]
    for path in args.luts:
        lut = load(path)
        matrix = lut.matrix(space, calibrated=False)
        label = f"{path.name} ({', '.join(lut.provenance()['conditions'])})"
        for line in format_fidelity(fidelity([matrix.predict(a) for a in archs], list(table["measured_ms"])), label):
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
