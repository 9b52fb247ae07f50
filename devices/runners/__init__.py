"""Benchmark runners on a phone: how each is invoked and how its output is read (a registry)."""

from devices.runners.base import RunnerOutputError, RunnerResult
from devices.runners.parsers import PARSERS, parse_output

__all__ = ["PARSERS", "RunnerOutputError", "RunnerResult", "parse_output"]
