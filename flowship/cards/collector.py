"""``current.card``: where a step puts the components of its cards, with Metaflow's rules.

The step command tells the collector which ``@card`` decorators the step has
(:meth:`CardCollector.configure`) before the step body runs. As in Metaflow:

- ``current.card.append(c)`` / ``.extend([...])`` go to the step's one
  editable card without an id (``default`` and ``blank`` are editable,
  ``html`` is not), or to the card marked ``customize=True``; when that is
  ambiguous or there is no such card, the component is dropped with a
  warning, printed once and shown in every card of the task.
- ``current.card["id"]`` is the components of the card with that id;
  an unknown id warns and returns a list that belongs to no card.
- ``current.card["id"] = [c1, c2]`` replaces that card's components.
- ``current.card.refresh()`` writes the cards as they are now while the
  step runs (see :class:`CardCollector.refresh`).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from flowship.cards.components import MetaflowCardComponent
from flowship.compiler.ir import Card
from flowship.errors import FlowshipError

__all__ = ["CardComponents", "CardCollector", "task_cards", "EDITABLE_TYPES"]

EDITABLE_TYPES = ("default", "blank")


class CardComponents:
    """One card's components, in order; a component appended with ``id=`` is also found by that id."""

    def __init__(self, components: Iterable[Any] = ()) -> None:
        self._components: list[Any] = []
        self.extend(components)

    def append(self, component: Any, id: str | None = None) -> None:
        if id is not None and isinstance(component, MetaflowCardComponent):
            component.component_id = id
        self._components.append(component)

    def extend(self, components: Iterable[Any]) -> None:
        for component in components:
            self.append(component)

    def clear(self) -> None:
        self._components.clear()

    @property
    def components(self) -> dict[str, Any]:
        """The components that were given an id, by id."""
        return {c.component_id: c for c in self._components if getattr(c, "component_id", None)}

    def __getitem__(self, key: str | int) -> Any:
        if isinstance(key, int):
            return self._components[key]
        return self.components[key]

    def __setitem__(self, key: str, component: Any) -> None:
        """Add a component under an id; as in Metaflow, an id in use is not replaced (replace the whole list
        with ``current.card[card_id] = [...]`` instead)."""
        if key in self.components:
            raise FlowshipError(
                f"the card already has a component with id '{key}'; update() it, or replace the card's components "
                "with current.card[card_id] = [...]"
            )
        self.append(component, id=key)

    def __delitem__(self, key: str) -> None:
        if key not in self.components:
            raise KeyError(f"no component with id '{key}'; the card's ids: {', '.join(self.components) or 'none'}")
        self._components.remove(self.components[key])

    def keys(self) -> list[str]:
        return list(self.components)

    def values(self) -> list[Any]:
        return list(self._components)

    def __contains__(self, key: str) -> bool:
        return key in self.components

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self._components))

    def __len__(self) -> int:
        return len(self._components)


class CardCollector:
    """``current.card`` in one task: each of the step's cards with its components."""

    def __init__(self) -> None:
        self.configure(())

    def configure(self, cards: tuple[Card, ...], refresher: Callable[[], None] | None = None) -> None:
        """Start a task whose step has ``cards``; ``refresher`` writes them while the step runs."""
        self.cards = cards
        self.contents = [CardComponents() for _ in cards]
        self.warnings: list[str] = []
        self._warned: set[str] = set()
        self._refresher = refresher
        self._last_refresh = 0.0
        editable = [i for i, c in enumerate(cards) if c.type in EDITABLE_TYPES]
        customized = [i for i in editable if cards[i].customize]
        unnamed = [i for i in editable if cards[i].id is None]
        self._default = customized[0] if len(customized) == 1 else (unnamed[0] if len(unnamed) == 1 else None)

    def _warn(self, key: str, message: str) -> None:
        """Say it once: on stderr (the task's log) and at the top of every card of the task."""
        if key not in self._warned:
            self._warned.add(key)
            self.warnings.append(message)
            print(f"@card warning: {message}", file=sys.stderr, flush=True)

    def _default_card(self, action: str) -> CardComponents | None:
        if self._default is not None:
            return self.contents[self._default]
        if not self.cards:
            why = "this step has no @card"
        elif len(self.cards) == 1:
            why = f"its one card (type '{self.cards[0].type}') is not editable"
        else:
            why = "it cannot choose among the step's cards: give each @card an id= and use current.card[id]"
        self._warn(action, f"current.card.{action} was ignored: {why}")
        return None

    def append(self, component: Any, id: str | None = None) -> None:
        target = self._default_card("append")
        if target is not None:
            target.append(component, id)

    def extend(self, components: Iterable[Any]) -> None:
        target = self._default_card("extend")
        if target is not None:
            target.extend(components)

    def clear(self) -> None:
        target = self._default_card("clear")
        if target is not None:
            target.clear()

    @property
    def components(self) -> dict[str, Any]:
        return self.contents[self._default].components if self._default is not None else {}

    def _index(self, id: str) -> int | None:
        return next((i for i, card in enumerate(self.cards) if card.id == id), None)

    def __getitem__(self, id: str) -> CardComponents:
        index = self._index(id)
        if index is None:
            self._warn(f"id {id}", f"current.card['{id}'] belongs to no card: add @card(id='{id}') to the step")
            return CardComponents()
        return self.contents[index]

    def __setitem__(self, id: str, components: Any) -> None:
        index = self._index(id)
        if index is None or not isinstance(components, list):
            why = "belongs to no card" if index is None else "must be given a list of components"
            self._warn(f"set {id}", f"current.card['{id}'] = ... was ignored: it {why}")
            return
        self.contents[index] = CardComponents(components)

    def __contains__(self, id: str) -> bool:
        return self._index(id) is not None

    def __iter__(self) -> Iterator[Any]:
        return iter(self.contents[self._default] if self._default is not None else [])

    def __len__(self) -> int:
        return len(self.contents[self._default]) if self._default is not None else 0

    def get(self, type: str | None = None) -> list[Any]:
        """The components of the first card of ``type`` (any type when None)."""
        for card, contents in zip(self.cards, self.contents, strict=True):
            if type is None or card.type == type:
                return list(contents)
        return []

    def refresh(self, data: Any = None, force: bool = False) -> None:
        """Write the step's cards as they are now, marked as running, into the task's attempt in the store.

        As Metaflow rate-limits refreshes, this writes at most once per the cards' ``refresh_interval``
        seconds unless ``force``. The finished task's cards replace these; a running card can be read with
        ``flow card get`` while the task runs (it says it is a running snapshot)."""
        if self._refresher is None:
            return
        interval = min((c.refresh_interval for c in self.cards), default=5)
        now = time.monotonic()
        if force or now - self._last_refresh >= interval:
            self._last_refresh = now
            self._refresher()


_TASK_CARDS = CardCollector()


def task_cards() -> CardCollector:
    """The running task's ``current.card`` (one process runs one task)."""
    return _TASK_CARDS
