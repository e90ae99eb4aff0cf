"""One error hierarchy for everything flowship reports to a user.

Every user mistake surfaces as a :class:`FlowshipError` (or a subclass) whose
message says what is wrong, where, and how to fix it. The CLI prints these
without a traceback; anything else escaping is a bug in flowship.

Problems found while checking a flow are collected as :class:`Problem` records
so that all of them can be reported at once, each formatted the same way:
``file:line: what is wrong — how to fix it``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Literal

__all__ = [
    "FlowshipError",
    "FlowDefinitionError",
    "ParameterError",
    "Problem",
    "format_problem",
]

Severity = Literal["error", "warning"]


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
