"""Run records: who started a run, with what, in which namespace; and new run ids."""

from __future__ import annotations

import getpass
import os
import secrets
import time
from typing import Any

from flowship.compiler.ir import FlowIR

__all__ = ["new_run_id", "new_run_record", "current_user", "user_namespace"]


def current_user() -> str:
    for variable in ("FLOWSHIP_USER", "USER", "USERNAME"):
        if os.environ.get(variable):
            return os.environ[variable]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def user_namespace(user: str | None = None) -> str:
    return f"user:{user or current_user()}"


def new_run_id() -> str:
    """Sortable by start time, unique without coordination: ``20261122T190102-3fa2c1``."""
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


def new_run_record(
    ir: FlowIR,
    run_id: str,
    parameters: dict[str, str],
    *,
    tags: tuple[str, ...] = (),
    user: str | None = None,
    namespace: str | None = None,
    origin_run_id: str | None = None,
    code_package: dict[str, str] | None = None,
    project: str | None = None,
    branch: str | None = None,
    promoted_from: str | None = None,
    trigger: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A run's metadata. ``code_package`` is ``{"sha": ..., "flow_path": ...}`` when the code was packaged."""
    user = user or current_user()
    project = project or (ir.project.name if ir.project else None)
    if project and not branch:
        branch = f"user.{user}"  # as Metaflow names the branch of a run outside any deployment
    return {
        "flow": ir.name,
        "run_id": run_id,
        "created_at": time.time(),
        "user": user,
        "namespace": namespace or user_namespace(user),
        "tags": sorted(set(tags)),
        "parameters": dict(parameters),
        "origin_run_id": origin_run_id,
        "code_package": code_package,
        "project": project,
        "branch": branch,
        "promoted_from": promoted_from,
        "trigger": trigger,  # the events that started the run (flowship/events.py), None when none did
        "ir": ir.to_dict(),
    }
