"""The flow graph: steps as networkx nodes, transitions as edges, splits matched to joins.

Built from a :class:`~flowship.compiler.parse.ParsedFlow`; every node keeps
its parsed step (and so its file line). :func:`analyze_nesting` walks the
graph in topological order and works out, for every step, the stack of
splits it runs inside and, for every join, which split it closes. That is
what lets a join find its inputs and lets targets nest foreach to any depth.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from flowship.compiler.parse import ParsedFlow, ParsedStep
from flowship.errors import Problem

__all__ = ["build_graph", "Nesting", "analyze_nesting", "step_of", "loops", "topological_order"]


def build_graph(flow: ParsedFlow) -> nx.DiGraph:
    graph = nx.DiGraph(name=flow.name, file=flow.file)
    for name, step in flow.steps.items():
        graph.add_node(name, step=step)
    for name, step in flow.steps.items():
        for target in step.next_targets:
            if target in flow.steps and not (target == name and step.switch_cases):
                graph.add_edge(name, target)  # a switch back to its own step is a loop, kept out of the graph
    return graph


def loops(step: ParsedStep) -> bool:
    """A switch that may pick its own step again: the step repeats until the switch picks another."""
    return step.name in step.next_targets and bool(step.switch_cases)


def step_of(graph: nx.DiGraph, name: str) -> ParsedStep:
    return graph.nodes[name]["step"]


def topological_order(graph: nx.DiGraph) -> list[str]:
    """A stable order: Kahn's algorithm, ties broken by source line then name."""
    key = lambda n: (step_of(graph, n).line, n)  # noqa: E731
    return list(nx.lexicographical_topological_sort(graph, key=key))


@dataclass
class Nesting:
    """Where each step sits among the flow's splits."""

    order: list[str] = field(default_factory=list)
    stacks: dict[str, tuple[str, ...]] = field(default_factory=dict)
    join_of: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def _is_split(step: ParsedStep) -> bool:
    """A step whose every target runs: a switch runs one of its targets, so it opens no split."""
    return step.foreach is not None or (len(step.next_targets) > 1 and not step.switch_cases)


def analyze_nesting(graph: nx.DiGraph) -> Nesting:
    """Assign split stacks and match joins to splits; the graph must be acyclic."""
    nesting = Nesting(order=topological_order(graph))
    for name in nesting.order:
        step = step_of(graph, name)
        incoming: dict[tuple[str, ...], list[str]] = {}
        for parent in sorted(graph.predecessors(name)):
            parent_step = step_of(graph, parent)
            stack = nesting.stacks.get(parent, ())
            incoming.setdefault(stack + (parent,) if _is_split(parent_step) else stack, []).append(parent)
        if not incoming:
            nesting.stacks[name] = ()
            continue
        if len(incoming) > 1:
            described = "; ".join(
                f"{', '.join(parents)} (inside {' > '.join(stack) or 'no split'})"
                for stack, parents in incoming.items()
            )
            nesting.problems.append(
                Problem(
                    step.file,
                    step.line,
                    f"step '{name}' joins steps from different splits: {described}",
                    "a join must merge the branches of one split; join inner splits first",
                )
            )
            shortest = min(incoming, key=len)
            nesting.stacks[name] = shortest[:-1] if step.has_inputs else shortest
            continue
        ((stack, _parents),) = incoming.items()
        if step.has_inputs:
            if not stack:
                nesting.problems.append(
                    Problem(
                        step.file,
                        step.line,
                        f"step '{name}' takes inputs but closes no split",
                        f"remove `inputs` from def {name}(self, inputs), "
                        "or make a parent split with self.next(a, b) or foreach=",
                    )
                )
                nesting.stacks[name] = ()
                continue
            closed = stack[-1]
            if closed in nesting.join_of.values():
                other = next(j for j, s in nesting.join_of.items() if s == closed)
                nesting.problems.append(
                    Problem(
                        step.file,
                        step.line,
                        f"split '{closed}' is joined twice, by '{other}' and by '{name}'",
                        "send every branch of a split to one join",
                    )
                )
            nesting.join_of[name] = closed
            nesting.stacks[name] = stack[:-1]
        else:
            nesting.stacks[name] = stack
    return nesting
