"""How the commands word their output: counts, paths, commands to paste, problems; where ``-o`` writes."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flowship.errors import FlowshipError, Problem, format_problem

__all__ = ["count", "quote_command", "print_problems", "output_path", "output_file", "relative"]


def count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' * (number != 1)}"


def quote_command(*argv: str) -> str:
    """A command line a user can paste as is."""
    return " ".join(shlex.quote(a) for a in argv)


def print_problems(problems: Iterable[Problem], file: Any = None) -> None:
    for problem in problems:
        print(format_problem(problem), file=file or sys.stdout)


def output_path(output: str, default_name: str, suffixes: tuple[str, ...], wrong_kind: str) -> Path:
    """Where ``-o OUTPUT`` writes, the same for every command: a folder (one that exists, written with a trailing
    '/', or a new path without a suffix) is made and gets ``default_name`` inside; anything else is the file, which
    must end in one of ``suffixes`` (else ``wrong_kind`` says what to give)."""
    folder = (
        os.path.isdir(output)
        or output.endswith(("/", os.sep))
        or (not os.path.exists(output) and not os.path.splitext(output)[1])
    )
    if not folder:
        if not output.endswith(suffixes):
            raise FlowshipError(f"-o {output}: {wrong_kind}")
        return Path(output)
    try:
        os.makedirs(output, exist_ok=True)
    except OSError as exc:
        raise FlowshipError(f"-o {output}: cannot make the folder ({exc.strerror})") from None
    return Path(output, default_name)


def output_file(output: str, default_name: str) -> Path:
    """``-o`` of a page (a report, a card): :func:`output_path`, with the file's own folder made too."""
    suffixes = (".html", ".htm")
    wrong = f"give a file name ending in {' or '.join(suffixes)}, or a folder (e.g. {default_name})"
    path = output_path(output, default_name, suffixes, wrong)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def relative(path: str) -> str:
    """A path as short as it can be said from here."""
    if "://" in path:
        return path
    shorter = os.path.relpath(path)
    return path if shorter.startswith(os.pardir + os.sep + os.pardir) else shorter
