"""A DAG task's ``depends``, evaluated the way Argo v4 does, for the tests' runner.

Argo (``workflow/common/ancestry.go``, ``controller/dag.go``) reads every task
name in ``depends`` (``[a-zA-Z0-9][-a-zA-Z0-9]*``, optionally ``.Result``),
turns a bare name into ``(X.Succeeded || X.Skipped || X.Daemoned)``, replaces
every ``-`` by ``_`` and evaluates the result with expr-lang against each
task's results. A task named like a word of expr-lang (``in``, ``matches``,
``nil`` ...) makes that expression fail to parse, and the task errors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["DependsError", "dependencies", "evaluate_depends", "EXPR_KEYWORDS"]

EXPR_KEYWORDS = frozenset(
    ["in", "not", "and", "or", "matches", "contains", "startsWith", "endsWith", "let", "if", "else", "nil", "true",
     "false"]
)
_RESULTS = ("Succeeded", "Failed", "Errored", "Skipped", "Omitted", "Daemoned", "AnySucceeded", "AllFailed")
_TASK = re.compile(r"([a-zA-Z0-9][-a-zA-Z0-9]*?\.[A-Z][a-zA-Z]+)|([a-zA-Z0-9][-a-zA-Z0-9]*)")
_TOKEN = re.compile(r"\s*(&&|\|\||!|\(|\)|[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z]+|[A-Za-z_][A-Za-z0-9_]*)")


class DependsError(AssertionError):
    """Argo marks the task Error: ``unable to evaluate expression``."""


def dependencies(depends: str) -> list[str]:
    """The task names ``depends`` waits for."""
    return [(qualified.split(".")[0] if qualified else bare) for qualified, bare in _TASK.findall(depends)]


def _expanded(depends: str) -> str:
    def expand(match: re.Match[str]) -> str:
        qualified, bare = match.group(1), match.group(2)
        return qualified or f"({bare}.Succeeded || {bare}.Skipped || {bare}.Daemoned)"

    return _TASK.sub(expand, depends).replace("-", "_")


def evaluate_depends(depends: str, phases: Mapping[str, str]) -> bool:
    """Whether a task whose dependencies all finished runs; ``phases``: task name -> its node phase."""
    logic = _expanded(depends)
    tokens, position = [], 0
    while position < len(logic.rstrip()):
        match = _TOKEN.match(logic, position)
        if not match:
            raise DependsError(f"unable to evaluate expression '{logic}': unexpected token at {logic[position:]!r}")
        tokens.append(match.group(1))
        position = match.end()
    python = []
    for token in tokens:
        if token in ("&&", "||", "!", "(", ")"):
            python.append({"&&": " and ", "||": " or ", "!": " not "}.get(token, token))
            continue
        name, _, field = token.partition(".")
        if name in EXPR_KEYWORDS or field not in _RESULTS:
            raise DependsError(f"unable to evaluate expression '{logic}': unexpected token {token!r}")
        task = next((t for t in phases if t.replace("-", "_") == name), None)
        if task is None:
            raise DependsError(f"unable to evaluate expression '{logic}': unknown name {name}")
        python.append(str(phases[task] == field))
    return bool(eval("".join(python), {"__builtins__": {}}))  # only True, False, and, or, not and brackets
