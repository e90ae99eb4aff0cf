"""The intermediate representation every target and the runtime read.

The IR is the single description of a flow once it has been parsed and
checked: frozen, typed dataclasses holding everything a target needs and
nothing about any one target. It serializes to deterministic JSON (field order
as declared, steps in a stable topological order) and reads back to an equal
object, so it can be cached, diffed and shipped.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "Resources",
    "Retry",
    "Catch",
    "Kubernetes",
    "Card",
    "PythonEnv",
    "StepDecorators",
    "StepIR",
    "ParameterIR",
    "ScheduleIR",
    "ProjectIR",
    "ConfigIR",
    "EventTriggerIR",
    "FinishTriggerIR",
    "TriggersIR",
    "FlowIR",
    "Transition",
    "ParameterType",
]

Transition = Literal["linear", "split", "foreach", "switch", "end"]
ParameterType = Literal["str", "int", "float", "bool", "json", "file"]


@dataclass(frozen=True)
class Resources:
    """Requested compute; cpu in millicores, memory and disk in MiB."""

    cpu_millicores: int
    memory_mib: int
    gpu: int = 0
    disk_mib: int | None = None


@dataclass(frozen=True)
class Retry:
    times: int
    minutes_between_retries: float


@dataclass(frozen=True)
class Catch:
    var: str | None
    print_exception: bool


@dataclass(frozen=True)
class Kubernetes:
    image: str | None = None
    namespace: str | None = None
    service_account: str | None = None
    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class Card:
    """One ``@card`` on a step: the task renders it after the step body (``flowship/cards/``)."""

    type: str  # default, blank or html
    id: str | None
    options: Mapping[str, Any] = field(default_factory=dict)
    timeout: int = 45
    save_errors: bool = True
    refresh_interval: int = 5
    customize: bool = False


@dataclass(frozen=True)
class PythonEnv:
    """@pypi or @conda merged with @pypi_base/@conda_base: the packages of the step's own Python environment."""

    packages: Mapping[str, str]  # PyPI name -> requirement ("six==1.16.0"), conda names already mapped; sorted
    python: str | None = None  # a version ("3.11", "3.11.4"); None: the run's interpreter, or the image's
    decorator: str = "pypi"  # "pypi" or "conda": which decorator it comes from, for messages


@dataclass(frozen=True)
class StepDecorators:
    """Normalized step decorators; ``None`` or empty means the decorator is absent."""

    resources: Resources | None = None
    retry: Retry | None = None
    timeout_seconds: int | None = None
    catch: Catch | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    kubernetes: Kubernetes | None = None
    secrets: tuple[str, ...] = ()
    cards: tuple[Card, ...] = ()
    python_env: PythonEnv | None = None  # None: the step runs in the interpreter that runs its task


@dataclass(frozen=True)
class StepIR:
    """One step: how it is reached, where it goes, and how it runs."""

    name: str
    line: int
    k8s_name: str
    transition: Transition
    next: tuple[str, ...]
    parents: tuple[str, ...]
    foreach_var: str | None
    is_join: bool
    join_of: str | None
    split_stack: tuple[str, ...]
    foreach_depth: int
    decorators: StepDecorators
    # a switch: the artifact whose value picks the next step, and each value's step, in written order
    condition: str | None = None
    switch_cases: Mapping[str, str] = field(default_factory=dict)
    # runs only when switches pick it (or a step after it), so a scheduler must be able to skip it
    conditional: bool = False

    @property
    def loops(self) -> bool:
        """A switch that may pick its own step again: each repetition is a task of its own."""
        return self.transition == "switch" and self.name in self.next

    @property
    def kind(self) -> str:
        """start, end, join, split, foreach, switch or linear: the word a person would use."""
        if self.name in ("start", "end"):
            return self.name
        if self.is_join:
            return "join"
        return self.transition


@dataclass(frozen=True)
class ParameterIR:
    name: str
    attr: str
    type: ParameterType
    default: Any
    required: bool
    help: str
    line: int
    is_text: bool = True
    encoding: str = "utf-8"
    separator: str | None = None  # a str parameter whose value a step sees split into a list
    multiple: bool = False  # given any number of times: a list of values of ``type``, a tuple in the step

    @property
    def text_type(self) -> ParameterType:
        """How the value travels as text: a multiple parameter's list is JSON."""
        return "json" if self.multiple else self.type


@dataclass(frozen=True)
class ScheduleIR:
    cron: str
    timezone: str | None
    preset: Literal["hourly", "daily", "weekly"] | None


@dataclass(frozen=True)
class ProjectIR:
    name: str
    # in-flow promotion gates: the end task of a production run promotes it only when all pass (runtime/gates.py)
    gates: tuple[str, ...] = ()


@dataclass(frozen=True)
class EventTriggerIR:
    """``@trigger``: an event the flow waits for, and which payload field sets which parameter."""

    name: str
    parameters: Mapping[str, str] = field(default_factory=dict)  # parameter name -> payload field


@dataclass(frozen=True)
class FinishTriggerIR:
    """``@trigger_on_finish``: an upstream flow whose successful runs start this one.

    ``project``/``branch`` None: the deployment's own (as Metaflow, the upstream is looked for in the namespace
    this flow is deployed in)."""

    flow: str
    project: str | None = None
    branch: str | None = None


@dataclass(frozen=True)
class TriggersIR:
    """What starts a deployed run besides a person or a schedule: every one of these must have happened."""

    line: int
    events: tuple[EventTriggerIR, ...] = ()
    finishes: tuple[FinishTriggerIR, ...] = ()


@dataclass(frozen=True)
class ConfigIR:
    """A config's value, fixed when the run started or the flow was deployed; every task sees this value."""

    name: str
    attr: str
    value: Any  # JSON data: an object, or anything with plain=True; None when not given and not required
    plain: bool = False


@dataclass(frozen=True)
class FlowIR:
    name: str
    file: str
    line: int
    steps: tuple[StepIR, ...]
    parameters: tuple[ParameterIR, ...]
    schedule: ScheduleIR | None
    project: ProjectIR | None
    configs: tuple[ConfigIR, ...] = ()
    # What importing the module evaluated (arguments that are not literals), by call: a deployment hands it to
    # its start task, which then uses exactly these values instead of evaluating the module again.
    evaluated: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    triggers: TriggersIR | None = None  # @trigger / @trigger_on_finish

    def step(self, name: str) -> StepIR:
        for candidate in self.steps:
            if candidate.name == name:
                return candidate
        raise KeyError(name)

    def joins_foreach(self, step: StepIR) -> bool:
        """Whether ``step`` is the join of a foreach (its task id is its inputs' parent id)."""
        return step.join_of is not None and self.step(step.join_of).transition == "foreach"

    def to_dict(self) -> dict[str, Any]:
        return _to_plain(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> FlowIR:
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FlowIR:
        return _from_plain(cls, data)


def _to_plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_to_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _to_plain(v) for k, v in value.items()}
    return value


def _from_plain(tp: Any, value: Any) -> Any:
    """Rebuild a typed value from JSON data, guided by the dataclass annotations."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        (inner,) = [a for a in typing.get_args(tp) if a is not type(None)]
        return _from_plain(inner, value)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        # A field missing from older data (a run recorded before the field existed) takes its default.
        fields = [f for f in dataclasses.fields(tp) if f.name in value]
        return tp(**{f.name: _from_plain(hints[f.name], value[f.name]) for f in fields})
    if origin is tuple:
        (inner, _ellipsis) = typing.get_args(tp)
        return tuple(_from_plain(inner, v) for v in value)
    if origin in (Mapping, dict, typing.Mapping):
        _, inner = typing.get_args(tp)
        return {k: _from_plain(inner, v) for k, v in value.items()}
    return value
