"""``--with NAME[:ARG=VALUE,...]``: a decorator given on the command line for every step, as in Metaflow.

``flow run flow.py --with retry`` and ``--with retry:times=3,minutes_between_retries=0`` add the decorator to
each step that does not have it already (a step's own decorator wins). Values are read as Metaflow reads them:
JSON first, then a whole number, a number, else the text itself.
"""

from __future__ import annotations

import json
import re

from flowship.compiler.decorators import accepted_decorators, check_step_decorator
from flowship.compiler.parse import ParsedFlow, RawCall
from flowship.errors import FlowshipError

__all__ = ["parse_decospec", "add_decorators"]

_SPEC = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<args>.+))?$")
_ARGUMENT_START = re.compile(r",(?=\s*[A-Za-z_][A-Za-z0-9_]*\s*=)")  # a comma that begins the next NAME=


def _value(text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    for number in (int, float):
        try:
            return number(text)
        except ValueError:
            continue
    return text


def parse_decospec(spec: str) -> RawCall:
    """The decorator ``spec`` names, checked as if it were written on a step; a bad one raises FlowshipError."""
    match = _SPEC.match(spec.strip())
    if not match:
        raise FlowshipError(f"--with {spec!r}: write a decorator name, optionally with arguments: retry:times=3")
    kwargs = {}
    for argument in _ARGUMENT_START.split(match.group("args") or ""):
        if not argument.strip():
            continue
        name, equals, value = argument.partition("=")
        if not equals or not name.strip().isidentifier():
            raise FlowshipError(f"--with {spec!r}: '{argument}' is not NAME=VALUE, e.g. retry:times=3")
        kwargs[name.strip()] = _value(value.strip())
    call = RawCall(match.group("name"), 0, [], kwargs)
    if call.name not in accepted_decorators("step"):
        raise FlowshipError(f"--with {spec!r}: use a step decorator: {', '.join(accepted_decorators('step'))}")
    messages = check_step_decorator(call)
    if messages:
        raise FlowshipError(f"--with {spec!r}: {'; '.join(messages)}")
    return call


def add_decorators(flow: ParsedFlow, calls: tuple[RawCall, ...]) -> None:
    """Give every step each decorator in ``calls`` it does not have; the step's line stands for the option."""
    for step in flow.steps.values():
        present = {d.name for d in step.decorators}
        step.decorators += [RawCall(c.name, step.line, [], dict(c.kwargs)) for c in calls if c.name not in present]
