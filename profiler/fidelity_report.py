"""What a fidelity check (profiler.validate) reports: summary.json's content, its lines on the terminal,
the scatter of measured against predicted latency, and whether the LUT meets the acceptance."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

# what a LUT must reach on whole networks (nn-Meter's figure is 99% within +-10% on a phone CPU)
ACCEPT_WITHIN_10, ACCEPT_WITHIN_5, ACCEPT_SPEARMAN, ACCEPT_BIAS = 0.95, 0.70, 0.97, 0.03


def accepted(fid) -> bool:
    """Whether a Fidelity meets the acceptance: shares within +-10% and +-5%, Spearman, and a median
    measured/predicted within 1 +- ACCEPT_BIAS."""
    return bool(fid.within_10 >= ACCEPT_WITHIN_10 and fid.within_5 >= ACCEPT_WITHIN_5
                and fid.spearman >= ACCEPT_SPEARMAN and abs(fid.median_ratio - 1) <= ACCEPT_BIAS)


def summary_of(lut, space, cal, env, results, refs, ref_ms, report, settings, run_info, wall: float,
               already: int) -> dict[str, Any]:
    """summary.json: the run, the device, the calibration, the fidelity (plain sum too), references, timing."""
    from dataclasses import asdict

    from profiler.fidelity import fidelity

    done = [r for r in results if r.measured]
    measured = [r.measured["median_ms"] for r in done]
    fid = fidelity([r.predicted_ms for r in done], measured)
    summary: dict[str, Any] = {**run_info, "device": {k: env[k] for k in sorted(env)},
                               "calibration": None if cal is None else asdict(cal),
                               "fidelity": fid.as_dict()}
    if cal is not None:
        summary["fidelity_uncalibrated"] = fidelity([r.lut_ms for r in done], measured).as_dict()
    summary["unstable_networks"] = sum(not r.measured["stable"] for r in done)
    summary["reference"] = {name: {"key": str(key), "lut_ms": lut.latency(key), "now_ms": ref_ms.get(name),
                                   "now_over_lut": (ref_ms[name] / lut.latency(key)) if name in ref_ms else None}
                            for name, key in refs.items()}
    summary["measurement"] = {**asdict(settings), "wall_s": round(wall, 1), "resumed_networks": already,
                              "rounds": report.rounds if report else 0,
                              "canary_p90_over_p10": round(1 + report.drift, 4) if report else None,
                              "batches": report.batches if report else 0,
                              "set_aside": report.set_aside if report else 0}
    summary["acceptance"] = {"within_10_at_least": ACCEPT_WITHIN_10, "within_5_at_least": ACCEPT_WITHIN_5,
                             "spearman_at_least": ACCEPT_SPEARMAN, "median_bias_within": ACCEPT_BIAS,
                             "met": accepted(fid)}
    summary["command"] = " ".join(sys.argv)
    return summary


def drift_summary(lut, space, archs, refs: dict[str, Any], retimed: list[Any], ref_ms: dict[str, float],
                  summary: dict[str, Any]) -> dict[str, Any]:
    """summary.json's host_drift: the re-timed entries' now / then as the sampled networks weigh them, and
    the plain sum's median measured/predicted divided by it (the bias at the host speed of the LUT's build)."""
    from profiler.host_drift import drift_factor, key_uses

    uses = key_uses(lut, space, archs)
    keyed = {**{refs[n]: ms for n, ms in ref_ms.items() if n in refs},
             **{k: ref_ms[str(k)] for k in retimed if str(k) in ref_ms}}
    chosen = {k: uses[k] for k in retimed if k in uses}
    fixed = [refs["stem"], refs["head"]]
    factor = (drift_factor(chosen, len(archs), {k: lut.latency(k) for k in keyed}, keyed, refs["overhead"], fixed)
              if chosen else None)  # --retime 0: no estimate from the fixed keys alone
    plain = summary.get("fidelity_uncalibrated") or summary["fidelity"]
    share = sum(chosen.values()) / max(1, len(archs) * len(space.layers))
    return {"entries": [str(k) for k in retimed], "layer_share": round(share, 4), "now_over_lut": factor,
            "median_ratio_at_lut_speed": (plain["median_ratio"] / factor
                                          if factor and plain["median_ratio"] is not None else None)}


def plot_results(results, cal, space, lut, path: Path, summary: dict[str, Any]) -> None:
    """scatter.png of the measured networks."""
    from profiler.scatter import plot_scatter

    done = [r for r in results if r.measured]
    f = summary["fidelity"]
    rho = "n/a" if f["spearman"] is None else f"{f['spearman']:.3f}"
    title = (f"{Path(str(lut.source)).name}: {space.name} {space.input_size}x{space.input_size}, {len(done)} networks, "
             f"seed {summary['seed']}\nMAPE {f['mape'] * 100:.1f}%, within 10% {f['within_10'] * 100:.0f}%, "
             f"Spearman {rho}" + (f"; calibration {cal}" if cal else ""))
    plot_scatter([r.predicted_ms for r in done], [r.measured["median_ms"] for r in done], path, title,
                 raw=[r.lut_ms for r in done] if cal else None)


def report_lines(summary: dict[str, Any], out: Path) -> list[str]:
    """The lines printed at the end of a check (the plain LUT sum first)."""
    from profiler.fidelity import Fidelity, format_fidelity

    lines = [f"{summary['lut']} ({summary['space']} {summary['input_size']}x{summary['input_size']}), "
             f"seed {summary['seed']}, on {summary['device']['device']} ({summary['device']['runtime']}, "
             f"{summary['device']['threads']} thread(s), opt {summary['device']['opt_level']}; "
             f"entries timed {summary['device'].get('conditions', 'warm')})"]

    def fid(name: str) -> Fidelity:
        return Fidelity(**{k: float("nan") if v is None else v for k, v in summary[name].items()})

    if "fidelity_uncalibrated" in summary:  # the plain sum first: what the LUT itself predicts
        lines += format_fidelity(fid("fidelity_uncalibrated"), "LUT sum")
        lines += format_fidelity(fid("fidelity"), "calibrated")
    else:
        lines += format_fidelity(fid("fidelity"), "LUT sum")
    refs = [f"{name} {r['now_over_lut']:.2f}" for name, r in summary["reference"].items() if r["now_over_lut"]]
    if refs:
        lines.append("LUT keys timed now / in the LUT: " + ", ".join(refs))
    drift = summary.get("host_drift") or {}
    if drift.get("now_over_lut"):
        f, n = drift["now_over_lut"], len(drift["entries"])
        lines.append(f"host now / at the LUT's build: {f:.3f} (overhead, stem, head and the {n} entries weighing most, "
                     f"{drift['layer_share']:.0%} of the networks' layers, re-timed beside them); measured/predicted "
                     f"at the build's host speed {drift['median_ratio_at_lut_speed']:.3f}")
    m = summary["measurement"]
    lines.append(f"{m['rounds']} rounds, canary p90/p10 {m['canary_p90_over_p10'] or 1:.2f}, {m['set_aside']} of "
                 f"{m['batches']} batches set aside (host disturbed), {summary['unstable_networks']} unstable "
                 f"network(s), wall {m['wall_s']:.0f} s")
    acc = summary["acceptance"]
    lines.append(f"acceptance (>= {acc['within_10_at_least']:.0%} within +-10%, >= {acc['within_5_at_least']:.0%} "
                 f"within +-5%, Spearman >= {acc['spearman_at_least']}, median bias within "
                 f"+-{acc['median_bias_within']:.0%}): {'met' if acc['met'] else 'NOT met'}")
    lines.append(f"wrote {out}/predictions.csv, summary.json, scatter.png")
    return lines


def drift_warning(summary: dict[str, Any]) -> str | None:
    """One line when the host runs more than ACCEPT_BIAS faster or slower than when the LUT was built."""
    f = (summary.get("host_drift") or {}).get("now_over_lut")
    if not f or abs(f - 1) <= ACCEPT_BIAS:
        return None
    how = f"{(1 - f) * 100:.0f}% faster" if f < 1 else f"{(f - 1) * 100:.0f}% slower"
    return (f"warning: the host runs {how} now than when {summary['lut']} was built (its entries re-timed now): "
            f"the bias above is the host's drift as much as the LUT's; rebuild the LUT and validate right after, "
            f"or judge the bias at the build's host speed")
