"""Parameter values as text and as typed values: the one set of rules every command uses.

A parameter value travels as text (a command-line option, an Argo workflow
parameter, a ``--param=NAME=VALUE`` token of the step command, a run record)
and reaches a step as a typed value. ``flow run``, the start task of a
deployed run, ``flow compile`` (defaults written into manifests), ``flow
trigger`` and ``flow promote`` all convert through this module, so a value
means the same wherever it was typed.

Two levels, as in Metaflow:

- the *declared* value has the parameter's type (``int``, ``float``, ``bool``,
  decoded JSON, or ``str``); ``parse_text`` and ``format_text`` convert it to
  and from text, exactly inverse to each other;
- the *step* value is what ``self.<param>`` holds: the declared value, split
  on ``separator=`` for a separated string parameter (Metaflow's rule: an
  empty value is not split), or the file's content for ``IncludeFile``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from flowship.compiler.ir import ParameterIR, ParameterType
from flowship.errors import ParameterError

__all__ = ["parse_text", "parse_typed", "format_text", "parse_value", "default_text", "resolve_values", "drop_unset"]

_TRUE = {"true", "t", "1", "yes", "y", "on"}
_FALSE = {"false", "f", "0", "no", "n", "off"}


def parse_text(parameter: ParameterIR, text: str) -> Any:
    """The declared value of ``text`` (for IncludeFile: the path), or :class:`ParameterError`."""
    if parameter.multiple:
        return _parse_list(parameter, text)
    kind = parameter.type
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "json":
            return json.loads(text)
    except ValueError as exc:
        raise ParameterError(f"--{parameter.name}: {text!r} is not a valid {kind} ({exc})") from None
    if kind == "bool":
        if text.strip().lower() in _TRUE:
            return True
        if text.strip().lower() in _FALSE:
            return False
        raise ParameterError(f"--{parameter.name}: {text!r} is not a boolean; use true or false")
    return text


def _parse_list(parameter: ParameterIR, text: str) -> list[Any]:
    """A multiple parameter's JSON list; items given as text are read as the parameter's type."""
    try:
        items = json.loads(text)
    except ValueError:
        items = None
    if not isinstance(items, list):
        raise ParameterError(f"--{parameter.name}: {text!r} is not a JSON list (the option was given several times)")
    single = replace(parameter, multiple=False)
    return [parse_text(single, item if isinstance(item, str) else format_text(single, item)) for item in items]


def parse_typed(name: str, kind: ParameterType, text: str) -> Any:
    """:func:`parse_text` for a parameter known only by name and type (as a deployed flow declares it)."""
    return parse_text(ParameterIR(name, name, kind, None, False, "", 0), text)


def format_text(parameter: ParameterIR, value: Any) -> str:
    """The text a user would type for the declared ``value``: ``parse_text(format_text(v)) == v``."""
    if parameter.type == "json" or parameter.multiple:
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    if parameter.type == "bool":
        return "true" if value else "false"
    if parameter.type == "float":
        return repr(float(value))
    return str(value)


def _step_value(parameter: ParameterIR, declared: Any) -> Any:
    if parameter.type == "file" and declared is not None:
        return _read_file(parameter, declared)
    if parameter.multiple:
        return tuple(declared or ())  # what Metaflow's step sees: click's tuple, empty when not given
    if parameter.separator and isinstance(declared, str) and declared:
        return declared.split(parameter.separator)
    return declared


def parse_value(parameter: ParameterIR, text: str) -> Any:
    """What the step sees for ``text``: split on the separator, or the file read, as declared."""
    return _step_value(parameter, parse_text(parameter, text))


def _read_file(parameter: ParameterIR, path: str) -> str | bytes:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise ParameterError(f"--{parameter.name}: cannot read {path!r} ({exc.strerror})") from None
    if not parameter.is_text:
        return data
    try:
        return data.decode(parameter.encoding)
    except UnicodeDecodeError:
        raise ParameterError(
            f"--{parameter.name}: {path!r} is not {parameter.encoding} text; declare is_text=False"
        ) from None


def default_text(parameter: ParameterIR) -> str | None:
    """The default as text; ``""`` for an optional parameter without one (see :func:`drop_unset`), None if required."""
    if parameter.default is None:
        return None if parameter.required else ""
    return format_text(parameter, parameter.default)


def resolve_values(parameters: Sequence[ParameterIR], given: Mapping[str, str]) -> dict[str, Any]:
    """Step values by attribute name: given texts parsed, defaults applied, required enforced."""
    known = {p.name for p in parameters}
    unknown = sorted(set(given) - known)
    if unknown:
        flags = ", ".join("--" + k for k in sorted(known)) or "none"
        raise ParameterError(f"unknown parameter(s) {', '.join('--' + u for u in unknown)}; the flow has {flags}")
    values: dict[str, Any] = {}
    for parameter in parameters:
        if parameter.name in given:
            values[parameter.attr] = parse_value(parameter, given[parameter.name])
        elif parameter.required:
            raise ParameterError(f"--{parameter.name} is required{': ' + parameter.help if parameter.help else ''}")
        else:
            values[parameter.attr] = _step_value(parameter, parameter.default)
    return values


def drop_unset(parameters: Sequence[ParameterIR], given: Mapping[str, str]) -> dict[str, str]:
    """Deployed runs pass every parameter; an empty value for an optional one without default means unset."""
    optional = {p.name for p in parameters if not p.required and p.default is None}
    return {name: value for name, value in given.items() if not (value == "" and name in optional)}
