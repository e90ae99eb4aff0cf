"""A test-only Argo Events Sensor: given events, which Workflows its k8s trigger creates, as argo-events does.

Modelled on argo-events' source (github.com/argoproj/argo-events, pkg/sensors):

- An event from a webhook EventSource carries ``{"header": ..., "body": <the JSON posted>}`` as its data.
- ``dependencies/filter.go`` ``filterData``: each data filter's ``path`` (gjson) must exist; a ``string``
  filter matches when one of its values, a Go regexp, is found in the value's text (unanchored, as
  ``regexp.Match``); every filter must match (the default ``and``).
- Without ``conditions``, the trigger fires once every dependency has a matching event; the events are then
  used up.
- ``triggers/params.go`` ``ResolveParamValue``: a ``dataTemplate`` is executed (Go text/template with sprig)
  over the event data; an empty output (or ``<no value>``) or an error falls back to ``dataKey`` (gjson),
  then to ``value``; ``ApplyParams`` sets the text at ``dest`` (sjson; ``operation`` overwrite, append or
  prepend).

The template language is modelled for what flowship's Sensors use: text, ``{{ if PIPELINE }}...{{ end }}``,
pipelines of ``.Input.a.b`` field paths, string literals and the sprig functions ``get``, ``hasKey``,
``toJson`` (Go's json.Marshal: sorted keys, HTML characters escaped, numbers as gjson's float64) and
``b64enc``. Anything else raises, so a Sensor using more fails here instead of passing untested.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any

_ACTION = re.compile(r"{{-?\s*(.*?)\s*-?}}", re.S)


class SensorModelError(AssertionError):
    pass


def gjson_get(data: Any, path: str) -> tuple[bool, Any]:
    """(exists, value) at a dotted gjson path (keys, or list indexes)."""
    value = data
    for key in path.split("."):
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return False, None
    return True, value


def _float64(value: Any) -> Any:
    """What gjson's ``Value()`` gives Go: every JSON number is a float64."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, list):
        return [_float64(v) for v in value]
    return {k: _float64(v) for k, v in value.items()}


def go_json(value: Any) -> str:
    """Go's json.Marshal of what gjson gave: map keys sorted, <, > and & escaped, floats in their shortest form."""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{go_json(k)}:{go_json(value[k])}" for k in sorted(value)) + "}"
    if isinstance(value, list):
        return "[" + ",".join(go_json(v) for v in value) + "]"
    text = json.dumps(value, ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                          ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text


def _argument(token: str, scope: dict[str, Any]) -> Any:
    if token.startswith('"') and token.endswith('"'):
        return json.loads(token)
    if token.startswith("."):
        found, value = gjson_get(scope, token[1:])
        if not found:
            raise SensorModelError(f"<no value> for {token}")
        return value
    raise SensorModelError(f"template argument {token!r} is not modelled")


def _call(name: str, args: list[Any]) -> Any:
    if name == "get":
        mapping, key = args
        return mapping.get(key, "") if isinstance(mapping, dict) else ""
    if name == "hasKey":
        mapping, key = args
        return isinstance(mapping, dict) and key in mapping
    if name == "toJson":
        (value,) = args
        return go_json(value)
    if name == "b64enc":
        (value,) = args
        return base64.b64encode(str(value).encode()).decode()
    raise SensorModelError(f"template function {name!r} is not modelled")


def _pipeline(text: str, scope: dict[str, Any]) -> Any:
    value: Any = None
    for index, command in enumerate(part.strip() for part in text.split("|")):
        tokens = re.findall(r'"(?:[^"\\]|\\.)*"|\S+', command)
        if len(tokens) == 1 and not tokens[0][0].isalpha():
            value = _argument(tokens[0], scope)
            continue
        args = [_argument(t, scope) for t in tokens[1:]] + ([value] if index else [])
        value = _call(tokens[0], args)
    return value


def execute_template(template: str, data: Any) -> str:
    """Go text/template over ``{"Input": data}`` for the constructs listed in the module docstring."""
    scope = {"Input": _float64(data)}
    out: list[str] = []
    stack: list[bool] = []  # whether each enclosing `if` is taken
    position = 0
    for match in _ACTION.finditer(template):
        if all(stack):
            out.append(template[position:match.start()])
        position = match.end()
        action = match.group(1)
        if action.startswith("if "):
            stack.append(all(stack) and bool(_pipeline(action[3:], scope)))
        elif action == "end":
            stack.pop()
        elif all(stack):
            out.append(str(_pipeline(action, scope)))
    out.append(template[position:])
    return "".join(out)


def _set(document: dict[str, Any], dest: str, value: str, operation: str | None) -> None:
    keys = dest.split(".")
    target: Any = document
    for key in keys[:-1]:
        target = target[int(key)] if isinstance(target, list) else target.setdefault(key, {})
    last: Any = int(keys[-1]) if isinstance(target, list) else keys[-1]
    current = target[last] if (isinstance(target, list) or last in target) else None
    if operation == "append" and current is not None:
        value = str(current) + value
    elif operation == "prepend" and current is not None:
        value = value + str(current)
    elif operation not in (None, "", "overwrite", "append", "prepend"):
        raise SensorModelError(f"unsupported trigger parameter operation: {operation}")
    target[last] = value


def _resolve(source: dict[str, Any], data: Any) -> str | None:
    if source.get("dataTemplate"):
        try:
            out = execute_template(source["dataTemplate"], data)
            if out not in ("", "<no value>"):
                return out
        except SensorModelError:
            pass  # params.go: "failed to execute the src event template, falling back to key or value"
    if source.get("dataKey"):
        found, value = gjson_get(data, source["dataKey"])
        if found:
            return value if isinstance(value, str) else json.dumps(value)
    if "value" in source:
        return source["value"]
    raise SensorModelError(f"unable to resolve '{source['dependencyName']}' parameter value")


@dataclass
class SensorModel:
    document: dict[str, Any]
    pending: dict[str, Any] = field(default_factory=dict)  # dependency -> the event data it holds

    def matches(self, dependency: dict[str, Any], data: Any) -> bool:
        for data_filter in dependency.get("filters", {}).get("data", []):
            found, value = gjson_get(data, data_filter["path"])
            if not found or data_filter["type"] != "string":
                return False
            text = value if isinstance(value, str) else json.dumps(value)
            if not any(re.search(pattern, text) for pattern in data_filter["value"]):
                return False
        return True

    def receive(self, source: str, event: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        """The Workflows created when the EventSource ``source`` delivers ``body`` as its event ``event``."""
        data = {"header": {}, "body": body}
        spec = self.document["spec"]
        for dependency in spec["dependencies"]:
            same_source = (dependency["eventSourceName"], dependency["eventName"]) == (source, event)
            if same_source and self.matches(dependency, data):
                self.pending[dependency["name"]] = data
        if set(self.pending) != {d["name"] for d in spec["dependencies"]}:
            return []
        created = []
        for trigger in spec["triggers"]:
            k8s = trigger["template"]["k8s"]
            resource = copy.deepcopy(k8s["source"]["resource"])
            for parameter in k8s.get("parameters", []):
                src = parameter["src"]
                value = _resolve(src, self.pending[src["dependencyName"]])
                if value is not None:
                    _set(resource, parameter["dest"], value, parameter.get("operation"))
            created.append(resource)
        self.pending = {}
        return created
