"""Arguments that are not literals: what to ask an import of the flow module, and how its answer is used.

The front end reads decorator and Parameter arguments from the source. Real
flows also write ``default=script_path("movies.csv")``, f-strings, functions
as defaults and config values; Metaflow knows those because it imports the
module. When the source has any such argument (or a ``Config``), flowship
imports the module too (``flowship/evaluation.py`` runs the import in a child
process with a time limit), gets the evaluated arguments back as JSON and
puts them here where the literals would have been, so they are checked and
normalized the same way. A flow whose arguments are all literals is never
imported. This module stays pure: it builds the request and applies the answer.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flowship.compiler.ir import ConfigIR, FlowIR
from flowship.compiler.parse import NOT_LITERAL, ParsedFlow, RawCall
from flowship.errors import Problem

__all__ = [
    "EvaluationInputs",
    "Evaluation",
    "needs_evaluation",
    "described",
    "evaluation_request",
    "apply_result",
    "deployed_answer",
    "skip_evaluation",
    "config_problems",
]


@dataclass(frozen=True)
class EvaluationInputs:
    """What an evaluation depends on besides the source: config values given, and when it happens."""

    config_files: Mapping[str, str] = field(default_factory=dict)  # --config NAME FILE
    config_values: Mapping[str, str] = field(default_factory=dict)  # --config-value NAME JSON
    resolved_configs: Mapping[str, Any] = field(default_factory=dict)  # values a run recorded: used as they are
    # A deployment's own evaluation (FlowIR.evaluated and configs, see deployed_answer): used instead of an import.
    answer: Mapping[str, Any] | None = None
    deploy_time: bool = False  # compile/deploy: a default function may return any JSON value (Metaflow's rule)
    datastore: str | None = None  # tells a default function the kind of store (ParameterContext.ds_type)


@dataclass
class Evaluation:
    problems: list[Problem] = field(default_factory=list)
    evaluated: list[str] = field(default_factory=list)  # what was evaluated, for `flow check` to say
    configs: tuple[ConfigIR, ...] = ()
    values: dict[str, dict[str, Any]] = field(default_factory=dict)  # the answer, by call (FlowIR.evaluated)


def deployed_answer(ir: FlowIR) -> dict[str, Any]:
    """What a deployment's start task is given so that it evaluates nothing again (EvaluationInputs.answer)."""
    configs = [{"name": c.name, "attr": c.attr, "value": c.value, "plain": c.plain} for c in ir.configs]
    return {"values": {k: dict(v) for k, v in ir.evaluated.items()}, "configs": configs, "problems": []}


def _items(flow: ParsedFlow) -> list[tuple[str, dict[str, Any], RawCall, str]]:
    """(id, request item, call, how a person names it) for every call with an argument that is not a literal."""
    found: list[tuple[str, dict[str, Any], RawCall, str]] = []
    for step in flow.steps.values():
        for call in step.decorators:
            item = {"kind": "step", "owner": step.name, "name": call.name}
            found.append((f"step:{step.name}:{call.name}", item, call, f"@{call.name} of step '{step.name}'"))
    for call in flow.flow_decorators:
        found.append((f"flow:{call.name}", {"kind": "flow", "owner": "", "name": call.name}, call, f"@{call.name}"))
    for attr, call in flow.parameters:
        found.append(
            (
                f"parameter:{attr}",
                {"kind": "parameter", "owner": attr, "name": call.name},
                call,
                f"{call.name} '{attr}'",
            )
        )
    return [
        (ident, {**item, "id": ident, "keys": sorted(call.unevaluated)}, call, label)
        for ident, item, call, label in found
        if call.unevaluated
    ]


def needs_evaluation(flow: ParsedFlow) -> bool:
    """Whether the flow has an argument only an import can tell, configs to resolve, or attributes to look at."""
    return bool(flow.configs) or bool(_items(flow)) or bool(flow.computed)


def _frames_text(frames: list[list[Any]]) -> str:
    return "; ".join(
        f"{os.path.relpath(f)}:{line} in {name}" + (f": {text}" if text else "") for f, line, name, text in frames
    )


def _failure_problem(file: str, line: int, what: str, failure: dict[str, Any]) -> Problem:
    """A failure in the user's code, at the innermost frame in the flow file, with the user's frames."""
    frames = failure.get("frames") or []
    in_flow = [f for f in frames if os.path.abspath(f[0]) == os.path.abspath(file)]
    where = in_flow[-1][1] if in_flow else line
    message = f"{what}: {failure['message']}"
    if frames:
        message += f" (traceback, innermost last: {_frames_text(frames)})"
    fix = failure.get("fix") or "fix the code; flowship imports the module as a task would, without running the flow"
    return Problem(file, where, message, fix)


def _given_config_problems(flow: ParsedFlow, inputs: EvaluationInputs) -> list[Problem]:
    """The config values given, checked against the flow's configs."""
    names = {call.kwargs.get("name", call.args[0] if call.args else attr) for attr, call in flow.configs}
    given = {**inputs.config_files, **inputs.config_values, **inputs.resolved_configs}
    problems = []
    for name in sorted(set(given) - names):
        problems.append(
            Problem(
                flow.file,
                flow.line,
                f"--config {name}: the flow has no config '{name}'",
                f"its configs: {', '.join(sorted(map(str, names)))}" if names else "declare one: x = Config('x', ...)",
            )
        )
    for name in sorted(set(inputs.config_files) & set(inputs.config_values)):
        problems.append(
            Problem(flow.file, flow.line, f"config '{name}' is given both as a file and as a value", "give one")
        )
    return problems


def described(flow: ParsedFlow) -> str:
    """What an import of the flow's module evaluates, as a person names it."""
    return ", ".join([label for _, _, _, label in _items(flow)] + [f"config '{attr}'" for attr, _ in flow.configs])


def evaluation_request(
    flow: ParsedFlow, inputs: EvaluationInputs, *, user_name: str, code_root: str | None
) -> dict[str, Any]:
    """What the child process that imports the module is asked (JSON data; see ``flowship/evaluation_child.py``)."""
    datastore = inputs.datastore or ""
    return {
        "file": os.path.abspath(flow.file),
        "flow": flow.name,
        "code_root": code_root,
        "items": [item for _, item, _, _ in _items(flow)],
        "discover": sorted(flow.computed),
        "configs": {
            "files": {k: os.path.abspath(v) for k, v in inputs.config_files.items()},
            "values": dict(inputs.config_values),
            "resolved": dict(inputs.resolved_configs),
        },
        "context": {
            "user_name": user_name,
            "ds_type": "s3" if datastore.startswith("s3://") else "local",
            "deploy_time": inputs.deploy_time,
        },
    }


def apply_result(
    flow: ParsedFlow, inputs: EvaluationInputs, result: dict[str, Any] | None, no_answer: tuple[str, str] | None
) -> Evaluation:
    """Put the child's values into ``flow``'s calls; its failures (or ``no_answer``: message, fix) become problems."""
    evaluation = Evaluation(_given_config_problems(flow, inputs))
    items = _items(flow)
    what = described(flow)
    if no_answer is not None:
        evaluation.problems.append(Problem(flow.file, flow.line, *no_answer))
    result = result or {"values": {}, "configs": [], "problems": []}
    if "error" in result and (items or flow.configs):
        evaluation.problems.append(
            _failure_problem(flow.file, flow.line, f"importing {flow.file} to evaluate {what} failed", result["error"])
        )
    elif "error" in result:  # only to look at computed attributes: the flow may well have no Parameter among them
        failed = _failure_problem(flow.file, flow.line, f"importing {flow.file} failed", result["error"])
        evaluation.problems.append(
            Problem(
                failed.file,
                failed.line,
                f"{failed.message}; so flow check cannot tell whether {', '.join(sorted(flow.computed))} "
                "(computed at class level) are Parameters — if one is, the run stops in its start task",
                failed.fix,
                "warning",
            )
        )
    lines = {f"config:{attr}": call.line for attr, call in flow.configs}
    for ident, item, call, label in items:
        values = result["values"].get(ident, {})
        for key in item["keys"]:
            if key in values:
                evaluation.evaluated.append(
                    f"{label} {_argument(key)}={_short(call.unevaluated[key])} (line {call.line})"
                )
        _merge(call, values)
        lines[ident] = call.line
    for failure in result["problems"]:
        ident = failure["item"]
        label = next((lbl for i, _, _, lbl in items if i == ident), ident.replace("config:", "config "))
        evaluation.problems.append(
            _failure_problem(flow.file, lines.get(ident, flow.line), f"evaluating {label}", failure)
        )
    for ident, found in result["values"].items():  # Parameters a call made: declared as if written out
        if ident.startswith(_DISCOVERED):
            attr, kwargs = ident[len(_DISCOVERED) :], dict(found)
            call = RawCall(kwargs.pop("call"), flow.computed.get(attr, flow.line), [kwargs.pop("#0")], kwargs)
            flow.parameters.append((attr, call))
            evaluation.evaluated.append(f"{call.name} '{attr}' made by code (line {call.line})")
    evaluation.values = dict(result["values"])
    evaluation.configs = tuple(ConfigIR(c["name"], c["attr"], c["value"], c["plain"]) for c in result["configs"])
    evaluation.evaluated += [f"config '{c.name}'" for c in evaluation.configs]
    return evaluation


_DISCOVERED = "parameter-made-by-code:"  # how the child names a Parameter it found among computed attributes


def skip_evaluation(flow: ParsedFlow) -> None:
    """Leave out the arguments an import would have evaluated (it is not tried: a problem says why)."""
    for _, _, call, _ in _items(flow):
        _merge(call, {})


def _argument(key: str) -> str:
    return "name" if key == "#0" else key


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."


def _merge(call: RawCall, values: Mapping[str, Any]) -> None:
    """Evaluated values where the literals would be; an argument that failed is left out (its problem says why)."""
    for key in list(call.unevaluated):
        if key == "#0":
            if "#0" in values:
                call.args[0] = values["#0"]
        elif key in values:
            call.kwargs[key] = values[key]
        elif call.kwargs.get(key) is NOT_LITERAL:
            del call.kwargs[key]
    for key, value in values.items():  # what the evaluation adds: a default function's type is str (Metaflow)
        if key not in call.unevaluated and key not in call.kwargs:
            call.kwargs[key] = value


def config_problems(flow: ParsedFlow, source: str) -> list[Problem]:
    """What flowship refuses about configs before anything is imported: Metaflow's own parsers, ``**``, clashes.

    Mutators and custom decorators are names flowship does not give: the import check reports them.
    """
    import ast

    problems = []
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []  # the parser reported it
    for node in ast.walk(tree):
        decorators = node.decorator_list if isinstance(node, (ast.ClassDef, ast.FunctionDef)) else []
        for decorator in decorators:
            if isinstance(decorator, ast.Call) and any(k.arg is None for k in decorator.keywords):
                problems.append(
                    Problem(
                        flow.file,
                        decorator.lineno,
                        "`**` in decorator arguments is not supported (flowship reads each argument by its name)",
                        "write each argument, e.g. @resources(cpu=config.cpu, memory=config.memory)",
                    )
                )
    parameters = {call.kwargs.get("name", call.args[0] if call.args else attr) for attr, call in flow.parameters}
    seen: set[Any] = set()
    for attr, call in flow.configs:
        name = call.kwargs.get("name", call.args[0] if call.args else NOT_LITERAL)
        parser = call.kwargs.get("parser")
        if name is NOT_LITERAL or not isinstance(name, str):
            problems.append(
                Problem(
                    flow.file, call.line, f"config '{attr}': its name is not a string", "e.g. Config('config', ...)"
                )
            )
        elif name in parameters or name in seen:
            problems.append(
                Problem(
                    flow.file,
                    call.line,
                    f"config name '{name}' is used twice",
                    "give every config and parameter its own name",
                )
            )
        if isinstance(parser, str) and parser.startswith("."):
            problems.append(
                Problem(
                    flow.file,
                    call.line,
                    f"config '{attr}': parser {parser!r} names one of Metaflow's own parsers; flowship has none",
                    "give a function, or 'module.function' of your own",
                )
            )
        seen.add(name)
    for attr, call in flow.parameters if flow.configs else ():
        if call.kwargs.get("name", call.args[0] if call.args else attr) == "config":
            problems.append(
                Problem(
                    flow.file,
                    call.line,
                    "parameter 'config' has the name of the --config option a flow with configs takes",
                    "rename the parameter, e.g. Parameter('config_name', ...)",
                )
            )
    return problems
