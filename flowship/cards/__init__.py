"""Metaflow's ``metaflow.cards``: ``@card``, the components, ``current.card`` and ``get_cards``.

A step with ``@card`` gets a self-contained HTML card per decorator, written
into its task attempt in the store (``render.py``); the components a step
appends through ``current.card`` (``collector.py``) are rendered as HTML
(``components.py``, ``timeline.py``, ``markdown.py``) in a card type's page
(``cardtypes.py``, ``page.py``); ``get_cards`` and ``Task.cards`` read them back
(``client.py``). docs/cards.md describes what each shows.
"""

from __future__ import annotations

from flowship.cards.client import Card, CardContainer, get_cards
from flowship.cards.collector import CardCollector, CardComponents, task_cards
from flowship.cards.components import (
    Artifact,
    Error,
    Image,
    Markdown,
    MetaflowCardComponent,
    ProgressBar,
    Table,
    VegaChart,
)
from flowship.cards.timeline import EventsTimeline, JSONViewer, PythonCode, ValueBox, YAMLViewer
from flowship.decorators import card

__all__ = [
    "card",
    "get_cards",
    "Card",
    "CardContainer",
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
    "CardComponents",
    "task_cards",
]
