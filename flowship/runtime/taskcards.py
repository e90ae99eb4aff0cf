"""The cards of one running task: ``current.card`` set up before the step, rendered into the store after it.

The step command owns a :class:`TaskCards` for the task it runs. Before the
step body it tells ``current.card`` which ``@card`` decorators the step has;
after the step's artifacts are saved it renders every card into the
attempt (``flowship/cards/render.py``) and returns the ``meta["cards"]``
entries. ``current.card.refresh()`` during the step writes the cards as they
are then, marked as running, to the same files; the finished task's cards
replace them.
"""

from __future__ import annotations

import inspect
import textwrap
from typing import Any

from flowship.cards.cardtypes import TaskSnapshot
from flowship.cards.collector import task_cards
from flowship.cards.render import write_task_cards
from flowship.compiler.ir import FlowIR
from flowship.runtime.logcapture import CapturedLogs

__all__ = ["TaskCards"]


class TaskCards:
    def __init__(self, datastore: Any, step: str, logs: CapturedLogs | None) -> None:
        self.datastore, self.step, self.logs = datastore, step, logs
        self.ir: FlowIR | None = None
        self.flow: Any = None
        self.meta: dict[str, Any] = {}

    def start(self, ir: FlowIR, flow: Any, meta: dict[str, Any]) -> None:
        """Set up ``current.card`` for the step about to run."""
        self.ir, self.flow, self.meta = ir, flow, meta
        cards = ir.step(self.step).decorators.cards
        task_cards().configure(cards, self._refresh if cards else None)

    def _snapshot(self, meta: dict[str, Any], running: bool) -> TaskSnapshot:
        assert self.ir is not None
        values = {name: value for name, value in vars(self.flow).items() if not name.startswith("_")}
        try:
            source = textwrap.dedent(inspect.getsource(getattr(type(self.flow), self.step)))
        except (OSError, TypeError):  # a step defined where its source cannot be read: the card goes without it
            source = None
        logs = {s: self.logs.so_far(s) for s in ("stdout", "stderr")} if self.logs is not None else {}
        return TaskSnapshot(
            pathspec=f"{meta['flow']}/{meta['run_id']}/{meta['step']}/{meta['task_id']}",
            ir=self.ir,
            step=self.step,
            meta=meta,
            values=values,
            parameters=tuple(p.attr for p in self.ir.parameters),
            logs=logs,
            source=source,
            running=running,
        )

    def _refresh(self) -> None:
        write_task_cards(self.datastore, self._snapshot(self.meta, running=True), task_cards())

    def write(self, meta: dict[str, Any]) -> list[dict[str, Any]]:
        """Render and store the finished task's cards; its ``meta["cards"]`` entries."""
        if self.ir is None or self.flow is None or not task_cards().cards:
            return []
        return write_task_cards(self.datastore, self._snapshot(meta, running=False), task_cards())
