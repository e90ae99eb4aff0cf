"""``current``: what the running task knows about itself (run id, step, retry count, ...).

The step command fills it in before the step body runs; reading one of its
task fields anywhere else is a mistake that gets a clear error rather than a
silent ``None``. The fields and their meaning are Metaflow's ``current``;
``is_running_flow``, ``tempdir``, ``get()`` and ``in`` answer outside a step
too, so library code can ask whether it runs inside a flow, as in Metaflow.
"""

from __future__ import annotations

import tempfile
from typing import Any, NamedTuple

from flowship.errors import FlowshipError

__all__ = ["current", "Current", "FIELDS", "Parallel"]


class Parallel(NamedTuple):
    """``current.parallel`` in a step that ``num_parallel=`` started, as Metaflow's: node 0 is the control node."""

    main_ip: str
    num_nodes: int
    node_index: int
    control_task_id: str


# Fields bound per task by the step command (runtime/task.py).
BOUND = (
    "flow_name",
    "run_id",
    "step_name",
    "task_id",
    "retry_count",
    "username",
    "namespace",
    "tags",
    "origin_run_id",
    "is_production",
    "project_name",
    "branch_name",
    "project_flow_name",
    "is_user_branch",
    "pathspec",
    "graph",
    "parameter_names",
    "parallel",
    "trigger",
)
# Fields derived from the bound ones, or answering outside a step too.
DERIVED = ("is_running_flow", "tempdir", "run", "task", "card")
FIELDS = BOUND + DERIVED


class Current:
    def __init__(self) -> None:
        object.__setattr__(self, "_values", {})

    def _bind(self, **values: Any) -> None:
        unknown = set(values) - set(BOUND)
        if unknown:
            raise TypeError(f"unknown current fields: {sorted(unknown)}")
        self._values.update(values)

    @property
    def is_running_flow(self) -> bool:
        """True inside a running step, False anywhere else (a notebook, a library imported elsewhere)."""
        return "run_id" in self._values

    @property
    def tempdir(self) -> str:
        """Where a task may write temporary files: the system's temporary folder."""
        return tempfile.gettempdir()

    @property
    def run(self) -> Any:
        """The running run as a Client ``Run``."""
        from flowship.runtime.client import Flow

        return Flow(self.flow_name)[self.run_id]

    @property
    def task(self) -> Any:
        """The running task as a Client ``Task`` (it has no artifacts until it has finished)."""
        return self.run[self.step_name][self.task_id]

    @property
    def card(self) -> Any:
        """The step's cards: ``current.card.append(Markdown(...))``, ``current.card["id"]`` (flowship/cards/)."""
        from flowship.cards import task_cards

        return task_cards()

    def __getattr__(self, name: str) -> Any:
        if name not in FIELDS:
            raise AttributeError(f"current has no attribute '{name}'; it has {', '.join(FIELDS)}")
        try:
            return self._values[name]
        except KeyError:
            raise FlowshipError(f"current.{name} is only set inside a running step") from None

    def get(self, name: str, default: Any = None) -> Any:
        """``current.get("run_id")``: the field, or ``default`` where it is not set (outside a step), as Metaflow."""
        try:
            value = getattr(self, name)
        except (AttributeError, FlowshipError):
            return default
        return default if value is None else value

    def __contains__(self, name: str) -> bool:
        return self.get(name) is not None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("current is read-only")

    def __repr__(self) -> str:
        return f"current({', '.join(f'{k}={v!r}' for k, v in self._values.items() if k != 'graph')})"


current = Current()
