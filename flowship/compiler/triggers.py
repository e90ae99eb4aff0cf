"""``@trigger`` and ``@trigger_on_finish``: what starts a deployed flow, checked and named once for every target.

Metaflow's forms are accepted as written: ``event="name"``, ``event={"name": ..., "parameters": {...} or
[...]}``, ``events=[...]``; ``flow="Upstream"``, ``flow="project.branch.Upstream"``, ``flow={"name": ...,
"project": ..., "project_branch": ...}``, ``flows=[...]``. A run starts once every listed event (and every
listed upstream flow's finish) has happened. As in Metaflow, an event without a parameter mapping that is the
flow's only event sets each parameter from the payload field of the same name.

The names here are what travels between deployments: a finished run of a deployment named ``N`` (with
``@project``: ``project.branch.Flow``) announces the event ``metaflow.N.end``, Metaflow's name for it, so a
downstream deployed in branch B listens only for upstream runs of branch B unless it names another.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flowship.compiler.ir import EventTriggerIR, FinishTriggerIR, FlowIR, ParameterIR, TriggersIR
from flowship.compiler.parse import NOT_LITERAL, RawCall
from flowship.errors import FlowshipError, Problem

__all__ = [
    "TRIGGER_DECORATORS",
    "normalize_triggers",
    "finish_event_name",
    "upstream_event_names",
    "own_finish_event",
    "event_parameters",
]

TRIGGER_DECORATORS: dict[str, dict[str, Any]] = {
    "trigger": {"event": None, "events": [], "options": {}},
    "trigger_on_finish": {"flow": None, "flows": [], "options": {}},
}
EVENT_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")  # what Argo Events sensors can filter on (Metaflow's rule)
PAYLOAD_FIELD = re.compile(r"^[A-Za-z0-9_]+$")
_FLOW_NAME = re.compile(r"^[A-Za-z0-9_]+$")
_FIX_EVENT = "write event='name' or event={'name': 'name', 'parameters': {'param': 'payload_field'}}"
_FIX_FLOW = (
    "write flow='Upstream', flow='project.branch.Upstream' "
    "or flow={'name': 'Upstream', 'project': 'p', 'project_branch': 'prod'}"
)


class _Invalid(ValueError):
    def __init__(self, message: str, fix: str):
        super().__init__(message)
        self.fix = fix


def _mapping(value: Any, event: str) -> dict[str, str]:
    """``parameters=``: a dict param -> field, or a list of names and (param, field) pairs."""
    if isinstance(value, dict):
        pairs = list(value.items())
    elif isinstance(value, (list, tuple)):
        pairs = [(item, item) if isinstance(item, str) else tuple(item) for item in value]
        if any(len(pair) != 2 for pair in pairs):
            raise _Invalid(
                f"the parameters of event '{event}' must be names or (parameter, payload_field) pairs",
                "write parameters=['alpha', ('beta', 'field')] or parameters={'beta': 'field'}",
            )
    else:
        raise _Invalid(
            f"the parameters of event '{event}' must be a dict or a list, not {type(value).__name__}",
            "write parameters={'parameter': 'payload_field'}",
        )
    mapping: dict[str, str] = {}
    for name, field in pairs:
        if not isinstance(name, str) or not isinstance(field, str):
            raise _Invalid(
                f"the parameters of event '{event}' map names to names; got {name!r}: {field!r}",
                "write parameters={'parameter': 'payload_field'} with strings",
            )
        if not PAYLOAD_FIELD.match(field):
            raise _Invalid(
                f"payload field {field!r} of event '{event}' may hold only letters, digits and '_'",
                "rename the payload field",
            )
        mapping[name] = field
    return mapping


def _event(value: Any) -> EventTriggerIR:
    if isinstance(value, str):
        name, parameters = value, {}
    elif isinstance(value, dict):
        if "name" not in value:
            raise _Invalid("an event given as a dict needs a 'name'", _FIX_EVENT)
        unknown = sorted(set(value) - {"name", "parameters"})
        if unknown:
            raise _Invalid(f"an event has no key {', '.join(map(repr, unknown))}", _FIX_EVENT)
        name = value["name"]
        if not isinstance(name, str):
            raise _Invalid(f"an event's name must be a string, not {name!r}", _FIX_EVENT)
        parameters = _mapping(value.get("parameters", {}), name)
    else:
        raise _Invalid(f"an event is a name or a dict, not {type(value).__name__}", _FIX_EVENT)
    if not EVENT_NAME.match(name):
        raise _Invalid(f"event name {name!r} may hold only letters, digits, '_', '-' and '.'", "rename the event")
    return EventTriggerIR(name, parameters)


def _finish(value: Any) -> FinishTriggerIR:
    project = branch = None
    if isinstance(value, dict):
        if "name" not in value:
            raise _Invalid("an upstream flow given as a dict needs a 'name'", _FIX_FLOW)
        unknown = sorted(set(value) - {"name", "project", "project_branch"})
        if unknown:
            raise _Invalid(f"an upstream flow has no key {', '.join(map(repr, unknown))}", _FIX_FLOW)
        name, project, branch = value["name"], value.get("project"), value.get("project_branch")
        if not all(isinstance(v, (str, type(None))) for v in (project, branch)) or not isinstance(name, str):
            raise _Invalid(f"an upstream flow's name, project and project_branch are strings: {value!r}", _FIX_FLOW)
        if "." in name:
            raise _Invalid(f"upstream flow name {name!r} holds a '.'; give project and project_branch", _FIX_FLOW)
    elif isinstance(value, str):
        name = value
        if value.count(".") == 1:
            raise _Invalid(f"upstream flow {value!r}: give a flow name or project.branch.FlowName", _FIX_FLOW)
        if "." in value:
            project, rest = value.split(".", 1)
            branch, name = rest.rsplit(".", 1)
    else:
        raise _Invalid(f"an upstream flow is a name or a dict, not {type(value).__name__}", _FIX_FLOW)
    if not _FLOW_NAME.match(name):
        raise _Invalid(f"upstream flow name {name!r} may hold only letters, digits and '_'", _FIX_FLOW)
    return FinishTriggerIR(name, project, branch)


def _one_or_many(call: RawCall, one: str, many: str) -> list[Any]:
    args = {**TRIGGER_DECORATORS[call.name], **call.kwargs}
    if call.args or set(call.kwargs) - set(args):
        raise _Invalid(f"@{call.name} takes {one}=, {many}= and options=", f"write @{call.name}({one}=...)")
    if any(v is NOT_LITERAL for v in call.kwargs.values()):
        raise _Invalid(f"@{call.name} arguments must be literal values", "write strings, lists and dicts")
    if args["options"]:
        raise _Invalid(f"@{call.name}(options=) is not supported", "remove options=")
    if args[one] and args[many]:
        raise _Invalid(f"@{call.name} takes {one}= or {many}=, not both", f"list them all in {many}=[...]")
    if not isinstance(args[many], (list, tuple)):
        raise _Invalid(f"@{call.name}({many}=) takes a list", f"write {many}=[...]")
    chosen = [args[one]] if args[one] else list(args[many])
    if not chosen:
        raise _Invalid(f"@{call.name} names nothing to wait for", f"write @{call.name}({one}=...)")
    return chosen


def _check_mappings(events: list[EventTriggerIR], parameters: tuple[ParameterIR, ...]) -> list[EventTriggerIR]:
    names = {p.name for p in parameters}
    seen: set[str] = set()
    for event in events:
        for name in event.parameters:
            if name not in names:
                raise _Invalid(
                    f"event '{event.name}' sets parameter '{name}', which the flow does not have",
                    f"map payload fields to parameters of the flow: {', '.join(sorted(names)) or 'none'}",
                )
            if name in seen:
                raise _Invalid(f"parameter '{name}' is set by more than one event", "map it from one event only")
            seen.add(name)
    if len(events) == 1 and not events[0].parameters:  # Metaflow's rule: the one event sets every parameter
        events = [EventTriggerIR(events[0].name, {p.name: p.name for p in parameters if PAYLOAD_FIELD.match(p.name)})]
    return events


def normalize_triggers(
    calls: list[RawCall], parameters: tuple[ParameterIR, ...], has_project: bool, file: str, problems: list[Problem]
) -> TriggersIR | None:
    """The flow's triggers from its ``@trigger``/``@trigger_on_finish`` calls; problems at their lines."""
    events: list[EventTriggerIR] = []
    finishes: list[FinishTriggerIR] = []
    line = 0
    for call in calls:
        if any(c.name == call.name for c in calls[: calls.index(call)]):
            problems.append(Problem(file, call.line, f"@{call.name} appears twice on a flow", "keep one"))
            continue
        line = line or call.line
        try:
            if call.name == "trigger":
                found = [_event(v) for v in _one_or_many(call, "event", "events")]
                if len({e.name for e in found}) != len(found):
                    raise _Invalid("@trigger lists an event twice", "list each event once")
                events = _check_mappings(found, parameters)
            else:
                finishes = [_finish(v) for v in _one_or_many(call, "flow", "flows")]
                for upstream in finishes:
                    if not has_project and (upstream.project is None) != (upstream.branch is None):
                        raise _Invalid(
                            f"upstream flow '{upstream.flow}' names a project or a branch but not both, and this "
                            "flow has no @project to take the other from",
                            "give both project= and project_branch=, or add @project",
                        )
        except _Invalid as exc:
            problems.append(Problem(file, call.line, f"@{call.name}: {exc}", exc.fix))
    if not events and not finishes:
        return None
    return TriggersIR(line, tuple(events), tuple(finishes))


def finish_event_name(flow: str, project: str | None, branch: str | None) -> str:
    """The event a finished run of ``flow`` deployed in ``project``/``branch`` announces (Metaflow's name)."""
    return ".".join(["metaflow", *(v for v in (project, branch) if v), flow, "end"])


def own_finish_event(ir: FlowIR, deployment_name: str | None) -> str:
    """The event this deployment's finished runs announce: ``metaflow.<deployment name>.end``."""
    return f"metaflow.{deployment_name or ir.name}.end"


def upstream_event_names(ir: FlowIR, project: str | None, branch: str | None) -> list[tuple[str, str]]:
    """(event name, kind) for every trigger, for a deployment in ``project``/``branch``; kind is event or run."""
    if ir.triggers is None:
        return []
    names = [(event.name, "event") for event in ir.triggers.events]
    for upstream in ir.triggers.finishes:
        their_project, their_branch = upstream.project or project, upstream.branch or branch
        if (their_project is None) != (their_branch is None):
            raise FlowshipError(
                f"{ir.file}:{ir.triggers.line}: @trigger_on_finish('{upstream.flow}'): the upstream's project and "
                "branch are not both known — give project= and project_branch=, or deploy this flow with @project"
            )
        names.append((finish_event_name(upstream.flow, their_project, their_branch), "run"))
    return names


def event_parameters(ir: FlowIR, events: list[dict[str, Any]]) -> dict[str, str]:
    """Parameter values (as text) the triggering events' payloads set, by the flow's mapping.

    A payload value that is not a string is given as its JSON text, so a JSON parameter gets the structure."""
    if ir.triggers is None:
        return {}
    values: dict[str, str] = {}
    for trigger in ir.triggers.events:
        for event in events:
            if event.get("name") != trigger.name:
                continue
            payload = event.get("payload") or {}
            for parameter, field in trigger.parameters.items():
                if field in payload and payload[field] is not None:
                    value = payload[field]
                    values[parameter] = value if isinstance(value, str) else json.dumps(value)
    return values
