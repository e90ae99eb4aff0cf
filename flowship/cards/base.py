"""What every card component shares: the base class users subclass, and rendering one safely.

``render_component`` is the one place a component becomes HTML: a component
that raises, or an object that is not a component at all, becomes an error
box in its place (Metaflow shows a failed component the same way), so a card
always renders and a task never fails because of its card.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from flowship.cards.page import escape

__all__ = ["MetaflowCardComponent", "RenderContext", "render_component", "error_box", "CardTimeout"]


class CardTimeout(BaseException):
    """A card took longer than its @card(timeout=...): it stops the whole card, not only one component."""


@dataclass
class RenderContext:
    """What one card's rendering collects: the scripts its components need, and unique element ids."""

    scripts: set[str] = field(default_factory=set)
    _ids: Any = field(default_factory=itertools.count)

    def new_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids)}"


class MetaflowCardComponent:
    """A card component: subclasses keep their arguments and implement ``render_html``.

    ``component_id`` and ``REALTIME_UPDATABLE`` are Metaflow's attributes; a
    component appended with ``current.card.append(c, id="x")`` is found again
    as ``current.card.components["x"]``.
    """

    REALTIME_UPDATABLE = False
    component_id: str | None = None

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Change what the component shows; each component takes its own arguments (Metaflow's)."""
        raise NotImplementedError(f"{type(self).__name__} cannot be updated")

    def render_html(self, context: RenderContext) -> str:
        raise NotImplementedError(f"{type(self).__name__} does not implement render_html(context)")

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def error_box(title: str, detail: str) -> str:
    return f'<div class="error"><strong>{escape(title)}</strong><pre>{escape(detail)}</pre></div>'


def render_component(component: Any, context: RenderContext) -> str:
    """A component's HTML inside its own block; its failure (or a non-component) as an error box instead."""
    if not isinstance(component, MetaflowCardComponent):
        body = error_box(
            "Not a card component",
            f"a {type(component).__name__} was appended; append a component such as Markdown, Table or Artifact",
        )
    else:
        try:
            body = component.render_html(context)
        except Exception as exc:  # one component's failure is shown in its place; the card still renders
            body = error_box(f"{type(component).__name__} failed to render", f"{type(exc).__name__}: {exc}")
    return f'<div class="component">{body}</div>'
