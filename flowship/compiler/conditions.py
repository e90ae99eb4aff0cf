"""Which switch choices a step runs under, so checks and targets know what may be skipped.

A switch (``self.next({"a": self.a, "b": self.b}, condition="choice")``) runs
one of its targets. Every step gets the condition it runs under, relative to
the split or foreach it sits in: a set of alternatives, each a set of
(switch, chosen step) choices that must all have been made. ``start`` runs
always (one empty alternative); a step's condition is the union over its
parents of the parent's condition plus the choice that leads here. The
condition of a step after the branches of a switch merge again covers every
choice of the switch and simplifies back to the switch's own.

Two parents of a step that does not take inputs must never both run; that
holds when every pair of their alternatives picks different steps at some
switch (:func:`exclusive`).
"""

from __future__ import annotations

import networkx as nx

from flowship.compiler.graph import step_of, topological_order

__all__ = ["Condition", "ALWAYS", "run_conditions", "edge_condition", "exclusive"]

Choice = tuple[str, str]  # (switch step, the step it picked)
Condition = frozenset[frozenset[Choice]]  # any of these sets of choices
ALWAYS: Condition = frozenset({frozenset()})


def _targets(graph: nx.DiGraph, switch: str) -> frozenset[str]:
    """The steps a switch may pick, besides itself (a loop ends by picking another)."""
    return frozenset(t for t in step_of(graph, switch).next_targets if t != switch)


def _simplify(graph: nx.DiGraph, condition: set[frozenset[Choice]]) -> Condition:
    """Drop alternatives another one implies; fold alternatives that differ only in a switch's every choice."""
    changed = True
    while changed:
        changed = False
        for alternative in list(condition):
            for switch, _picked in alternative:
                rest = frozenset(c for c in alternative if c[0] != switch)
                if all(rest | {(switch, t)} in condition for t in _targets(graph, switch)):
                    condition -= {rest | {(switch, t)} for t in _targets(graph, switch)}
                    condition.add(rest)
                    changed = True
                    break
            if changed:
                break
        kept = {a for a in condition if not any(other < a for other in condition)}
        changed = changed or kept != condition
        condition = kept
    return frozenset(condition)


def edge_condition(graph: nx.DiGraph, conditions: dict[str, Condition], parent: str, child: str) -> Condition:
    """What must hold for ``parent`` to lead to ``child``: the parent ran, and a switch picked ``child``."""
    if not step_of(graph, parent).switch_cases:
        return conditions[parent]
    return frozenset(alternative | {(parent, child)} for alternative in conditions[parent])


def run_conditions(graph: nx.DiGraph) -> dict[str, Condition]:
    """Each step's condition; the graph must be acyclic (a switch's loop to itself is not an edge)."""
    conditions: dict[str, Condition] = {}
    for name in topological_order(graph):
        parents = list(graph.predecessors(name))
        if not parents:
            conditions[name] = ALWAYS
            continue
        union: set[frozenset[Choice]] = set()
        for parent in parents:
            union |= edge_condition(graph, conditions, parent, name)
        conditions[name] = _simplify(graph, union)
    return conditions


def _contradict(one: frozenset[Choice], other: frozenset[Choice]) -> bool:
    picks = dict(one)
    return any(switch in picks and picks[switch] != picked for switch, picked in other)


def exclusive(one: Condition, other: Condition) -> bool:
    """Whether no run can meet both conditions: every pair of alternatives picks differently at a switch."""
    return all(_contradict(a, b) for a in one for b in other)
