"""How the commands word their output: counts, paths, commands to paste, problems; where ``-o`` writes."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flowship.errors import FlowshipError, Problem, format_problem

__all__ = ["count", "quote_command", "print_problems", "output_file", "relative"]


def count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' * (number != 1)}"


def quote_command(*argv: str) -> str:
    """A command line a user can paste as is."""
    return " ".join(shlex.quote(a) for a in argv)


def print_problems(problems: Iterable[Problem], file: Any = None) -> None:
    for problem in problems:
        print(format_problem(problem), file=file or sys.stdout)


def output_file(output: str, default_name: str, suffixes: tuple[str, ...] = (".html", ".htm")) -> Path:
    """Where ``-o OUTPUT`` writes: into a folder (one that exists, or written with a trailing slash) under
    ``default_name``, else the file itself; its folder is made. A file of another kind is an error."""
    path = Path(output)
    if path.is_dir() or output.endswith(("/", os.sep)):
        path = path / default_name
    if path.suffix.lower() not in suffixes:
        raise FlowshipError(
            f"-o {output}: give a file name ending in {' or '.join(suffixes)}, or a folder (e.g. {default_name})"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def relative(path: str) -> str:
    """A path as short as it can be said from here."""
    if "://" in path:
        return path
    shorter = os.path.relpath(path)
    return path if shorter.startswith(os.pardir + os.sep + os.pardir) else shorter
