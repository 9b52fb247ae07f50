"""How every lutnas command line ends: one-line errors, exit 2 on bad input, 130 on Ctrl-C, 141 quietly when
the reader of stdout went away (``| head``), no tracebacks."""

from __future__ import annotations

import os
import sys
from typing import Any, Callable


def one_line(e: BaseException) -> str:
    """An exception as one line; an OSError as '<file>: <reason>' where it names a file."""
    if isinstance(e, OSError) and e.filename is not None and e.strerror:
        return f"{e.filename}: {e.strerror}"
    return " ".join(str(e).split())


BROKEN_PIPE = 141  # 128 + SIGPIPE: what a Unix tool whose reader went away exits with


def _reader_gone() -> int:
    """stdout's reader closed it (``| head``): stop quietly (later writes go to /dev/null) with 141."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return BROKEN_PIPE


def guarded(run: Callable[[Any], int], args: Any, errors: tuple[type[BaseException], ...] = ()) -> int:
    """``run(args)``, turning bad input (ValueError, OSError, ``errors``) into 'error: ...' and exit 2."""
    try:
        code = run(args)
        sys.stdout.flush()  # a reader that went away (| head) is noticed here, not at interpreter exit
        return code
    except BrokenPipeError:
        return _reader_gone()
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError, *errors) as e:
        print(f"error: {one_line(e)}", file=sys.stderr)
        return 2
