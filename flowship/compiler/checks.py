"""Lint checks on the flow graph: one small function per rule.

Each check reads the graph (and, for the later ones, the split nesting) and
yields :class:`~flowship.errors.Problem` records that name the line, say what
is wrong and how to fix it. :func:`structural_problems` runs the checks that
need only the graph; :func:`data_flow_problems` needs a well-formed graph.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator

import networkx as nx

from flowship.compiler.conditions import edge_condition, exclusive, run_conditions
from flowship.compiler.graph import Nesting, loops, step_of
from flowship.compiler.parse import PARALLEL_ARTIFACT, ParsedFlow
from flowship.errors import Problem

__all__ = ["structural_problems", "nesting_problems", "data_flow_problems"]

Check = Callable[[ParsedFlow, nx.DiGraph], Iterable[Problem]]


# Flow and step names become folder names in the store (at most 255 bytes each) and Airflow ids (250).
MAX_NAME_LENGTH = 200


def check_name_lengths(flow: ParsedFlow, graph: nx.DiGraph) -> Iterator[Problem]:
    named = [("flow", flow.name, flow.file, flow.line)] + [
        ("step", s.name, s.file, s.line) for s in flow.steps.values()
    ]
    for kind, name, file, line in named:
        if len(name.encode()) > MAX_NAME_LENGTH:
            yield Problem(
                file,
                line,
                f"the {kind} name is {len(name.encode())} bytes long, over the limit of "
                f"{MAX_NAME_LENGTH} (it names folders in the store and ids in Airflow)",
                "shorten it",
            )


def check_start_and_end(flow: ParsedFlow, graph: nx.DiGraph) -> Iterator[Problem]:
    for name in ("start", "end"):
        if name not in flow.steps:
            yield Problem(
                flow.file, flow.line, f"flow {flow.name} has no '{name}' step", f"add `@step def {name}(self):`"
            )
    if "start" in flow.steps and flow.steps["start"].has_inputs:
        yield Problem(
            flow.steps["start"].file,
            flow.steps["start"].line,
            "step 'start' takes inputs",
            "define it as def start(self):",
        )
    if "end" in flow.steps and flow.steps["end"].next_targets:
        end = flow.steps["end"]
        yield Problem(end.file, end.next_line, "step 'end' calls self.next()", "remove it: the flow finishes at 'end'")


def check_transitions(flow: ParsedFlow, graph: nx.DiGraph) -> Iterator[Problem]:
    for name, step in flow.steps.items():
        if name != "end" and not step.next_targets and not step.next_line:
            yield Problem(
                step.file,
                step.line,
                f"step '{name}' does not call self.next()",
                "end it with self.next(self.<next step>)",
            )
        for target in step.next_targets:
            if target not in flow.steps:
                close = difflib.get_close_matches(target, list(flow.steps), n=1)
                fix = (
                    f"did you mean self.{close[0]}?"
                    if close
                    else f"define `@step def {target}(self):` or name an existing step"
                )
                yield Problem(step.file, step.next_line, f"step '{name}' goes to '{target}', which is not a step", fix)
        if len(set(step.next_targets)) != len(step.next_targets):  # a switch may map several keys to one step
            yield Problem(
                step.file,
                step.next_line,
                f"step '{name}' names the same step twice in self.next()",
                "name each branch once",
            )
        if step.foreach is not None and len(step.next_targets) > 1:
            yield Problem(
                step.file,
                step.next_line,
                f"foreach in step '{name}' goes to {len(step.next_targets)} steps",
                'a foreach goes to exactly one step: self.next(self.body, foreach="items")',
            )


def check_cycles(flow: ParsedFlow, graph: nx.DiGraph) -> Iterator[Problem]:
    """Only a switch may loop, and only to its own step (Metaflow's rule): the graph holds no such edge."""
    for component in sorted(nx.strongly_connected_components(graph), key=min):
        if len(component) > 1 or any(graph.has_edge(n, n) for n in component):
            first = min(component, key=lambda n: (step_of(graph, n).line, n))
            cycle = " -> ".join(sorted(component, key=lambda n: step_of(graph, n).line))
            switches = sorted(n for n in component if step_of(graph, n).switch_cases)
            fix = (
                f"a switch loops only to its own step: move the repeated work into '{switches[0]}' and pick it "
                f'again, e.g. self.next({{"again": self.{switches[0]}, "done": self.<next>}}, condition=...)'
                if switches
                else "flows are acyclic; repeat work with a foreach instead of looping back"
            )
            yield Problem(step_of(graph, first).file, step_of(graph, first).line, f"steps form a cycle: {cycle}", fix)


def check_switches(flow: ParsedFlow, graph: nx.DiGraph) -> Iterator[Problem]:
    """What a switch cannot lead to: straight into a join (Metaflow's rule), or itself from start or a join."""
    for name, step in flow.steps.items():
        if not step.switch_cases:
            continue
        for target in step.next_targets:
            if target != name and target in flow.steps and flow.steps[target].has_inputs:
                yield Problem(
                    step.file,
                    step.next_line,
                    f"switch in step '{name}' leads straight to join '{target}'",
                    "add a step between them on that branch: a branch of a switch cannot end in a join directly",
                )
        if loops(step) and (name == "start" or step.has_inputs):
            what = "the start step" if name == "start" else f"join '{name}'"
            yield Problem(
                step.file,
                step.next_line,
                f"the switch in {what} picks its own step again",
                "loop in a step after it: move the repeated work into a step of its own that picks itself",
            )


def check_reachability(flow: ParsedFlow, graph: nx.DiGraph) -> Iterator[Problem]:
    if "start" not in graph or "end" not in graph:
        return
    reached = nx.descendants(graph, "start") | {"start"}
    reaching_end = nx.ancestors(graph, "end") | {"end"}
    for name, step in flow.steps.items():
        if name not in reached:
            yield Problem(
                step.file,
                step.line,
                f"step '{name}' cannot be reached from 'start'",
                f"call self.next(self.{name}) from a step, or delete it",
            )
        elif name not in reaching_end:
            yield Problem(
                step.file, step.line, f"step '{name}' never reaches 'end'", "make its transitions lead to 'end'"
            )


def check_join_parents(flow: ParsedFlow, graph: nx.DiGraph) -> Iterator[Problem]:
    """A step with several parents takes inputs, unless a switch lets only one of them run (a merge)."""
    reached = nx.descendants(graph, "start") | {"start"} if "start" in graph else set(graph)
    conditions = run_conditions(graph)
    for name, step in flow.steps.items():
        parents = sorted(p for p in graph.predecessors(name) if p in reached)
        arriving = [edge_condition(graph, conditions, p, name) for p in parents]
        alternatives = all(exclusive(a, b) for i, a in enumerate(arriving) for b in arriving[i + 1 :])
        if len(parents) > 1 and not step.has_inputs and not alternatives:
            yield Problem(
                step.file,
                step.line,
                f"step '{name}' is reached from {', '.join(parents)} but does not take inputs",
                f"make it a join: def {name}(self, inputs):",
            )


def check_catch_placement(flow: ParsedFlow, graph: nx.DiGraph) -> Iterator[Problem]:
    """A caught failure continues as if self.next() was called: Metaflow refuses @catch where that has no meaning."""
    for name, step in flow.steps.items():
        catch = next((d for d in step.decorators if d.name == "catch"), None)
        if catch is not None and step.foreach is not None:
            yield Problem(
                step.file,
                catch.line,
                f"@catch on step '{name}', a foreach: a caught failure leaves no items to fan out to",
                "move the work that may fail into a step before the foreach, and put @catch there",
            )
        elif catch is not None and step.switch_cases:
            yield Problem(
                step.file,
                catch.line,
                f"@catch on switch step '{name}'",
                "remove @catch: a switch whose step failed has no value to pick a branch with; catch in a step before",
            )


def check_parallel(flow: ParsedFlow, graph: nx.DiGraph) -> Iterator[Problem]:
    """Metaflow's rules: the step num_parallel= starts is @parallel, and only such a step is."""
    started = {s.next_targets[0]: s for s in flow.steps.values() if s.foreach == PARALLEL_ARTIFACT and s.next_targets}
    for name, step in flow.steps.items():
        marked = next((d for d in step.decorators if d.name == "parallel"), None)
        if name in started and marked is None:
            yield Problem(
                step.file,
                step.line,
                f"step '{name}' is started with num_parallel= in step '{started[name].name}' but is not @parallel",
                f"put @parallel above @step on def {name}",
            )
        elif marked is not None and name not in started:
            yield Problem(
                step.file,
                marked.line,
                f"@parallel on step '{name}', which no self.next(..., num_parallel=N) starts",
                f"start it with self.next(self.{name}, num_parallel=N) in the step before, or remove @parallel",
            )


# Reachability and join checks only mean something once every transition is sound;
# run on a broken graph they would restate the first phase's errors as noise.
FIRST_PHASE: tuple[Check, ...] = (
    check_name_lengths,
    check_start_and_end,
    check_transitions,
    check_cycles,
    check_catch_placement,
    check_parallel,
    check_switches,
)
SECOND_PHASE: tuple[Check, ...] = (check_reachability, check_join_parents)


def structural_problems(flow: ParsedFlow, graph: nx.DiGraph) -> list[Problem]:
    problems = [problem for check in FIRST_PHASE for problem in check(flow, graph)]
    if not problems and not any(p.is_error for p in flow.problems):
        problems += [problem for check in SECOND_PHASE for problem in check(flow, graph)]
    return problems


def nesting_problems(flow: ParsedFlow, graph: nx.DiGraph, nesting: Nesting) -> list[Problem]:
    """Joins that mix splits, and splits still open at 'end'."""
    problems = list(nesting.problems)
    for split in nesting.stacks.get("end", ()):
        kind = "foreach" if flow.steps[split].foreach else "split"
        inside = sorted(
            (p for p in graph.predecessors("end") if split in nesting.stacks.get(p, ())),
            key=lambda p: flow.steps[p].line,
        )
        last = inside[0] if inside else None
        if last is not None and split not in graph.predecessors(last):  # a step after the body: meant as the join
            problems.append(
                Problem(
                    flow.steps[last].file,
                    flow.steps[last].line,
                    f"{kind} in step '{split}' is never joined: step '{last}', the last step before 'end', "
                    "does not take inputs",
                    f"make it the join, def {last}(self, inputs):, or add a join step after it",
                )
            )
            continue
        problems.append(
            Problem(
                flow.steps[split].file,
                flow.steps[split].next_line,
                f"{kind} in step '{split}' is never joined",
                "add a join step, def join(self, inputs):, that its branches lead to before 'end'",
            )
        )
    return problems


def data_flow_problems(flow: ParsedFlow, graph: nx.DiGraph, nesting: Nesting, known: set[str]) -> list[Problem]:
    """Reads of ``self.x`` where some path from start never assigns ``x``.

    ``known`` holds parameters and class attributes, available everywhere. A
    join sees nothing from its inputs unless it calls ``merge_artifacts``.
    When a flow sets attributes by name, findings become warnings: the check
    must never fail a valid flow.
    """
    uncertain_flow = flow.external_bases or any(s.dynamic for s in flow.steps.values())
    problems: list[Problem] = []
    out: dict[str, set[str]] = {}
    some_branch: dict[str, set[str]] = {}  # assigned on some path only: after the branches of a switch merge
    for name in nesting.order:
        step = flow.steps[name]
        parents = sorted(graph.predecessors(name))
        maybe: set[str] = set()
        if not parents:
            available: set[str] = set()
        elif step.has_inputs:
            available = set().union(*(out[p] for p in parents)) if step.merges else set()
            if step.merge_include:
                available &= set(step.merge_include)
            available -= set(step.merge_exclude)
        else:  # one parent, or the branches of a switch, of which one ran
            available = set.intersection(*(out[p] for p in parents))
            maybe = set().union(*(out[p] | some_branch[p] for p in parents)) - available
        in_foreach = any(flow.steps[s].foreach for s in nesting.stacks.get(name, ()))
        for attr, line in step.reads:
            if attr in ("input", "index"):
                if not in_foreach:
                    problems.append(
                        Problem(
                            step.file,
                            line,
                            f"step '{name}' reads self.{attr} outside a foreach",
                            f"self.{attr} exists only in steps between a foreach and its join",
                        )
                    )
                continue
            if attr in known or attr in available or attr.startswith("__"):
                continue
            uncertain = (
                uncertain_flow or step.guarded or attr in step.guarded_reads or attr in step.writes or attr in maybe
            )
            message = f"step '{name}' reads self.{attr}, which is not assigned on every path from 'start'"
            if attr in maybe:  # a switch's value decides: the flow may be right, so never an error
                fix = f"assign self.{attr} on every branch of the switch before '{name}', or read it only when set"
            elif step.has_inputs and not step.merges and any(attr in out[p] for p in parents):
                fix = (
                    f"a join sees its inputs' artifacts only through inputs.<step>.{attr} "
                    "or self.merge_artifacts(inputs)"
                )
            else:
                fix = f"assign self.{attr} in an earlier step on every path, or make it a Parameter"
            problems.append(Problem(step.file, line, message, fix, "warning" if uncertain else "error"))
        catch = [d for d in step.decorators if d.name == "catch" and isinstance(d.kwargs.get("var"), str)]
        out[name] = available | set(step.writes) | {d.kwargs["var"] for d in catch}
        some_branch[name] = maybe - out[name]
        if step.condition is not None and step.condition not in out[name] and step.condition not in known:
            problems.append(
                Problem(
                    step.file,
                    step.next_line,
                    f"condition=\"{step.condition}\" in step '{name}' names no artifact",
                    f"assign self.{step.condition} in '{name}' (or before it) to the key of the step to run next",
                    "warning" if uncertain_flow or step.condition in maybe else "error",
                )
            )
        if (
            step.foreach not in (None, PARALLEL_ARTIFACT)
            and step.foreach not in out[name]
            and step.foreach not in known
        ):
            problems.append(
                Problem(
                    step.file,
                    step.next_line,
                    f"foreach=\"{step.foreach}\" in step '{name}' names no artifact",
                    f"assign self.{step.foreach} = [...] in '{name}' or before it",
                    "warning" if uncertain_flow else "error",
                )
            )
    return problems
