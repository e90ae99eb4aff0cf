"""Arguments that are not literals: import the flow module, as Metaflow does, and read them from it.

The front end reads decorator and Parameter arguments from the source. Real
flows also write ``default=script_path("movies.csv")``, f-strings, functions
as defaults and config values; Metaflow knows those because it imports the
module. When the source has any such argument (or a ``Config``), flowship
imports the module too, in a child process with a time limit
(``import_flow.py``), gets the evaluated arguments back as JSON and puts them
where the literals would have been, so they are checked and normalized the
same way. A flow whose arguments are all literals is never imported.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flowship.compiler.ir import ConfigIR
from flowship.compiler.parse import NOT_LITERAL, ParsedFlow, RawCall
from flowship.errors import FlowshipError, Problem

__all__ = [
    "EvaluationInputs",
    "Evaluation",
    "needs_evaluation",
    "declares_configs",
    "evaluate_flow",
    "config_problems",
    "TIMEOUT_VARIABLE",
]

# Importing a module that loads a large library (torch, tensorflow) from a cold disk takes tens of seconds;
# a module that waits on a network or on input never finishes. A minute allows the first and catches the second.
DEFAULT_TIMEOUT_SECONDS = 60
TIMEOUT_VARIABLE = "FLOWSHIP_EVALUATE_TIMEOUT"
_PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@dataclass(frozen=True)
class EvaluationInputs:
    """What an evaluation depends on besides the source: config values given, and when it happens."""

    config_files: Mapping[str, str] = field(default_factory=dict)  # --config NAME FILE
    config_values: Mapping[str, str] = field(default_factory=dict)  # --config-value NAME JSON
    resolved_configs: Mapping[str, Any] = field(default_factory=dict)  # values a run recorded: used as they are
    deploy_time: bool = False  # compile/deploy: a default function may return any JSON value (Metaflow's rule)
    call_defaults: bool = True  # False in a deployed start task: it is always given the deployment's values
    datastore: str | None = None  # tells a default function the kind of store (ParameterContext.ds_type)


@dataclass
class Evaluation:
    problems: list[Problem] = field(default_factory=list)
    evaluated: list[str] = field(default_factory=list)  # what was evaluated, for `flow check` to say
    configs: tuple[ConfigIR, ...] = ()


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


def declares_configs(flow_file: str) -> bool:
    """Whether the flow in ``flow_file`` declares a Config (read from the source; False when it cannot be read)."""
    import tokenize

    from flowship.compiler.parse import parse_flow_source

    try:
        with tokenize.open(flow_file) as handle:
            return bool(parse_flow_source(handle.read(), flow_file).configs)
    except (OSError, UnicodeDecodeError, SyntaxError):
        return False  # the check that follows says what is wrong with the file


def needs_evaluation(flow: ParsedFlow) -> bool:
    """Whether the flow has an argument only an import can tell, or configs to resolve."""
    return bool(flow.configs) or bool(_items(flow))


def _timeout() -> float:
    text = os.environ.get(TIMEOUT_VARIABLE)
    if not text:
        return DEFAULT_TIMEOUT_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        raise FlowshipError(f"{TIMEOUT_VARIABLE}={text!r}: give a number of seconds") from None
    if seconds <= 0:
        raise FlowshipError(f"{TIMEOUT_VARIABLE}={text!r}: give a positive number of seconds")
    return seconds


def _run_child(request: dict[str, Any], what: str, file: str) -> dict[str, Any]:
    """Run the import in a child process (its own session, so a timeout stops everything it started)."""
    seconds = _timeout()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_PARENT, env.get("PYTHONPATH")) if p)
    with tempfile.TemporaryDirectory(prefix="flowship-evaluate-") as folder:
        result_path = os.path.join(folder, "result.json")
        child = subprocess.Popen(
            [sys.executable, "-m", "flowship.compiler.import_flow", result_path],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,
        )
        try:
            _, stderr = child.communicate(json.dumps(request).encode(), timeout=seconds)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.communicate()
            raise _TimedOut(
                f"importing {file} to evaluate {what} did not finish within {seconds:g} s",
                "keep the module's top level quick (do the work in steps), or allow more time: "
                f"{TIMEOUT_VARIABLE}=SECONDS (default {DEFAULT_TIMEOUT_SECONDS})",
            ) from None
        try:
            with open(result_path, encoding="utf-8") as handle:
                return json.load(handle)
        except (OSError, ValueError):
            tail = stderr.decode("utf-8", "replace").strip().splitlines()[-5:]
            raise _TimedOut(
                f"importing {file} to evaluate {what} ended the process (exit code {child.returncode})",
                "what it printed last: " + " | ".join(tail)
                if tail
                else "run `python -c 'import ...'` on it to see why",
            ) from None


class _TimedOut(Exception):
    """The child did not answer: (message, fix)."""


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


def _config_inputs(flow: ParsedFlow, inputs: EvaluationInputs, problems: list[Problem]) -> dict[str, Any]:
    """The config values given, checked against the flow's configs."""
    names = {call.kwargs.get("name", call.args[0] if call.args else attr) for attr, call in flow.configs}
    given = {**inputs.config_files, **inputs.config_values, **inputs.resolved_configs}
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
    return {
        "files": {k: os.path.abspath(v) for k, v in inputs.config_files.items()},
        "values": dict(inputs.config_values),
        "resolved": dict(inputs.resolved_configs),
    }


def evaluate_flow(flow: ParsedFlow, inputs: EvaluationInputs, code_root: str | None = None) -> Evaluation:
    """Import the module in a child process and put the evaluated arguments into ``flow``'s calls."""
    from flowship.runtime.runs import current_user

    evaluation = Evaluation()
    items = _items(flow)
    what = ", ".join([label for _, _, _, label in items] + [f"config '{attr}'" for attr, _ in flow.configs])
    datastore = inputs.datastore or os.environ.get("FLOWSHIP_DATASTORE") or ""
    request = {
        "file": os.path.abspath(flow.file),
        "flow": flow.name,
        "code_root": code_root,
        "items": [item for _, item, _, _ in items],
        "configs": _config_inputs(flow, inputs, evaluation.problems),
        "context": {
            "user_name": current_user(),
            "ds_type": "s3" if datastore.startswith("s3://") else "local",
            "deploy_time": inputs.deploy_time,
            "call_defaults": inputs.call_defaults,
        },
    }
    try:
        result = _run_child(request, what, flow.file)
    except _TimedOut as exc:
        evaluation.problems.append(Problem(flow.file, flow.line, *exc.args))
        result = {"values": {}, "configs": [], "problems": []}
    if "error" in result:
        evaluation.problems.append(
            _failure_problem(flow.file, flow.line, f"importing {flow.file} to evaluate {what} failed", result["error"])
        )
    failed = {p["item"]: p for p in result["problems"]}
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
    for ident, failure in failed.items():
        label = next((lbl for i, _, _, lbl in items if i == ident), ident.replace("config:", "config "))
        evaluation.problems.append(
            _failure_problem(flow.file, lines.get(ident, flow.line), f"evaluating {label}", failure)
        )
    evaluation.configs = tuple(ConfigIR(c["name"], c["attr"], c["value"], c["plain"]) for c in result["configs"])
    evaluation.evaluated += [f"config '{c.name}'" for c in evaluation.configs]
    return evaluation


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


# Metaflow's ways to rewrite a flow's steps and decorators from code; flowship reads both from the source.
_MUTATORS = frozenset({"FlowMutator", "StepMutator", "UserStepDecorator", "CustomFlowDecorator", "CustomStepDecorator"})


def config_problems(flow: ParsedFlow, source: str) -> list[Problem]:
    """What flowship refuses about configs before anything is imported: mutators, Metaflow's own parsers, clashes."""
    import ast

    problems = []
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []  # the parser reported it
    for node in ast.walk(tree):
        name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None
        if name in _MUTATORS or name == "user_step_decorator":
            problems.append(
                Problem(
                    flow.file,
                    node.lineno,  # type: ignore[attr-defined]
                    f"{name} is not supported: flowship reads the steps and decorators from the source, "
                    "so code cannot rewrite them",
                    "write the decorators on the steps; use config values in their arguments (config_expr)",
                )
            )
            break
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
