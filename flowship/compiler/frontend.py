"""The compiler front end: flow source text in, checked IR and every problem out.

Pure: no file, network or clock is touched (modules a flow's base classes
come from are read through a function the caller gives), so the same source
always gives the same result. Stages: parse (AST) -> graph (networkx) -> structural checks
-> split nesting -> data-flow check -> IR. Structure errors stop the later
stages (their findings would only be noise), but every stage reports all it
finds, not the first problem only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from flowship.compiler.checks import data_flow_problems, nesting_problems, structural_problems
from flowship.compiler.conditions import ALWAYS, run_conditions
from flowship.compiler.decorators import normalize_flow_decorators, normalize_step_decorators
from flowship.compiler.decospec import add_decorators
from flowship.compiler.evaluate import Evaluation, config_problems, needs_evaluation, skip_evaluation
from flowship.compiler.graph import Nesting, analyze_nesting, build_graph
from flowship.compiler.imports import import_problems
from flowship.compiler.ir import (
    ConfigIR,
    FlowIR,
    ParameterIR,
    ProjectIR,
    ScheduleIR,
    StepDecorators,
    StepIR,
    TriggersIR,
)
from flowship.compiler.naming import unique_k8s_names
from flowship.compiler.params import normalize_parameters
from flowship.compiler.parse import ModuleReader, ParsedFlow, ParsedStep, RawCall, parse_flow_source
from flowship.compiler.triggers import TRIGGER_DECORATORS, normalize_triggers
from flowship.errors import HasProblems, Problem

__all__ = ["CheckResult", "check_flow_source"]


@dataclass(frozen=True)
class CheckResult(HasProblems):
    """The IR when the flow has no errors, and every problem found either way."""

    ir: FlowIR | None
    problems: tuple[Problem, ...]
    evaluated: tuple[str, ...] = ()  # the arguments (and configs) the flow module was imported to evaluate


def _transition(step: ParsedStep) -> str:
    if step.foreach is not None:
        return "foreach"
    if step.switch_cases:
        return "switch"
    return {0: "end", 1: "linear"}.get(len(step.next_targets), "split")


def _build_ir(flow: ParsedFlow, graph: nx.DiGraph, nesting: Nesting, parts: _Parts) -> FlowIR:
    names = unique_k8s_names(nesting.order)
    conditions = run_conditions(graph)
    steps = []
    for name in nesting.order:
        parsed = flow.steps[name]
        stack = nesting.stacks[name]
        steps.append(
            StepIR(
                name=name,
                line=parsed.line,
                k8s_name=names[name],
                transition=_transition(parsed),  # type: ignore[arg-type]
                next=parsed.next_targets,
                parents=tuple(sorted(graph.predecessors(name), key=nesting.order.index)),
                foreach_var=parsed.foreach,
                is_join=name in nesting.join_of,
                join_of=nesting.join_of.get(name),
                split_stack=stack,
                foreach_depth=sum(1 for s in stack if flow.steps[s].foreach is not None),
                decorators=parts.decorators[name],
                condition=parsed.condition,
                switch_cases=dict(parsed.switch_cases),
                conditional=conditions[name] != ALWAYS,
            )
        )
    return FlowIR(
        flow.name,
        flow.file,
        flow.line,
        tuple(steps),
        parts.parameters,
        parts.schedule,
        parts.project,
        parts.configs,
        parts.evaluated,
        parts.triggers,
    )


@dataclass(frozen=True)
class _Parts:
    """What is checked independently of the graph's shape, so its errors always show."""

    decorators: dict[str, StepDecorators]
    parameters: tuple[ParameterIR, ...]
    schedule: ScheduleIR | None
    project: ProjectIR | None
    configs: tuple[ConfigIR, ...] = ()
    evaluated: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    triggers: TriggersIR | None = None


def _normalize_parts(flow: ParsedFlow, problems: list[Problem]) -> _Parts:
    others = [c for c in flow.flow_decorators if c.name not in TRIGGER_DECORATORS]
    schedule, project, bases = normalize_flow_decorators(others, flow.file, problems)
    decorators = {
        name: normalize_step_decorators(name, step.decorators, step.file, problems, bases)
        for name, step in flow.steps.items()
    }
    parameters = normalize_parameters(flow.parameters, set(flow.steps), flow.file, problems)
    trigger_calls = [c for c in flow.flow_decorators if c.name in TRIGGER_DECORATORS]
    triggers = normalize_triggers(trigger_calls, parameters, project is not None, flow.file, problems)
    return _Parts(decorators, parameters, schedule, project, triggers=triggers)


def check_flow_source(
    source: str,
    file: str,
    evaluate: Callable[[ParsedFlow], Evaluation] | None = None,
    with_decorators: tuple[RawCall, ...] = (),
    modules: ModuleReader | None = None,
) -> CheckResult:
    """Parse and check the flow in ``source``; ``file`` is how problems name it.

    ``evaluate`` imports the module for the arguments that are not literals (``compiler/evaluate.py``); without
    it, this stays pure and such arguments are problems. ``with_decorators`` (``--with``) are added to every
    step that lacks them, before any check. ``modules`` reads the modules base classes are imported from (see
    :func:`~flowship.compiler.parse.parse_flow_source`).
    """
    flow = parse_flow_source(source, file, modules)
    add_decorators(flow, with_decorators)
    problems = list(flow.problems) + import_problems(source, file)
    if not flow.name:
        return CheckResult(None, tuple(problems))
    problems += config_problems(flow, source)
    # the flow is imported only once it reads right: an error found so far (a name flowship lacks) would fail it
    refused = any(p.is_error for p in problems)
    evaluation = Evaluation()
    if evaluate is not None and needs_evaluation(flow) and not refused:
        evaluation = evaluate(flow)
        problems += evaluation.problems
    elif refused:
        skip_evaluation(flow)
    graph = build_graph(flow)
    shape_problems = structural_problems(flow, graph)
    parts = _normalize_parts(flow, problems)
    parts = dataclasses.replace(parts, configs=evaluation.configs, evaluated=evaluation.values)
    if not any(p.is_error for p in shape_problems):
        nesting = analyze_nesting(graph)
        shape_problems += nesting_problems(flow, graph, nesting)
    problems += shape_problems
    evaluated = tuple(evaluation.evaluated)
    if any(p.is_error for p in shape_problems):
        return CheckResult(None, tuple(sorted(set(problems), key=_order)), evaluated)
    known = flow.class_attributes | {p.attr for p in parts.parameters}
    problems += data_flow_problems(flow, graph, nesting, known)
    problems = sorted(set(problems), key=_order)
    if any(p.is_error for p in problems):
        return CheckResult(None, tuple(problems), evaluated)
    return CheckResult(_build_ir(flow, graph, nesting, parts), tuple(problems), evaluated)


def _order(problem: Problem) -> tuple[int, str, str]:
    return (problem.line, problem.severity, problem.message)
