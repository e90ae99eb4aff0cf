"""The decorators users put on steps and flows: ``@step``, ``@retry(times=2)``, ``@schedule(daily=True)``.

They only mark the function or class with what was written; checking and
meaning live in the compiler, which reads the same decorators from the
source. Each works bare (``@retry``) or called (``@retry(times=2)``), as in
Metaflow.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flowship.compiler.decorators import FLOW_DECORATORS, STEP_DECORATORS

__all__ = ["step", *STEP_DECORATORS, *FLOW_DECORATORS]

F = TypeVar("F", bound=Callable[..., Any])
MARK = "__flowship_decorators__"


def step(func: F) -> F:
    """Marks a method of a FlowSpec as a step."""
    func.__flowship_step__ = True  # type: ignore[attr-defined]
    return func


def _marker(name: str) -> Callable[..., Any]:
    def decorator(target: Any = None, **kwargs: Any) -> Any:
        def mark(obj: Any) -> Any:
            setattr(obj, MARK, {**getattr(obj, MARK, {}), name: kwargs})
            return obj

        return mark(target) if callable(target) else mark

    decorator.__name__ = decorator.__qualname__ = name
    defaults = dict(STEP_DECORATORS[name] if name in STEP_DECORATORS else FLOW_DECORATORS[name])
    decorator.__doc__ = f"@{name}: see docs/authoring.md; arguments and defaults {defaults}"
    return decorator


resources = _marker("resources")
retry = _marker("retry")
timeout = _marker("timeout")
catch = _marker("catch")
environment = _marker("environment")
kubernetes = _marker("kubernetes")
secrets = _marker("secrets")
parallel = _marker("parallel")
card = _marker("card")
schedule = _marker("schedule")
project = _marker("project")
trigger = _marker("trigger")
trigger_on_finish = _marker("trigger_on_finish")
conda = _marker("conda")
pypi = _marker("pypi")
conda_base = _marker("conda_base")
pypi_base = _marker("pypi_base")
