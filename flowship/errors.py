"""One error hierarchy for everything flowship reports to a user.

Every user mistake surfaces as a :class:`FlowshipError` (or a subclass) whose
message says what is wrong, where, and how to fix it. The CLI prints these
without a traceback; anything else escaping is a bug in flowship.

Problems found while checking a flow are collected as :class:`Problem` records
so that all of them can be reported at once, each formatted the same way:
``file:line: what is wrong — how to fix it``.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "CaughtException",
    "FlowshipError",
    "FlowDefinitionError",
    "ParameterError",
    "NotFound",
    "Problem",
    "HasProblems",
    "format_problem",
    "user_traceback",
    "did_you_mean",
]

Severity = Literal["error", "warning"]


_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def user_traceback(exc: BaseException) -> str:
    """The traceback a user needs: their own frames, without flowship's machinery (all of it if none are theirs)."""
    details = traceback.TracebackException.from_exception(exc)
    own = [frame for frame in details.stack if not frame.filename.startswith(_PACKAGE + os.sep)]
    if own:
        details.stack = traceback.StackSummary.from_list(own)
    return "".join(details.format())


class CaughtException(Exception):
    """What ``@catch(var=...)`` stores when the step failed (Metaflow's ``MetaflowExceptionWrapper``).

    It keeps the exception as text, not the exception object, so the artifact loads anywhere, even where the
    exception's class cannot be imported. Made inside the ``except`` block, so it has the traceback.
    """

    def __init__(self, exc: BaseException | None = None) -> None:
        super().__init__()
        if exc is not None:
            self.exception = str(exc)
            self.type = f"{type(exc).__module__}.{type(exc).__name__}"
            self.stacktrace: str | None = user_traceback(exc) if sys.exc_info()[0] is not None else None

    # Exception's own pickling would call __init__ with the exception's args; restore the fields instead.
    def __reduce__(self) -> tuple[Any, ...]:
        return CaughtException, (None,), self.__dict__

    def __setstate__(self, state: dict[str, Any] | None) -> None:
        self.__dict__ = state or {}

    def __str__(self) -> str:
        return self.stacktrace or f"[no stacktrace]\n{self.type}: {self.exception}"

    def __repr__(self) -> str:
        return str(self)


@dataclass(frozen=True, order=True)
class Problem:
    """One finding about a flow file: an error stops the flow, a warning does not."""

    file: str
    line: int
    message: str
    fix: str = ""
    severity: Severity = "error"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def __str__(self) -> str:
        return format_problem(self)


def format_problem(problem: Problem) -> str:
    """Render a problem as ``file:line: [warning: ]what — how to fix``."""
    where = f"{problem.file}:{problem.line}" if problem.line else problem.file
    label = "warning: " if problem.severity == "warning" else ""
    text = f"{where}: {label}{problem.message}"
    if problem.fix:
        text += f" — {problem.fix}"
    return text


class HasProblems:
    """For a result that carries ``problems``: its errors and its warnings."""

    problems: tuple[Problem, ...]

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.is_error)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if not p.is_error)


class FlowshipError(Exception):
    """Base class of every error flowship raises for a user mistake or a fault."""


class FlowDefinitionError(FlowshipError):
    """A flow file has one or more errors; all of them are in :attr:`problems`."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems: tuple[Problem, ...] = tuple(problems)
        errors = [p for p in self.problems if p.is_error]
        super().__init__("\n".join(format_problem(p) for p in errors))


class ParameterError(FlowshipError):
    """A parameter value given on the command line or in a trigger is invalid."""


class NotFound(FlowshipError, KeyError):
    """A flow, run, step or task that is not in the store; the message says what is there instead."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """`` — did you mean HelloFlow?`` when one choice is close to ``name`` (ignoring case), else ``""``."""
    import difflib

    by_lower = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.5)
    return f" — did you mean {by_lower[close[0]]}?" if close else ""
