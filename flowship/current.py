"""``current``: what the running task knows about itself (run id, step, retry count, ...).

The step command fills it in before the step body runs; reading it anywhere
else is a mistake that gets a clear error rather than a silent ``None``.
"""

from __future__ import annotations

from typing import Any

from flowship.errors import FlowshipError

__all__ = ["current", "Current"]

FIELDS = (
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
    "pathspec",
)


class Current:
    def __init__(self) -> None:
        object.__setattr__(self, "_values", {})

    def _bind(self, **values: Any) -> None:
        unknown = set(values) - set(FIELDS)
        if unknown:
            raise TypeError(f"unknown current fields: {sorted(unknown)}")
        self._values.update(values)

    def __getattr__(self, name: str) -> Any:
        if name not in FIELDS:
            raise AttributeError(f"current has no attribute '{name}'; it has {', '.join(FIELDS)}")
        try:
            return self._values[name]
        except KeyError:
            raise FlowshipError(f"current.{name} is only set inside a running step") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("current is read-only")

    def __repr__(self) -> str:
        return f"current({', '.join(f'{k}={v!r}' for k, v in self._values.items())})"


current = Current()
