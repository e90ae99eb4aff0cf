"""Reading cards back: ``get_cards(task)`` and ``Task.cards``, shaped like Metaflow's card client.

A task's cards are the ``meta["cards"]`` entries of its latest trusted
attempt, so what a reader sees was written before that attempt's ``DONE``.
``Card.get()`` is the HTML, ``Card.view()`` opens it in a browser (or says
where the file is when there is no browser), and a notebook shows a card
inline (``_repr_html_``).
"""

from __future__ import annotations

import html
import os
import tempfile
import webbrowser
from collections.abc import Iterator
from typing import Any

from flowship.errors import FlowshipError, NotFound

__all__ = ["Card", "CardContainer", "get_cards", "describe_cards"]


class Card:
    """One stored card of a task attempt."""

    def __init__(self, task: Any, entry: dict[str, Any]) -> None:
        self._task, self._entry = task, entry
        self.type: str = entry["type"]
        self.error: str | None = entry.get("error")
        self.file: str | None = entry.get("file")
        self._html: str | None = None

    @property
    def id(self) -> str | None:
        return self._entry.get("id")

    @property
    def pathspec(self) -> str:
        return self._task.pathspec

    def get(self) -> str:
        """The card's HTML (read from the store once)."""
        if self.file is None:
            raise FlowshipError(f"the {self.type} card of {self.pathspec} was not saved: {self.error}")
        if self._html is None:
            self._html = self._task._ds.read_card(self._task._trusted(), self.file)
        return self._html

    @property
    def path(self) -> str:
        """A local file holding the card (a copy in the temporary folder; the store may be S3)."""
        name = f"{self.pathspec.replace('/', '-')}-{os.path.basename(self.file or 'card.html')}"
        path = os.path.join(tempfile.gettempdir(), "flowship-cards", name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(self.get())
        return path

    def view(self) -> str:
        """Open the card in a web browser when one is available; return the local file's path either way."""
        path = self.path
        try:
            webbrowser.get()
        except webbrowser.Error:
            return path
        webbrowser.open(f"file://{path}")
        return path

    def _repr_html_(self) -> str:
        return f'<iframe srcdoc="{html.escape(self.get())}" style="width:100%;height:600px;border:0"></iframe>'

    def __repr__(self) -> str:
        return f"Card(pathspec='{self.pathspec}', type='{self.type}', id={self.id!r})"


class CardContainer:
    """A task's cards, as a list (Metaflow's ``CardContainer``)."""

    def __init__(self, cards: list[Card]) -> None:
        self._cards = cards

    def __len__(self) -> int:
        return len(self._cards)

    def __iter__(self) -> Iterator[Card]:
        return iter(self._cards)

    def __getitem__(self, index: int) -> Card:
        return self._cards[index]

    def __repr__(self) -> str:
        return f"CardContainer({self._cards!r})"


def describe_cards(cards: list[dict[str, Any]]) -> str:
    """The cards a task has, for a message: "default, blank (id 'summary')" or "none"."""
    return ", ".join(c["type"] + (f" (id '{c['id']}')" if c.get("id") else "") for c in cards) or "none"


def get_cards(task: Any, id: str | None = None, type: str | None = None, follow_resumed: bool = True) -> CardContainer:
    """The cards of ``task`` (a Client ``Task`` or its pathspec), those with ``id`` and/or of ``type`` only.

    ``follow_resumed`` is accepted for Metaflow's signature: a task a resumed run reused has its cards copied
    with it, so they are always found in the run that is read."""
    from flowship.runtime.client import Task

    if isinstance(task, str):
        task = Task(task)
    if not task.finished:
        raise NotFound(f"task {task.pathspec} has not finished, so it has no cards yet")
    entries = task.metadata.get("cards", [])
    chosen = [e for e in entries if (id is None or e.get("id") == id) and (type is None or e["type"] == type)]
    if not chosen and (id is not None or type is not None):
        wanted = " and ".join(x for x in (f"id '{id}'" if id else "", f"type '{type}'" if type else "") if x)
        raise NotFound(f"task {task.pathspec} has no card with {wanted}; its cards: {describe_cards(entries)}")
    return CardContainer([Card(task, e) for e in chosen])
