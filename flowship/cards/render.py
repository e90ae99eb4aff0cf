"""Render a task's cards and write them into its attempt in the store, never failing the task.

The step command calls :func:`write_task_cards` after the step's artifacts
are saved and before the attempt's ``meta.json`` and ``DONE`` are written, so
a card is trusted exactly when its attempt is. Each card is rendered under
its ``timeout`` (a ``SIGALRM`` in the task's main thread, the one the step
ran in); a card that raises or runs out of time is recorded with its error:
with ``save_errors=True`` (the default) as a card that shows the error, with
``save_errors=False`` as no file at all. Either way the task's status is the
step's. The result is the attempt's ``meta["cards"]`` list.
"""

from __future__ import annotations

import signal
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flowship.cards.base import CardTimeout, error_box
from flowship.cards.cardtypes import TaskSnapshot, render_card
from flowship.cards.collector import CardCollector
from flowship.cards.page import escape, page
from flowship.compiler.ir import Card

__all__ = ["card_file", "render_task_cards", "write_task_cards", "CardTimeout"]


def card_file(index: int, card: Card) -> str:
    """Where the step's ``index``-th card lives inside its attempt: unique even for two cards of one type."""
    return f"cards/{index}-{card.type}" + (f"-{card.id}" if card.id else "") + ".html"


@contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise CardTimeout(f"rendering took longer than its timeout of {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


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
