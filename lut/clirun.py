"""How every lutnas command line ends: one-line errors, exit 2 on bad input, 130 on Ctrl-C, no tracebacks."""

from __future__ import annotations

import sys
from typing import Any, Callable


def one_line(e: BaseException) -> str:
    """An exception as one line; an OSError as '<file>: <reason>' where it names a file."""
    if isinstance(e, OSError) and e.filename is not None and e.strerror:
        return f"{e.filename}: {e.strerror}"
    return " ".join(str(e).split())


def guarded(run: Callable[[Any], int], args: Any, errors: tuple[type[BaseException], ...] = ()) -> int:
    """``run(args)``, turning bad input (ValueError, OSError, ``errors``) into 'error: ...' and exit 2."""
    try:
        return run(args)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError, *errors) as e:
        print(f"error: {one_line(e)}", file=sys.stderr)
        return 2
