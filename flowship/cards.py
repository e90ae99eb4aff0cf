"""Metaflow's ``metaflow.cards`` names, accepted so that flows using ``@card`` run unchanged; nothing is rendered yet.

Cards are not rendered yet (a later release renders them): the components
(``Markdown``, ``Table``, ``Image``, ``Artifact``, ``VegaChart``,
``ProgressBar``, ``Error``, ...) take Metaflow's constructor arguments and
keep them, and ``current.card.append(...)``, ``current.card["id"]``,
``current.card.refresh()`` accept them without failing the task. What a step
appends is kept in memory for the task only. ``flow check`` warns about every
``@card`` (``compiler/decorators.py``) so nobody expects a report to appear.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from flowship.decorators import card  # the decorator itself: accepted by flow check with a warning

__all__ = [
    "card",
    "get_cards",
    "MetaflowCardComponent",
    "Markdown",
    "Table",
    "Image",
    "Artifact",
    "VegaChart",
    "ProgressBar",
    "Error",
    "ValueBox",
    "PythonCode",
    "EventsTimeline",
    "JSONViewer",
    "YAMLViewer",
    "CardCollector",
    "task_cards",
]

NOT_RENDERED = "cards are not rendered yet"


def get_cards(task: Any, id: str | None = None, type: str | None = None, follow_resumed: bool = True) -> list[Any]:
    """The cards a task produced: none, since cards are not rendered yet."""
    return []


class MetaflowCardComponent:
    """A card component: its arguments are kept; ``update`` changes them; ``render`` has nothing to render yet."""

    REALTIME_UPDATABLE = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args, self.kwargs = args, kwargs

    def update(self, *args: Any, **kwargs: Any) -> None:
        self.args, self.kwargs = args or self.args, {**self.kwargs, **kwargs}

    def render(self) -> dict[str, Any]:
        return {"type": type(self).__name__, "rendered": False, "why": NOT_RENDERED}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(not rendered)"


class Markdown(MetaflowCardComponent):
    def __init__(self, text: str | None = None) -> None:
        super().__init__(text=text)


class Table(MetaflowCardComponent):
    def __init__(
        self, data: list[list[Any]] | None = None, headers: list[str] | None = None, disable_updates: bool = False
    ):
        super().__init__(data=data, headers=headers, disable_updates=disable_updates)

    @classmethod
    def from_dataframe(cls, dataframe: Any = None, truncate: bool = True) -> Table:
        return cls(data=[], headers=[])


class Image(MetaflowCardComponent):
    def __init__(self, src: bytes | None = None, label: str | None = None, disable_updates: bool = True):
        super().__init__(src=src, label=label, disable_updates=disable_updates)

    @classmethod
    def from_pil_image(cls, pilimage: Any, label: str | None = None, disable_updates: bool = False) -> Image:
        return cls(None, label, disable_updates)

    @classmethod
    def from_matplotlib(cls, plot: Any, label: str | None = None, disable_updates: bool = False) -> Image:
        return cls(None, label, disable_updates)


class Artifact(MetaflowCardComponent):
    def __init__(self, artifact: Any, name: str | None = None, compressed: bool = True):
        super().__init__(artifact=artifact, name=name, compressed=compressed)


class VegaChart(MetaflowCardComponent):
    def __init__(self, spec: dict[str, Any], show_controls: bool = False):
        super().__init__(spec=spec, show_controls=show_controls)

    @classmethod
    def from_altair_chart(cls, altair_chart: Any) -> VegaChart:
        return cls({})


class ProgressBar(MetaflowCardComponent):
    def __init__(
        self,
        max: int = 100,
        label: str | None = None,
        value: int = 0,
        unit: str | None = None,
        metadata: str | None = None,
    ):
        super().__init__(max=max, label=label, value=value, unit=unit, metadata=metadata)

    def update(self, new_value: int, metadata: str | None = None) -> None:
        self.kwargs["value"] = new_value
        if metadata is not None:
            self.kwargs["metadata"] = metadata


class Error(MetaflowCardComponent):
    def __init__(self, exception: BaseException, title: str | None = None):
        super().__init__(exception=exception, title=title)


class ValueBox(MetaflowCardComponent):
    def __init__(
        self,
        title: str | None = None,
        value: str | int | float = "",
        subtitle: str | None = None,
        theme: str | None = None,
        change_indicator: str | None = None,
    ):
        super().__init__(title=title, value=value, subtitle=subtitle, theme=theme, change_indicator=change_indicator)


class PythonCode(MetaflowCardComponent):
    def __init__(self, code_func: Callable[..., Any] | None = None, code_string: str | None = None):
        super().__init__(code_func=code_func, code_string=code_string)


class EventsTimeline(MetaflowCardComponent):
    def __init__(self, title: str | None = None, max_events: int = 100):
        super().__init__(title=title, max_events=max_events)


class JSONViewer(MetaflowCardComponent):
    def __init__(
        self,
        data: Any,
        collapsible: bool = True,
        max_height: str | None = None,
        show_copy_button: bool = True,
        title: str | None = None,
    ):
        super().__init__(data=data, collapsible=collapsible, max_height=max_height, title=title)


class YAMLViewer(JSONViewer):
    pass


class CardComponents:
    """One card's components (``current.card["summary"]``): a list with optional ids, as Metaflow's."""

    def __init__(self) -> None:
        self._components: dict[str, MetaflowCardComponent] = {}

    def append(self, component: MetaflowCardComponent, id: str | None = None) -> None:
        self._components[id or f"#{len(self._components)}"] = component

    def extend(self, components: Iterable[MetaflowCardComponent]) -> None:
        for component in components:
            self.append(component)

    def clear(self) -> None:
        self._components.clear()

    def refresh(self, data: Any = None, force: bool = False) -> None:
        """Nothing to send: cards are not rendered yet."""

    @property
    def components(self) -> dict[str, MetaflowCardComponent]:
        return self._components

    def __getitem__(self, id: str) -> MetaflowCardComponent:
        return self._components[id]

    def __setitem__(self, id: str, component: MetaflowCardComponent) -> None:
        self._components[id] = component

    def __contains__(self, id: str) -> bool:
        return id in self._components

    def __iter__(self) -> Iterator[MetaflowCardComponent]:
        return iter(self._components.values())

    def __len__(self) -> int:
        return len(self._components)


class CardCollector(CardComponents):
    """``current.card``: the default card's components, and every other card by its id (made on first use)."""

    def __init__(self) -> None:
        super().__init__()
        self._cards: dict[str, CardComponents] = {}

    def __getitem__(self, id: str) -> CardComponents:  # type: ignore[override]
        return self._cards.setdefault(id, CardComponents())

    def __setitem__(self, id: str, components: Any) -> None:
        self[id].clear()
        self[id].extend(components if isinstance(components, list) else [components])

    def get(self, type: str | None = None) -> list[MetaflowCardComponent]:
        return list(self)


_TASK_CARDS = CardCollector()


def task_cards() -> CardCollector:
    """The running task's ``current.card`` (one process runs one task)."""
    return _TASK_CARDS
