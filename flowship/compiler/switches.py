"""Reading a switch: ``self.next({"key": self.step, ...}, condition="artifact")``, as Metaflow 2.17 writes it.

Kept apart from the rest of ``self.next`` reading (``parse.py``) because the
dict form has its own rules, checked as Metaflow's graph and ``FlowSpec.next``
check them: one non-empty dict of string-literal keys mapping to
``self.<step>``, ``condition=`` a string naming an artifact, no ``foreach=``,
at least two cases. Every malformed part is reported, none raised.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

__all__ = ["read_switch", "SWITCH_EXAMPLE"]

SWITCH_EXAMPLE = 'self.next({"a": self.a, "b": self.b}, condition="choice")'
Report = Callable[[int, str, str], None]  # (line, message, fix)


def _step_named(node: ast.expr) -> str | None:
    """``x`` for ``self.x``, else None."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
        return node.attr
    return None


def _condition(name: str, call: ast.Call, evaluate: Callable[[ast.expr], Any], problem: Report) -> str | None:
    """The artifact ``condition=`` names, after reporting what else the call gets wrong."""
    line = call.lineno
    keywords = {k.arg: k.value for k in call.keywords}
    if not (len(call.args) == 1 and isinstance(call.args[0], ast.Dict)):
        problem(
            line,
            f"self.next() in step '{name}' has condition= but not one dict of cases",
            f"a switch passes one dict mapping each value to a step: {SWITCH_EXAMPLE}",
        )
    elif "condition" not in keywords:
        problem(
            line,
            f"self.next() in step '{name}' passes a dict of cases without condition=",
            f"name the artifact whose value picks the step: {SWITCH_EXAMPLE}",
        )
    for keyword in sorted(set(keywords) - {"condition"}, key=str):
        fix = (
            "a switch picks one step; fan out with foreach= in the step it picks"
            if keyword in ("foreach", "num_parallel")
            else f"a switch takes one dict of cases and condition=: {SWITCH_EXAMPLE}"
        )
        problem(line, f"self.next() in step '{name}' combines condition= with {keyword}=", fix)
    if "condition" not in keywords:
        return None
    condition = evaluate(keywords["condition"])
    if not isinstance(condition, str):
        problem(
            line,
            f"condition= in step '{name}' is not a string",
            'name the artifact whose value picks the step as a string, e.g. condition="choice"',
        )
        return None
    return condition


def _cases(name: str, line: int, cases: ast.Dict, problem: Report) -> tuple[tuple[str, str], ...]:
    """(key, step) for every well-formed case, in written order."""
    found: dict[str, str] = {}
    for key, value in zip(cases.keys, cases.values, strict=True):
        if key is None:
            problem(
                line,
                f"the cases of the switch in step '{name}' unpack a dict (**)",
                f"write each case out: {SWITCH_EXAMPLE}",
            )
            continue
        if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
            problem(
                key.lineno,
                f"case key {ast.unparse(key)} in step '{name}' is not a string literal",
                'write each key as a string literal, e.g. "a"; the artifact\'s value must equal it',
            )
            continue
        if key.value in found:
            problem(key.lineno, f"case '{key.value}' appears twice in step '{name}'", "give each case once")
        target = _step_named(value)
        if target is None:
            problem(
                value.lineno,
                f"case '{key.value}' in step '{name}' does not name a step",
                f'map each key to a step: {{"{key.value}": self.<step>}}',
            )
            continue
        found[key.value] = target
    if len(cases.keys) < 2:
        problem(
            line,
            f"the switch in step '{name}' has {len(cases.keys)} case{'s' if len(cases.keys) != 1 else ''}",
            "a switch needs at least two cases; to always go to one step, use self.next(self.<step>)",
        )
    return tuple(found.items())


def read_switch(
    name: str, call: ast.Call, evaluate: Callable[[ast.expr], Any], problem: Report
) -> tuple[tuple[tuple[str, str], ...], str] | None:
    """(cases, condition) of step ``name``'s switch call, or None when it is too malformed to use."""
    condition = _condition(name, call, evaluate, problem)
    dict_form = len(call.args) == 1 and isinstance(call.args[0], ast.Dict)
    cases = _cases(name, call.lineno, call.args[0], problem) if dict_form else ()  # type: ignore[arg-type]
    if condition is None or not dict_form:
        return None
    return cases, condition
