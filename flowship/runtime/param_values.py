"""Turn parameter values as typed by a user (always text) into typed values, or say what is wrong.

Used twice with the same rules: by ``flow run`` before anything starts, and by
the start task of a deployed run, which receives the values on its argv.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from flowship.compiler.ir import ParameterIR
from flowship.errors import ParameterError

__all__ = ["convert_parameters", "drop_unset"]

_TRUE = {"true", "1", "yes", "y", "on"}
_FALSE = {"false", "0", "no", "n", "off"}


def _convert(parameter: ParameterIR, text: str) -> Any:
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
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ParameterError(f"--{parameter.name}: {text!r} is not a boolean; use true or false")
    if kind == "file":
        return _read_file(parameter, text)
    return text


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
        raise ParameterError(f"--{parameter.name}: {path!r} is not {parameter.encoding} text; declare is_text=False") from None


def convert_parameters(parameters: tuple[ParameterIR, ...], given: Mapping[str, str]) -> dict[str, Any]:
    """Typed values by attribute name: given values converted, defaults applied, required enforced."""
    known = {p.name for p in parameters}
    unknown = sorted(set(given) - known)
    if unknown:
        raise ParameterError(f"unknown parameter(s) {', '.join('--' + u for u in unknown)}; the flow has {', '.join('--' + k for k in sorted(known)) or 'none'}")
    values: dict[str, Any] = {}
    for parameter in parameters:
        if parameter.name in given:
            values[parameter.attr] = _convert(parameter, given[parameter.name])
        elif parameter.required:
            raise ParameterError(f"--{parameter.name} is required{': ' + parameter.help if parameter.help else ''}")
        elif parameter.type == "file" and parameter.default is not None:
            values[parameter.attr] = _read_file(parameter, parameter.default)
        else:
            values[parameter.attr] = parameter.default
    return values


def drop_unset(parameters: tuple[ParameterIR, ...], given: Mapping[str, str]) -> dict[str, str]:
    """Deployed runs pass every parameter; an empty value for an optional one without default means unset."""
    optional = {p.name for p in parameters if not p.required and p.default is None}
    return {name: value for name, value in given.items() if not (value == "" and name in optional)}
