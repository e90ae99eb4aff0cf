"""Property tests: random well-formed flows check clean; random breakages are reported, never raised.

Flows are generated as nested blocks (a step, a static split of 2-3 branches,
or a foreach) and rendered to source. Mutations break exactly one rule each.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings, strategies as st

from flowship.compiler import FlowIR, check_flow_source

Block = tuple  # ("step",) | ("split", [seq, ...]) | ("foreach", seq)


def sequences(depth: int) -> st.SearchStrategy[list]:
    step = st.just(("step",))
    if depth == 0:
        return st.lists(step, min_size=1, max_size=3)
    inner = sequences(depth - 1)
    block = st.one_of(
        step,
        st.tuples(st.just("split"), st.lists(inner, min_size=2, max_size=3)),
        st.tuples(st.just("foreach"), inner),
    )
    return st.lists(block, min_size=1, max_size=3)


@dataclass
class Step:
    name: str
    targets: list[str] = field(default_factory=list)
    foreach: str | None = None
    join: bool = False
    in_foreach: bool = False
    lines: list[str] = field(default_factory=list)


class Renderer:
    def __init__(self) -> None:
        self.steps: dict[str, Step] = {}
        self.counter = itertools.count()

    def new(self, prefix: str, in_foreach: bool, join: bool = False) -> Step:
        step = Step(f"{prefix}{next(self.counter)}", join=join, in_foreach=in_foreach)
        self.steps[step.name] = step
        return step

    def sequence(self, blocks: list, after: str, in_foreach: bool) -> str:
        """Emit ``blocks`` so the last leads to ``after``; return the first step's name."""
        entry = after
        for block in reversed(blocks):
            if block[0] == "step":
                step = self.new("s", in_foreach)
                step.targets = [entry]
                step.lines = ["self.base_seen = self.base"] + (["self.item = self.input"] if in_foreach else [])
            elif block[0] == "split":
                join = self.new("j", in_foreach, join=True)
                join.targets = [entry]
                join.lines = ["self.merge_artifacts(inputs)"]
                step = self.new("b", in_foreach)
                step.targets = [self.sequence(branch, join.name, in_foreach) for branch in block[1]]
            else:
                join = self.new("j", in_foreach, join=True)
                join.targets = [entry]
                join.lines = ["self.count = len(list(inputs))", "self.merge_artifacts(inputs, exclude=['item', 'count'])"]
                step = self.new("f", in_foreach)
                step.foreach = f"items_{step.name}"
                step.lines = [f"self.{step.foreach} = [1, 2]"]
                step.targets = [self.sequence(block[1], join.name, True)]
            entry = step.name
        return entry

    def source(self, blocks: list) -> str:
        start = Step("start", lines=["self.base = 1"])
        end = Step("end", lines=["print(self.base)"])
        self.steps = {"start": start}
        start.targets = [self.sequence(blocks, "end", False)]
        self.steps["end"] = end
        return render(self.steps)


def render(steps: dict[str, Step]) -> str:
    out = ["from flowship import FlowSpec, step", "", "", "class Generated(FlowSpec):"]
    for step in steps.values():
        args = "self, inputs" if step.join else "self"
        out += ["    @step", f"    def {step.name}({args}):"]
        out += [f"        {line}" for line in step.lines] or ["        pass"]
        if step.targets:
            targets = ", ".join(f"self.{t}" for t in step.targets)
            foreach = f", foreach={step.foreach!r}" if step.foreach else ""
            out.append(f"        self.next({targets}{foreach})")
        out.append("")
    return "\n".join(out)


flows = sequences(3).map(lambda blocks: (blocks, Renderer()))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flows)
def test_well_formed_flows_check_clean_and_round_trip(case):
    blocks, renderer = case
    source = renderer.source(blocks)
    result = check_flow_source(source, "generated.py")
    assert result.problems == (), source
    assert len(result.ir.steps) == len(renderer.steps)
    assert FlowIR.from_json(result.ir.to_json()) == result.ir


def drop_step(steps: dict[str, Step], name: str) -> None:
    del steps[name]


def retarget(steps: dict[str, Step], name: str) -> None:
    steps[name].targets = ["nowhere"] + steps[name].targets[1:]


def toggle_inputs(steps: dict[str, Step], name: str) -> None:
    step = steps[name]
    step.join = not step.join
    step.lines = [line for line in step.lines if "inputs" not in line]


def loop_back(steps: dict[str, Step], name: str) -> None:
    steps[name].targets = ["start"]


def statement_after_next(steps: dict[str, Step], name: str) -> None:
    steps[name].lines.append("self.next(self.end)\n        print('after')")


def read_missing(steps: dict[str, Step], name: str) -> None:
    steps[name].lines.append("print(self.never_assigned)")


MUTATIONS = {
    "drop_step": (drop_step, lambda s: s.name not in ("start", "end")),
    "retarget": (retarget, lambda s: bool(s.targets)),
    "toggle_inputs": (toggle_inputs, lambda s: s.name not in ("start", "end") and (s.join or s.in_foreach)),
    "loop_back": (loop_back, lambda s: s.name != "end" and len(s.targets) == 1 and s.foreach is None),
    "statement_after_next": (statement_after_next, lambda s: bool(s.targets)),
    "read_missing": (read_missing, lambda s: True),
}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flows, st.sampled_from(sorted(MUTATIONS)), st.data())
def test_mutated_flows_report_errors_never_raise(case, mutation, data):
    blocks, renderer = case
    renderer.source(blocks)
    mutate, applies = MUTATIONS[mutation]
    candidates = [s.name for s in renderer.steps.values() if applies(s)]
    if not candidates:
        return
    mutate(renderer.steps, data.draw(st.sampled_from(candidates)))
    source = render(renderer.steps)
    result = check_flow_source(source, "mutated.py")
    assert result.ir is None and result.errors, f"{mutation} went unreported:\n{source}"
