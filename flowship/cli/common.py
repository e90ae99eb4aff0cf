"""How the commands word their output: counts, paths, commands to paste, problems."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Iterable
from typing import Any

from flowship.errors import Problem, format_problem

__all__ = ["count", "quote_command", "print_problems", "relative"]


def count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' * (number != 1)}"


def quote_command(*argv: str) -> str:
    """A command line a user can paste as is."""
    return " ".join(shlex.quote(a) for a in argv)


def print_problems(problems: Iterable[Problem], file: Any = None) -> None:
    for problem in problems:
        print(format_problem(problem), file=file or sys.stdout)


def relative(path: str) -> str:
    """A path as short as it can be said from here."""
    if "://" in path:
        return path
    shorter = os.path.relpath(path)
    return path if shorter.startswith(os.pardir + os.sep + os.pardir) else shorter
