"""Benchmark runners on a phone: how each is invoked and how its output is read (a registry of Runner objects)."""

from devices.runners.base import RunnerOutputError, RunnerResult
from devices.runners.parsers import parse_output
from devices.runners.registry import RUNNERS, Runner, get_runner

__all__ = ["RUNNERS", "Runner", "RunnerOutputError", "RunnerResult", "get_runner", "parse_output"]
