"""Render a task's cards and write them into its attempt in the store, never failing the task.

The step command owns a :class:`TaskCards`: before the step body it tells
``current.card`` which ``@card`` decorators the step has; it calls
:func:`write_task_cards` after the step's artifacts
are saved and before the attempt's ``meta.json`` and ``DONE`` are written, so
a card is trusted exactly when its attempt is. Each card is rendered under
its ``timeout`` (a ``SIGALRM`` in the task's main thread, the one the step
ran in); a card that raises or runs out of time is recorded with its error:
with ``save_errors=True`` (the default) as a card that shows the error, with
``save_errors=False`` as no file at all. Either way the task's status is the
step's. The result is the attempt's ``meta["cards"]`` list.
"""

from __future__ import annotations

import inspect
import math
import signal
import textwrap
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flowship.cards.cardtypes import TaskSnapshot, render_card
from flowship.cards.collector import CardCollector, task_cards
from flowship.cards.components import CardTimeout, error_box
from flowship.cards.page import escape, page
from flowship.compiler.ir import Card, FlowIR
from flowship.current import current

__all__ = ["card_file", "render_task_cards", "write_task_cards", "TaskCards"]


def card_file(index: int, card: Card) -> str:
    """Where the step's ``index``-th card lives inside its attempt: unique even for two cards of one type."""
    return f"cards/{index}-{card.type}" + (f"-{card.id}" if card.id else "") + ".html"


@contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    """Stop the card after ``seconds``. A refresh runs inside the step, maybe under its @timeout (the same
    alarm): the step's deadline then bounds the card too, and is set again afterwards for what is left of it."""
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield
        return
    step_left = signal.alarm(0)
    started = time.monotonic()

    def expire(signum: int, frame: Any) -> None:
        raise CardTimeout(f"rendering took longer than its timeout of {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(min(seconds, step_left) if step_left else seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        if step_left:  # at least a second, so a step whose deadline passed meanwhile times out right after
            signal.alarm(max(1, math.ceil(step_left - (time.monotonic() - started))))


def _error_card(card: Card, snapshot: TaskSnapshot, error: str, detail: str) -> str:
    title = f"{snapshot.pathspec} — {card.id or card.type}"
    body = f"<h1>{escape(snapshot.pathspec)}</h1>" + error_box(
        f"The {card.type} card failed to render: {error}", detail
    )
    return page(title, body)


def render_task_cards(snapshot: TaskSnapshot, collector: CardCollector) -> Iterator[tuple[dict[str, Any], str | None]]:
    """Each card's ``meta["cards"]`` entry and its HTML (None where ``save_errors=False`` kept a failure out)."""
    for index, (card, contents) in enumerate(zip(collector.cards, collector.contents, strict=True)):
        entry: dict[str, Any] = {"type": card.type, "id": card.id, "file": card_file(index, card), "error": None}
        html: str | None
        try:
            with _deadline(card.timeout):
                html = render_card(card, snapshot, list(contents), collector.warnings)
        except (Exception, CardTimeout) as exc:  # a card never fails its task: the error is recorded in its place
            entry["error"] = f"{type(exc).__name__}: {exc}"
            html = _error_card(card, snapshot, entry["error"], traceback.format_exc()) if card.save_errors else None
            if html is None:
                entry["file"] = None
        yield entry, html


def write_task_cards(datastore: Any, snapshot: TaskSnapshot, collector: CardCollector) -> list[dict[str, Any]]:
    """Render and store every card of the task's attempt; return the attempt's ``meta["cards"]``."""
    meta = snapshot.meta
    entries = []
    for entry, html in render_task_cards(snapshot, collector):
        if html is not None:
            try:
                datastore.put_card(meta["run_id"], meta["step"], meta["task_id"], meta["attempt"], entry["file"], html)
            except Exception as exc:  # the store refused it (full, no permission): the task still succeeds
                entry["error"], entry["file"] = f"the card could not be stored: {exc}", None
        entries.append(entry)
    return entries


class TaskCards:
    """The cards of the task the step command runs: ``current.card`` set up before the step, rendered into the
    store after it (``write``); ``current.card.refresh()`` during the step writes them as they are then, marked
    as running, to the same files, which the finished task's cards replace."""

    def __init__(self, datastore: Any, step: str, logs: Any) -> None:
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
            user=current.get("username"),
            tags=tuple(current.get("tags") or ()),
        )

    def _refresh(self) -> None:
        write_task_cards(self.datastore, self._snapshot(self.meta, running=True), task_cards())

    def write(self, meta: dict[str, Any]) -> list[dict[str, Any]]:
        """Render and store the finished task's cards; its ``meta["cards"]`` entries."""
        if self.ir is None or self.flow is None or not task_cards().cards:
            return []
        return write_task_cards(self.datastore, self._snapshot(meta, running=False), task_cards())
