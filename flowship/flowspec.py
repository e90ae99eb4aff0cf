"""``FlowSpec``: the base class every flow derives from.

``MyFlow()`` at the bottom of a flow file hands the command line to flowship,
so ``python my_flow.py check|show|run ...`` works as in Metaflow. The step
command creates the flow with ``use_cli=False`` and drives one step.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any

from flowship.errors import FlowshipError

__all__ = ["FlowSpec"]


class FlowSpec:
    """Base class of a flow: subclass it and write ``@step`` methods."""

    def __init__(self, use_cli: bool = True) -> None:
        self._transition: tuple[tuple[str, ...], str | None] | None = None
        if use_cli:
            from flowship.cli import main_for_flow_file

            sys.exit(main_for_flow_file(inspect.getfile(type(self)), sys.argv[1:]))

    @property
    def name(self) -> str:
        return type(self).__name__

    def next(self, *steps: Any, foreach: str | None = None) -> None:
        """Record where the flow goes after this step; must be the step's last call."""
        names = []
        for target in steps:
            if not callable(target) or not getattr(target, "__flowship_step__", False):
                raise FlowshipError(f"self.next() got {target!r}; pass steps as self.<step>")
            names.append(target.__name__)
        if self._transition is not None:
            raise FlowshipError("self.next() was called twice in one step; call it once, last")
        self._transition = (tuple(names), foreach)
