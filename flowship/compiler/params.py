"""Check flow parameters and turn them into typed :class:`ParameterIR` records.

A parameter's type is given (``type=int``) or inferred from its default, as
in Metaflow. Names must work as a command-line option, an Argo parameter name
and an Airflow params key at once, so they are letters, digits, ``_`` and
``-`` (Metaflow's ``max-depth``), and must not shadow options of ``flow run``
or members of ``FlowSpec``.
"""

from __future__ import annotations

import json
import re
import typing
from typing import Any

from flowship.compiler.ir import ParameterIR, ParameterType
from flowship.compiler.parse import FLOWSPEC_MEMBERS, NOT_LITERAL, RawCall
from flowship.errors import Problem

__all__ = ["RESERVED_PARAMETER_NAMES", "normalize_parameters"]

RESERVED_PARAMETER_NAMES = (
    frozenset(
        {
            "run_id",
            "task_id",
            "tag",
            "tags",
            "max_workers",
            "datastore",
            "namespace",
            "help",
            "params",
            "origin_run_id",
            "retry_count",
            "split_index",
            "step",
            "flow",
        }
    )
    | FLOWSPEC_MEMBERS
)
# Metaflow allows dashes: Parameter("max-depth") is --max-depth, and the step reads the attribute it is bound to.
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_PARAMETER_ARGS = {"name", "default", "type", "help", "required", "show_default", "separator", "multiple"}
_FILE_ARGS = {"name", "default", "help", "required", "is_text", "encoding", "show_default"}
_PY_TYPES = {str: "str", int: "int", float: "float", bool: "bool"}


def _infer_type(default: Any) -> str:
    for py_type, name in _PY_TYPES.items():
        if type(default) is py_type:
            return name
    return "json" if isinstance(default, (list, dict)) else "str"


def _coerce_default(kind: str, default: Any) -> Any:
    """Check that a default fits its declared type; return it as stored in the IR."""
    if default is None:
        return None
    if kind == "json":
        if isinstance(default, str):
            return json.loads(default)  # Metaflow writes JSON defaults as strings
        json.dumps(default)
        return default
    if kind == "float" and type(default) is int:
        return float(default)
    expected = {"str": str, "int": int, "float": float, "bool": bool, "file": str}[kind]
    if type(default) is not expected:
        raise TypeError(f"default {default!r} is not of type {kind}")
    return default


def _one(attr: str, call: RawCall, file: str, problems: list[Problem]) -> ParameterIR | None:
    file = call.file or file

    def fail(message: str, fix: str) -> None:
        problems.append(Problem(file, call.line, message, fix))

    is_file = call.name == "IncludeFile"
    allowed = _FILE_ARGS if is_file else _PARAMETER_ARGS
    kwargs = dict(call.kwargs)
    if call.args:
        kwargs.setdefault("name", call.args[0])
    if len(call.args) > 1:
        fail(
            f"{call.name} '{attr}' has more than one positional argument", "pass everything after the name as keywords"
        )
        return None
    bad = sorted(set(kwargs) - allowed)
    if bad:
        fail(f"{call.name} '{attr}' has unknown argument(s) {', '.join(bad)}", f"use: {', '.join(sorted(allowed))}")
        return None
    if kwargs.get("type") is NOT_LITERAL:
        fail(f"{call.name} '{attr}' has an unsupported type", "use str, int, float, bool or JSONType")
        return None
    non_literal = sorted(k for k, v in kwargs.items() if v is NOT_LITERAL)
    if non_literal:
        fail(
            f"{call.name} '{attr}' argument(s) {', '.join(non_literal)} are not literal values",
            "write a number, string, list or dict; flowship reads parameters without running the file",
        )
        return None
    name = kwargs.get("name", attr)
    if not isinstance(name, str) or not _NAME.match(name):
        fail(f"parameter name {name!r} is invalid", "use letters, digits, '_' and '-', starting with a letter")
        return None
    if name.replace("-", "_") in RESERVED_PARAMETER_NAMES or attr in RESERVED_PARAMETER_NAMES:
        fail(f"parameter name '{name}' is reserved by flowship", "rename the parameter, e.g. 'my_" + name + "'")
        return None
    default, required = kwargs.get("default"), kwargs.get("required", False)
    if not isinstance(required, bool):
        fail(f"parameter '{name}': required must be True or False", "write required=True")
        return None
    if required and default is not None:
        fail(f"parameter '{name}' is required and has a default", "drop required=True or drop the default")
        return None
    multiple = kwargs.get("multiple", False)
    if not isinstance(multiple, bool):
        fail(f"parameter '{name}': multiple must be True or False", "write multiple=True")
        return None
    if multiple:  # as click's multiple options: the default is a list, the type is its items'
        if kwargs.get("separator") is not None:
            fail(f"parameter '{name}': multiple=True and separator= both make a list", "keep one of them")
            return None
        # a single default is a list of one (click would refuse it, but only when the option is not given)
        default = None if default is None else list(default) if isinstance(default, (list, tuple)) else [default]
    item = default[0] if multiple and default else (None if multiple else default)
    kind = "file" if is_file else kwargs.get("type") or _infer_type(item)
    if kind not in ("str", "int", "float", "bool", "json", "file"):
        fail(f"parameter '{name}' has unsupported type {kind!r}", "use str, int, float, bool or JSONType")
        return None
    try:
        if multiple:  # an empty list is a default too (click's empty tuple)
            default = None if default is None else [_coerce_default(kind, v) for v in default]
        else:
            default = _coerce_default(kind, default)
    except (TypeError, ValueError) as exc:
        fail(f"parameter '{name}': {exc}", f"give a default of type {kind}, or change type=")
        return None
    separator = kwargs.get("separator")
    if separator is not None and (kind != "str" or not isinstance(separator, str) or not separator):
        fail(
            f"parameter '{name}': separator= needs a str parameter and a non-empty string",
            "drop separator=, or make the parameter a str (its value is then split into a list)",
        )
        return None
    help_text = kwargs.get("help") or ""
    return ParameterIR(
        name=name,
        attr=attr,
        type=typing.cast(ParameterType, kind),
        default=default,
        required=required,
        help=str(help_text),
        line=call.line,
        is_text=bool(kwargs.get("is_text", True)),
        encoding=str(kwargs.get("encoding", "utf-8")),
        separator=separator,
        multiple=multiple,
    )


def normalize_parameters(
    raw: list[tuple[str, RawCall]], steps: set[str], file: str, problems: list[Problem]
) -> tuple[ParameterIR, ...]:
    result: list[ParameterIR] = []
    seen: dict[str, int] = {}
    for attr, call in raw:
        parameter = _one(attr, call, file, problems)
        if parameter is None:
            continue
        if parameter.name in seen:
            problems.append(
                Problem(
                    call.file or file,
                    call.line,
                    f"parameter name '{parameter.name}' is already used on line {seen[parameter.name]}",
                    "give every parameter its own name",
                )
            )
            continue
        if attr in steps:
            problems.append(
                Problem(
                    call.file or file, call.line, f"parameter '{attr}' has the name of a step", "rename one of them"
                )
            )
            continue
        seen[parameter.name] = call.line
        result.append(parameter)
    return tuple(result)
