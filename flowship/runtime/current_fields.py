"""What ``current`` holds for one task, derived from the run's record and IR as Metaflow derives it.

Kept apart from ``task.py`` so the mapping from flowship's records to
Metaflow's field names (``project_flow_name``, ``is_user_branch``, the
``graph`` dictionary) is in one place.
"""

from __future__ import annotations

import os
from typing import Any

from flowship.compiler.ir import FlowIR, StepIR
from flowship.events import Trigger

__all__ = ["current_values", "graph_info"]


def _step_type(step: StepIR) -> str:
    """Metaflow's word for a node in ``current.graph``: start, end, linear, join, split-static, split-foreach,
    split-switch."""
    if step.transition == "foreach":
        return "split-foreach"
    if step.transition == "split":
        return "split-static"
    if step.transition == "switch":
        return "split-switch"
    if step.is_join:
        return "join"
    return step.name if step.name in ("start", "end") else "linear"


def graph_info(ir: FlowIR) -> dict[str, Any]:
    """The flow's graph shaped as Metaflow's ``current.graph`` (the keys a flow reads: steps, their types
    and next steps, parameters, start and end)."""
    joins = {step.join_of: step.name for step in ir.steps if step.join_of}
    steps: dict[str, dict[str, Any]] = {}
    for step in ir.steps:
        entry: dict[str, Any] = {
            "name": step.name,
            "type": _step_type(step),
            "line": step.line,
            "next": list(step.next),
        }
        if step.foreach_var:
            entry["foreach_artifact"] = step.foreach_var
        if step.transition == "switch":
            entry["condition"], entry["switch_cases"] = step.condition, dict(step.switch_cases)
        if step.name in joins:
            entry["matching_join"] = joins[step.name]
        steps[step.name] = entry
    return {
        "file": os.path.basename(ir.file),
        "start_step": "start",
        "end_step": "end",
        "parameters": [{"name": p.name, "type": p.type} for p in ir.parameters],
        "steps": steps,
        "graph_structure": [step.name for step in ir.steps],
    }


def current_values(ir: FlowIR, run: dict[str, Any], step: str, task_id: str, retry_count: int) -> dict[str, Any]:
    """Every field ``current`` binds for one task of ``run``."""
    project, branch = run.get("project"), run.get("branch")  # a local run's branch is user.<name> (runs.py)
    return {
        "flow_name": ir.name,
        "run_id": run["run_id"],
        "step_name": step,
        "task_id": task_id,
        "retry_count": retry_count,
        "username": run["user"],
        "namespace": run["namespace"],
        "tags": tuple(run["tags"]),
        "origin_run_id": run.get("origin_run_id"),
        "is_production": run["namespace"].startswith("production:"),
        "project_name": project,
        "branch_name": branch,
        "project_flow_name": f"{project}.{branch}.{ir.name}" if project else None,
        "is_user_branch": bool(branch and branch.startswith("user.")),
        "pathspec": f"{ir.name}/{run['run_id']}/{step}/{task_id}",
        "graph": graph_info(ir),
        "parameter_names": [p.attr for p in ir.parameters],
        "trigger": Trigger(run["trigger"]) if run.get("trigger") else None,
    }
