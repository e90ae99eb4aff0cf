"""Task ids and the tasks a task reads from, derived from the graph and what ran.

A task id is its foreach index path: ``0`` outside any foreach, ``0.3`` for
item 3 of a foreach, ``0.3.1`` one level deeper. A step that loops (a switch
that may pick its own step again) adds one more index, the repetition:
``0.0``, ``0.1``, ... for its first, second, ... task. Knowing a task's id is
enough to find where its inputs may be, so schedulers need no shared state:
the local scheduler, Argo and Airflow all compute the same ids.

Which of those tasks are its inputs depends on what ran: after a switch only
the picked branch runs, so a step the branches merge into reads whichever
parent ran and went to it. :func:`input_tasks` asks ``state(step, task_id)``
for each candidate: a finished task's record, or whether it is still
:data:`PENDING` or will never run (:data:`SKIPPED`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flowship.compiler.ir import FlowIR, StepIR

__all__ = [
    "ROOT_TASK_ID",
    "PENDING",
    "SKIPPED",
    "TaskState",
    "parent_task_id",
    "child_task_id",
    "base_task_id",
    "first_task_id",
    "went_to",
    "input_tasks",
    "join_closing",
]

ROOT_TASK_ID = "0"
PENDING = "pending"  # may still run, or is running
SKIPPED = "skipped"  # will never run: no switch picked it
# a finished task's record (its metadata: num_splits, chosen), or PENDING / SKIPPED
TaskState = Callable[[str, str], Mapping[str, Any] | str]


def parent_task_id(task_id: str) -> str:
    return task_id.rsplit(".", 1)[0]


def child_task_id(task_id: str, index: int) -> str:
    return f"{task_id}.{index}"


def base_task_id(step: StepIR, task_id: str) -> str:
    """The id without a looping step's repetition index: where the step sits among foreaches."""
    return parent_task_id(task_id) if step.loops else task_id


def first_task_id(step: StepIR, base: str) -> str:
    """The id of the first task of ``step`` at ``base``."""
    return child_task_id(base, 0) if step.loops else base


def join_closing(ir: FlowIR, split: str) -> str:
    return next(s.name for s in ir.steps if s.join_of == split)


def went_to(step: StepIR, record: Mapping[str, Any]) -> tuple[str, ...]:
    """The steps a finished task of ``step`` leads to: all its targets, or the one its switch picked."""
    return (record["chosen"],) if step.transition == "switch" else step.next


def _last_repetition(step: StepIR, base: str, state: TaskState) -> str:
    """The task of a looping step that left the loop (or may still): the first that did not pick itself."""
    index = 0
    while True:
        task_id = child_task_id(base, index)
        found = state(step.name, task_id)
        if isinstance(found, str) or found.get("chosen") != step.name:
            return task_id
        index += 1


def _candidates(ir: FlowIR, node: StepIR, base: str, state: TaskState) -> list[tuple[str, str]] | None:
    """(step, task id) of every task that may be an input of ``node`` at ``base``; None until that is known."""
    if ir.joins_foreach(node):
        split = state(node.join_of or "", base)
        if split == PENDING:
            return None
        count = 0 if isinstance(split, str) else split["num_splits"]
        bases = [child_task_id(base, i) for i in range(count)]
    else:
        bases = [base]
    found = []
    for where in bases:
        for name in node.parents:
            parent = ir.step(name)
            at = parent_task_id(where) if parent.transition == "foreach" else where
            found.append((name, _last_repetition(parent, at, state) if parent.loops else at))
    return found


def input_tasks(ir: FlowIR, step: str, task_id: str, state: TaskState) -> list[tuple[str, str]] | None:
    """(step, task id) of every task whose output ``step``/``task_id`` reads, in input order.

    None while a task that may be an input has not finished; an empty list when none ran that leads here
    (the task is skipped).
    """
    node = ir.step(step)
    base = base_task_id(node, task_id)
    if node.loops and task_id != first_task_id(node, base):  # a repetition reads the one before it
        candidates: list[tuple[str, str]] | None = [(step, child_task_id(base, int(task_id.rsplit(".", 1)[1]) - 1))]
    else:
        candidates = _candidates(ir, node, base, state)
    if candidates is None:
        return None
    taken = []
    for name, at in candidates:
        found = state(name, at)
        if found == PENDING:
            return None
        if not isinstance(found, str) and step in went_to(ir.step(name), found):
            taken.append((name, at))
    return taken
