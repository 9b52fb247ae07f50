"""``python -m lut merge A B ... -o OUT``: one LUT from several (shards, hosts), environments kept apart."""

from __future__ import annotations

import argparse
from pathlib import Path

from luttools.commands import OK, Command, refuse_existing

SHOWN = 5  # resolved keys listed
POLICIES = ("most-precise", "newest", "fail")  # lut.merge.POLICIES, named here so --help needs no pandas


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", type=Path, nargs="+", metavar="FILE", help="the LUTs to merge (two or more)")
    p.add_argument("-o", "--out", type=Path, required=True, metavar="OUT", help="the merged LUT to write")
    p.add_argument("--policy", choices=POLICIES, default="most-precise",
                   help="which row a key keeps when inputs hold different rows for it (default most-precise)")
    p.add_argument("--allow-mixed", action="store_true",
                   help="merge rows measured in different environments (device model, runtime and version, "
                        "optimization level, threads); each row keeps its provenance")
    p.add_argument("--overwrite", action="store_true",
                   help="replace OUT if it exists (OUT may be one of the inputs)")


def run(args: argparse.Namespace) -> int:
    from lut.io import load, save
    from lut.merge import merge

    if len(args.inputs) < 2:
        raise ValueError("merge needs at least two input LUTs")
    refuse_existing(args.out, args.overwrite)
    luts = [load(p) for p in args.inputs]
    merged = merge(luts, args.policy, args.allow_mixed)
    save(merged.lut, args.out)
    lines = [f"wrote {args.out}: {len(merged.lut)} rows from {len(luts)} files ({merged.lut.content_hash()})"]
    if merged.identical:
        lines.append(f"{merged.identical} identical duplicate row(s) folded")
    if merged.resolved:
        lines.append(f"{len(merged.resolved)} key(s) with different rows resolved by {args.policy}:")
        lines += [f"  {r.key}: kept {r.kept}, dropped {', '.join(r.dropped)}" for r in merged.resolved[:SHOWN]]
        if len(merged.resolved) > SHOWN:
            lines.append(f"  and {len(merged.resolved) - SHOWN} more")
    if len(merged.lut.environments()) > 1:
        lines.append(f"warning: {args.out} mixes {len(merged.lut.environments())} environments (--allow-mixed)")
    print("\n".join(lines))
    return OK


COMMAND = Command(
    "merge", "merge A B ... -o OUT",
    "merge LUTs (shards, hosts) into OUT; refuses mixed environments unless\n"
    "--allow-mixed; duplicate keys by --policy most-precise|newest|fail",
    "Merge two or more LUTs into OUT (written atomically, in canonical form). Every row keeps its own "
    "provenance. Rows measured in different environments (device_model, runtime, runtime_version, "
    "opt_level, threads) are refused unless --allow-mixed, and so are imported rows of an unknown device "
    "(name it with lut convert --set device_model=...).\n\n"
    "A key in several inputs with the very same row is kept once. With different rows, --policy decides: "
    "most-precise (default; stable rows first, then the smallest ci_rel, the most runs n, the newest "
    "measured_at), newest (the latest measured_at, then as most-precise), or fail (refuse, naming the keys). "
    "Remaining ties go to the row whose canonical text sorts first, so the order of the inputs never changes "
    "the result.\n\n"
    "OUT is never replaced without --overwrite (with it, OUT may be one of the inputs: merging shards into "
    "the main file). Merging the shards of a LUT gives back its keys and values, byte for byte.\n\n"
    "Exit 0 when OUT was written, 2 when an input cannot be loaded, the inputs mix environments or conflict "
    "under --policy fail, or OUT exists (nothing is written then).",
    add_arguments, run)
