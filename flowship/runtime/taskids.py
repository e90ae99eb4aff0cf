"""Task ids and the tasks a task reads from, derived from the graph alone.

A task id is its foreach index path: ``0`` outside any foreach, ``0.3`` for
item 3 of a foreach, ``0.3.1`` one level deeper. Knowing a task's id is
enough to find its inputs, so schedulers need no shared state: the local
scheduler, Argo and Airflow all compute the same ids.
"""

from __future__ import annotations

from collections.abc import Callable

from flowship.compiler.ir import FlowIR

__all__ = ["ROOT_TASK_ID", "parent_task_id", "child_task_id", "input_tasks", "join_closing"]

ROOT_TASK_ID = "0"


def parent_task_id(task_id: str) -> str:
    return task_id.rsplit(".", 1)[0]


def child_task_id(task_id: str, index: int) -> str:
    return f"{task_id}.{index}"


def join_closing(ir: FlowIR, split: str) -> str:
    return next(s.name for s in ir.steps if s.join_of == split)


def input_tasks(ir: FlowIR, step: str, task_id: str, num_splits: Callable[[str, str], int]) -> list[tuple[str, str]]:
    """(step, task id) of every task whose output ``step``/``task_id`` reads, in input order.

    ``num_splits(step, task_id)`` answers how many items a foreach task fanned out to.
    """
    node = ir.step(step)
    if not node.parents:
        return []
    if ir.joins_foreach(node):
        split = node.join_of or ""
        return [(node.parents[0], child_task_id(task_id, i)) for i in range(num_splits(split, task_id))]
    if node.is_join:
        return [(parent, task_id) for parent in node.parents]
    parent = ir.step(node.parents[0])
    return [(parent.name, parent_task_id(task_id) if parent.transition == "foreach" else task_id)]
