"""The child process of ``flowship/evaluation.py``: import a flow module and report its arguments as JSON.

Metaflow knows a decorator's or Parameter's arguments because it imports the
flow; flowship reads them from the source, and imports the module only when
some argument is not a literal. That import runs user code, so it happens
here, in a process of its own with a time limit: ``python -m
flowship.evaluation_child RESULT_FILE`` reads the request (JSON) on
stdin and writes the result to RESULT_FILE (stdout belongs to the user's
code). The module is imported under its own name, never as ``__main__``, so
the ``MyFlow()`` at the bottom of a flow file does not run.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import math
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any

from flowship.configs import Config, config_namespace, parse_config_text, resolve_delayed, set_current_values
from flowship.decorators import MARK
from flowship.errors import FlowshipError
from flowship.flowspec import IMPORT_ONLY_VARIABLE
from flowship.parameters import IncludeFile, JSONType, Parameter, ParameterContext

__all__ = ["import_flow_class", "json_safe", "main"]

_PACKAGE = os.path.dirname(os.path.abspath(__file__))
_TYPE_NAMES: dict[Any, str] = {str: "str", int: "int", float: "float", bool: "bool", JSONType: "json"}
# The arguments of a Parameter (and an IncludeFile) made by code, read back from the object ("#0": its name).
_PARAMETER_KEYS = ("#0", "default", "type", "help", "required", "separator", "multiple")
_FILE_KEYS = ("#0", "default", "help", "required", "is_text", "encoding")
_CHECKED_TYPES = (bool, int, float)  # Metaflow checks a deploy-time function's value against these exactly


class _Unrepresentable(FlowshipError):
    """A value that JSON cannot carry back to the parent."""

    fix = "give a string, a number, True/False, None, or a list or dict of those"


class _WrongDefault(FlowshipError):
    """A default function returned what Metaflow would refuse."""

    fix = "return a str (it is converted with the parameter's type), or the exact type given as type="


def json_safe(value: Any, where: str = "the value") -> Any:
    """``value`` as JSON data (tuples become lists), or :class:`_Unrepresentable` naming what is not."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _Unrepresentable(f"{where} is {value!r}, which JSON cannot hold")
        return value
    if isinstance(value, (list, tuple)):
        return [json_safe(v, where) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise _Unrepresentable(f"{where} is a dict with keys that are not strings: {value!r}")
        return {k: json_safe(v, where) for k, v in value.items()}
    if hasattr(value, "to_dict"):  # a ConfigValue
        return json_safe(value.to_dict(), where)
    raise _Unrepresentable(f"{where} is {_short(value)} (a {type(value).__name__}), which JSON cannot hold")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def user_frames(exc: BaseException) -> list[list[Any]]:
    """(file, line, function, text) of the traceback's frames in the user's code, outermost first."""
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if not f.filename.startswith((_PACKAGE, "<frozen"))]
    return [[f.filename, f.lineno or 0, f.name, (f.line or "").strip()] for f in own]


def _failure(exc: BaseException) -> dict[str, Any]:
    text = str(exc) if isinstance(exc, FlowshipError) else f"{type(exc).__name__}: {exc}"
    return {"message": text, "frames": user_frames(exc), "fix": getattr(exc, "fix", "")}


def import_flow_class(path: str, name: str, code_root: str | None) -> Any:
    """Import the flow file as ``python FLOW_FILE`` would (its folder first), with its project importable too.

    Tasks import their flow this same way (``runtime/task.py``), so what an evaluation sees is what a task sees.
    """
    folder, module_name = os.path.split(os.path.abspath(path))
    module_name = module_name[:-3] if module_name.endswith(".py") else module_name
    for place in (code_root, folder):  # the folder ends up first
        if place and place not in sys.path:
            sys.path.insert(0, place)
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[module_name] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return getattr(module, name)


def _class_members(cls: type, kind: type) -> dict[str, Any]:
    """Class attributes of ``kind``, bases first so a subclass's own win."""
    found: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        found.update({k: v for k, v in vars(klass).items() if isinstance(v, kind)})
    return found


def _call_with_context(function: Callable[..., Any], context: ParameterContext, deploy_time: bool) -> Any:
    """Metaflow passes (context, deploy_time) to a function that takes both, else (context)."""
    try:
        takes_two = len(inspect.signature(function).parameters) >= 2
    except (TypeError, ValueError):
        takes_two = False
    return function(context, deploy_time) if takes_two else function(context)


def _config_text(config: Config, given: dict[str, Any], context: ParameterContext) -> str | None:
    """The text a config's value is parsed from: given on the command line, else its default."""
    if config.name in given["files"]:
        return _read(given["files"][config.name], f"configuration file '{{}}' could not be read for '{config.name}'")
    if config.name in given["values"]:
        return str(given["values"][config.name])
    default = config.default if config.default is not None else config.default_value
    if callable(default):
        default = _call_with_context(default, context._replace(parameter_name=config.name), False)
    if default is None:
        return None
    if config.default is not None:
        return _read(str(default), f"default configuration file '{{}}' could not be read for '{config.name}'")
    return json.dumps(default) if isinstance(default, dict) else str(default)


def _read(path: str, message: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        raise FlowshipError(message.format(path)) from None


class _Evaluation:
    def __init__(self, request: dict[str, Any]):
        self.request = request
        self.context = request["context"]
        self.result: dict[str, Any] = {"values": {}, "configs": [], "problems": []}

    def problem(self, item: str, exc: BaseException) -> None:
        self.result["problems"].append({"item": item, **_failure(exc)})

    def run(self) -> dict[str, Any]:
        try:
            cls = import_flow_class(self.request["file"], self.request["flow"], self.request.get("code_root"))
        except BaseException as exc:  # SystemExit too: the import must never end this process silently
            self.result["error"] = _failure(exc)
            return self.result
        configs = self._configs(cls)
        parameters = _class_members(cls, Parameter)
        for item in self.request["items"]:
            try:
                if item["kind"] == "parameter":
                    values = self._parameter(parameters[item["owner"]], item["keys"], configs)
                else:
                    target = vars(cls) if item["kind"] == "flow" else vars(getattr(cls, item["owner"]))
                    given = target.get(MARK, {}).get(item["name"], {})
                    values = {k: resolve_delayed(given[k]) for k in item["keys"] if k in given}
                self.result["values"][item["id"]] = {k: json_safe(v, f"'{k}'") for k, v in values.items()}
            except Exception as exc:
                self.problem(item["id"], exc)
        for attr in self.request.get("discover", []):
            found = getattr(cls, attr, None)
            if isinstance(found, Parameter):
                ident = f"parameter-made-by-code:{attr}"
                try:
                    keys = _FILE_KEYS if isinstance(found, IncludeFile) else _PARAMETER_KEYS
                    given = [k for k in keys if getattr(found, "name" if k == "#0" else k, None) is not None]
                    values = self._parameter(found, given, configs)
                    values["call"] = type(found).__name__
                    self.result["values"][ident] = {k: json_safe(v, f"'{k}'") for k, v in values.items()}
                except Exception as exc:
                    self.problem(ident, exc)
        return self.result

    def _parameter_context(self, configs: dict[str, Any] | None) -> ParameterContext:
        return ParameterContext(
            flow_name=self.request["flow"],
            user_name=self.context["user_name"],
            parameter_name="",
            logger=lambda *args, **kwargs: print(*args, file=sys.stderr),
            ds_type=self.context["ds_type"],
            configs=configs,
        )

    def _configs(self, cls: type) -> dict[str, Any]:
        given = self.request["configs"]
        values: dict[str, tuple[Any, bool]] = {}
        for attr, config in _class_members(cls, Config).items():
            try:
                if config.name in given["resolved"]:
                    value = given["resolved"][config.name]  # fixed when the run started: never parsed again
                else:
                    text = _config_text(config, given, self._parameter_context(None))
                    value = None if text is None else parse_config_text(config, text)
                if value is None and config.required:
                    raise FlowshipError(
                        f"config '{config.name}' is required; give --config {config.name} FILE "
                        f"or --config-value {config.name} JSON"
                    )
                value = json_safe(value, f"config '{config.name}'")
            except Exception as exc:
                self.problem(f"config:{attr}", exc)
                continue
            values[config.name] = (value, config.plain)
            self.result["configs"].append({"name": config.name, "attr": attr, "value": value, "plain": config.plain})
        set_current_values(values)
        return config_namespace(values)

    def _parameter(self, parameter: Parameter, keys: list[str], configs: dict[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for key in keys:
            value = resolve_delayed(getattr(parameter, "name" if key == "#0" else key))
            if key == "type":
                if value not in _TYPE_NAMES:
                    raise FlowshipError(
                        f"type={_short(value)} is not a parameter type; use str, int, float, bool or JSONType"
                    )
                value = _TYPE_NAMES[value]
            if key == "default" and callable(value):
                values.update(self._deploy_time_default(parameter, value, configs))
                continue
            values[key] = value
        return values

    def _deploy_time_default(self, parameter: Parameter, function: Any, configs: dict[str, Any]) -> dict[str, Any]:
        """Metaflow's deploy-time field: call it with the context; check its value as Metaflow does."""
        deploy_time = self.context["deploy_time"]
        context = self._parameter_context(configs)._replace(parameter_name=parameter.name)
        value = _call_with_context(function, context, deploy_time)
        is_file = isinstance(parameter, IncludeFile)
        declared = None if is_file else parameter.type or str
        wrong = f"the value returned by the deploy-time function for parameter '{parameter.name}' field 'default'"
        if declared in _CHECKED_TYPES:
            if type(value) is not declared:
                raise _WrongDefault(f"{wrong} is {_short(value)}: expected a {_TYPE_NAMES[declared]}")
        elif deploy_time and not isinstance(value, str):
            try:
                value = json.dumps(value)
            except TypeError:
                raise _WrongDefault(f"{wrong} is {_short(value)}: expected JSON data or a string") from None
        elif not isinstance(value, str):
            raise _WrongDefault(f"{wrong} is {_short(value)}: expected a string")
        if declared is JSONType:
            try:
                value = json.loads(value)
            except ValueError:
                raise _WrongDefault(f"{wrong} is not valid JSON: {_short(value)}") from None
        return {"default": value} if is_file or parameter.type else {"default": value, "type": "str"}


def main(argv: list[str]) -> int:
    request = json.load(sys.stdin)
    os.environ[IMPORT_ONLY_VARIABLE] = "1"
    result = _Evaluation(request).run()
    with open(argv[0], "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # threads the flow module started must not keep this process alive
