"""Every flow feature a target must honour or report, named once for all targets.

A feature is a value in the IR that changes how a task runs: a decorator
argument, a kind of transition, a parameter setting, a schedule. Each target
says, in its ``SUPPORTS`` table, what it does with every feature listed here
(see ``targets/base.py``); :func:`used_features` finds the ones a flow uses,
with the line that uses them, so an unsupported one is reported at compile
time instead of being dropped. Graph structure (names, edges, nesting) is not
a feature: every target compiles the whole graph, and its tests run every shape.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from flowship.compiler.ir import FlowIR
from flowship.compiler.parse import PARALLEL_ARTIFACT

__all__ = ["Feature", "FEATURES", "UsedFeature", "used_features", "STRUCTURE_FIELDS"]

Scope = Literal["step", "parameter", "flow"]


@dataclass(frozen=True)
class Feature:
    scope: Scope
    path: str  # attribute path from the scope's IR record, e.g. "decorators.resources.gpu"
    spelling: str  # how a user writes it, for messages
    equals: Any = None  # for a field with a few values: used only when it has this one

    @property
    def key(self) -> str:
        return f"{self.scope}.{self.path}" + (f"={self.equals}" if self.equals is not None else "")


def _decorator(path: str, spelling: str) -> Feature:
    return Feature("step", f"decorators.{path}", spelling)


FEATURES: tuple[Feature, ...] = (
    Feature("step", "transition", "a linear step", "linear"),
    Feature("step", "transition", "a branch (self.next(a, b))", "split"),
    Feature("step", "transition", "a foreach (self.next(..., foreach=))", "foreach"),
    Feature("step", "transition", "a switch (self.next({...}, condition=))", "switch"),
    Feature("step", "loops", "a switch that picks its own step again (a loop)", True),
    Feature("step", "foreach_var", "num_parallel= (a gang of @parallel nodes)", PARALLEL_ARTIFACT),
    Feature("step", "transition", "the end step", "end"),
    _decorator("resources.cpu_millicores", "@resources(cpu=)"),
    _decorator("resources.memory_mib", "@resources(memory=)"),
    _decorator("resources.gpu", "@resources(gpu=)"),
    _decorator("resources.disk_mib", "@resources(disk=)"),
    _decorator("retry.times", "@retry(times=)"),
    _decorator("retry.minutes_between_retries", "@retry(minutes_between_retries=)"),
    _decorator("timeout_seconds", "@timeout"),
    _decorator("catch.var", "@catch(var=)"),
    _decorator("catch.print_exception", "@catch(print_exception=)"),
    _decorator("environment", "@environment(vars=)"),
    _decorator("kubernetes", "@kubernetes"),
    _decorator("kubernetes.image", "@kubernetes(image=)"),
    _decorator("kubernetes.namespace", "@kubernetes(namespace=)"),
    _decorator("kubernetes.service_account", "@kubernetes(service_account=)"),
    _decorator("kubernetes.node_selector", "@kubernetes(node_selector=)"),
    _decorator("kubernetes.tolerations", "@kubernetes(tolerations=)"),
    _decorator("secrets", "@secrets"),
    _decorator("cards", "@card"),
    _decorator("python_env.packages", "@pypi(packages=)/@conda(packages=)"),
    _decorator("python_env.python", "@pypi(python=)/@conda(python=)"),
    *(
        Feature("parameter", "type", spelling, kind)
        for kind, spelling in (
            ("str", "a str Parameter"),
            ("int", "an int Parameter"),
            ("float", "a float Parameter"),
            ("bool", "a bool Parameter"),
            ("json", "a JSONType Parameter"),
            ("file", "IncludeFile"),
        )
    ),
    Feature("parameter", "default", "Parameter(default=)"),
    Feature("parameter", "required", "Parameter(required=True)", True),
    Feature("parameter", "help", "Parameter(help=)"),
    Feature("parameter", "is_text", "IncludeFile(is_text=False)"),
    Feature("parameter", "encoding", "IncludeFile(encoding=)"),
    Feature("parameter", "separator", "Parameter(separator=)"),
    Feature("parameter", "multiple", "Parameter(multiple=True)", True),
    Feature("flow", "schedule.cron", "@schedule(cron=)"),
    Feature("flow", "schedule.timezone", "@schedule(timezone=)"),
    *(
        Feature("flow", "schedule.preset", f"@schedule({preset}=True)", preset)
        for preset in ("hourly", "daily", "weekly")
    ),
    Feature("flow", "project.name", "@project(name=)"),
    Feature("flow", "project.gates", "@project(gates=)"),
    Feature("flow", "triggers.events", "@trigger"),
    Feature("flow", "triggers.finishes", "@trigger_on_finish"),
)

# IR fields that are graph structure or identity, not features (see the module docstring).
STRUCTURE_FIELDS = frozenset(
    {
        "flow.name",
        "flow.file",
        "flow.line",
        "flow.steps",
        "flow.parameters",
        "flow.configs",  # resolved values every target hands to the start task (targets/shared.py)
        "flow.evaluated",  # the same, for evaluated arguments
        "flow.schedule",
        "flow.project",
        "flow.triggers",
        "flow.triggers.line",
        "step.name",
        "step.line",
        "step.k8s_name",
        "step.next",
        "step.parents",
        "step.foreach_var",
        "step.is_join",
        "step.join_of",
        "step.split_stack",
        "step.foreach_depth",
        "step.decorators",
        "step.decorators.python_env.decorator",  # which decorator a step's environment came from, for messages
        "step.condition",
        "step.switch_cases",
        "step.conditional",
        "parameter.name",
        "parameter.attr",
        "parameter.line",
    }
)


@dataclass(frozen=True)
class UsedFeature:
    feature: Feature
    value: Any
    line: int
    where: str  # "step 'train'", "parameter 'alpha'", "flow TrainFlow"


def _lookup(record: Any, path: str) -> Any:
    """The value at ``path``, or None where the feature is not used (absent, or left at its default)."""
    value = record
    for name in path.split("."):
        if value is None:
            return None
        default = next((f.default for f in dataclasses.fields(value) if f.name == name), dataclasses.MISSING)
        value = getattr(value, name)
        if default is not dataclasses.MISSING and value == default:
            return None
    if value is None or (isinstance(value, (str, tuple, list, dict)) and not value):
        return None
    return value


def used_features(ir: FlowIR) -> Iterator[UsedFeature]:
    """Each feature the flow uses, where it uses it, in a stable order."""
    scopes: dict[str, list[tuple[Any, int, str]]] = {
        "step": [(s, s.line, f"step '{s.name}'") for s in ir.steps],
        "parameter": [(p, p.line, f"parameter '{p.name}'") for p in ir.parameters],
        "flow": [(ir, ir.line, f"flow {ir.name}")],
    }
    for feature in FEATURES:
        for record, line, where in scopes[feature.scope]:
            value = _lookup(record, feature.path)
            if value is None or (feature.equals is not None and value != feature.equals):
                continue
            yield UsedFeature(feature, value, line, where)
