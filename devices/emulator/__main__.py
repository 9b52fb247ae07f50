"""python -m devices.emulator: run an emulated phone (ADB over TCP on 127.0.0.1) until Ctrl-C."""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

EPILOG = """\
example:
  python -m devices.emulator --phone tests/fixtures/phones/pixel7-emulated.toml \\
      --sandbox /tmp/phone --authorize ~/.android/adbkey.pub --port 5555
  adb connect 127.0.0.1:5555 && adb -s 127.0.0.1:5555 shell getprop ro.product.model

Shell commands run for real on this host, in the sandbox folder (the phone's /data,
/sdcard, /sys, /system); getprop, dumpsys, uname -r and /sys answer from the phone file.
Only keys given with --authorize are accepted unless --accept-new-keys.
"""


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    p = argparse.ArgumentParser(prog="python -m devices.emulator", description=__doc__, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--phone", type=Path, required=True, help="phone description (.toml or .json)")
    p.add_argument("--sandbox", type=Path, required=True, help="folder standing in for the phone's filesystem")
    p.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (default: a free one, printed)")
    p.add_argument("--authorize", type=Path, action="append", default=[],
                   help="an adbkey.pub whose key the phone accepts (repeatable)")
    p.add_argument("--accept-new-keys", action="store_true",
                   help="accept any key the host offers (as if someone tapped 'Allow' on the phone)")
    p.add_argument("--arm64", nargs="?", const="", default=None, metavar="ROOT",
                   help="the phone's python3 is the arm64 Python of the userland ROOT, run by qemu-user "
                        "(default ROOT: $LUTNAS_ARM64_ROOT or /var/cache/lutnas/arm64-root; build it with "
                        "tools/arm64_userland.sh)")
    return p


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    from devices.emulator import AdbEmulator, load_phone
    from devices.emulator.userland import arm64_root

    keys = [path.read_text() for path in args.authorize]
    root = None if args.arm64 is None else (Path(args.arm64) if args.arm64 else arm64_root())
    emu = AdbEmulator(load_phone(args.phone), args.sandbox, authorized_keys=keys,
                      accept_new_keys=args.accept_new_keys, port=args.port, arm64_root=root).start()
    where = f", python3: arm64 from {root}" if root is not None else ""
    print(f"emulated phone listening on {emu.address} (sandbox {emu.sandbox}{where})", flush=True)
    try:
        threading.Event().wait()
    finally:
        emu.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: one-line errors and exit 2 on bad input; Ctrl-C, the way to stop it, exits 0."""
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except KeyboardInterrupt:
        print("\nemulated phone stopped", file=sys.stderr)
        return 0
    except (ValueError, OSError) as e:
        where = f"{e.filename}: {e.strerror}" if isinstance(e, OSError) and e.filename and e.strerror else str(e)
        print(f"error: {' '.join(where.split())}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
