"""The subcommands of ``python -m lut``: a registry of small modules, one per command.

Each module defines ``COMMAND``: its name, a usage line and summary for ``python -m lut --help``,
the ``--help`` text of the command, a function adding its arguments, and ``run(args) -> int``.
Modules import nothing heavy at module level (pandas, matplotlib, YAML and the search spaces are
imported inside ``run``), so building the parser, and ``--help``, stay instant.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from importlib import import_module
from typing import Callable

from lutnas.registry import Registry

# exit codes shared by every command
OK, FINDINGS, BAD_INPUT = 0, 1, 2


@dataclass(frozen=True)
class Command:
    """One subcommand."""

    name: str
    usage: str  # e.g. "diff A B"
    summary: str  # one or two lines for the overview
    description: str  # the command's --help text
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


MODULES = ("info", "validate", "diff", "merge", "plot", "predict", "convert")
COMMANDS: Registry[str, Command] = Registry("command")


def register(command: Command) -> Command:
    """Add a command; a duplicate name is an error."""
    return COMMANDS.register(command.name, command)


def commands() -> dict[str, Command]:
    """Every command, built-in ones first (their modules imported on first call)."""
    for name in MODULES:
        if name not in COMMANDS:
            register(import_module(f"luttools.commands.{name}").COMMAND)
    return COMMANDS


def refuse_existing(path, overwrite: bool) -> None:
    """ValueError when ``path`` exists and ``overwrite`` is not set (nothing is ever replaced by surprise)."""
    from pathlib import Path

    if Path(path).exists() and not overwrite:
        raise ValueError(f"{path}: already exists; pass --overwrite to replace it")
