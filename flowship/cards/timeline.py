"""The newer ``metaflow.cards`` components: ValueBox, PythonCode, EventsTimeline, JSONViewer and YAMLViewer.

They are rendered as static HTML: a timeline is a list of its events, newest
first, each with its fields and its payload components in a collapsible
section; the JSON and YAML viewers show the data pretty-printed, collapsible
where asked. Metaflow's interactive extras (a copy button, a live "running"
indicator) are left out: a card file is a snapshot, and it has no scripts
unless it draws a chart.
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Callable
from typing import Any

from flowship.cards.components import MetaflowCardComponent, RenderContext, render_component
from flowship.cards.page import escape

__all__ = ["ValueBox", "PythonCode", "EventsTimeline", "JSONViewer", "YAMLViewer"]

_THEMES = ("default", "success", "warning", "danger", "bg-gradient-indigo-purple")


class ValueBox(MetaflowCardComponent):
    """One headline number or word, with a title, a subtitle and a change indicator."""

    REALTIME_UPDATABLE = True

    def __init__(
        self,
        title: str | None = None,
        value: str | int | float = "",
        subtitle: str | None = None,
        theme: str | None = None,
        change_indicator: str | None = None,
    ) -> None:
        self.title, self.value, self.subtitle = title, value, subtitle
        self.theme, self.change_indicator = theme, change_indicator

    def update(self, **changes: Any) -> None:
        for name, value in changes.items():
            if name not in ("title", "value", "subtitle", "theme", "change_indicator"):
                raise TypeError(f"ValueBox.update() has no argument '{name}'")
            setattr(self, name, value)

    def render_html(self, context: RenderContext) -> str:
        theme = self.theme if self.theme in _THEMES else "default"
        parts = [f'<div class="title">{escape(self.title)}</div>' if self.title else ""]
        value = f"{self.value:,.4g}" if isinstance(self.value, float) else self.value
        parts.append(f'<div class="value">{escape(value)}</div>')
        if self.subtitle or self.change_indicator:
            extra = " ".join(escape(x) for x in (self.change_indicator, self.subtitle) if x)
            parts.append(f'<div class="muted">{extra}</div>')
        return f'<div class="valuebox {theme}">{"".join(parts)}</div>'


class PythonCode(MetaflowCardComponent):
    """Python source: a function's (``code_func``), or the text given (``code_string``)."""

    def __init__(self, code_func: Callable[..., Any] | None = None, code_string: str | None = None) -> None:
        if code_func is None and code_string is None:
            raise ValueError("PythonCode needs code_func= or code_string=")
        self.code_func, self.code_string = code_func, code_string

    def render_html(self, context: RenderContext) -> str:
        source = self.code_string if self.code_string is not None else inspect.getsource(self.code_func)  # type: ignore[arg-type]
        return f'<pre><code class="language-python">{escape(source)}</code></pre>'


class EventsTimeline(MetaflowCardComponent):
    """Events as they happened (``update(event_data, ...)`` adds one), newest first, at most ``max_events``."""

    REALTIME_UPDATABLE = True

    def __init__(self, title: str | None = None, max_events: int = 100) -> None:
        self.title, self.max_events = title, max_events
        self.events: list[dict[str, Any]] = []
        self.total = 0
        self.finished = False

    def update(
        self,
        event_data: dict[str, Any],
        style_theme: str | None = None,
        priority: str | None = None,
        payloads: dict[str, MetaflowCardComponent] | None = None,
        finished: bool | None = None,
    ) -> None:
        event: dict[str, Any] = {"metadata": {"timestamp": time.time(), **event_data}, "payloads": payloads or {}}
        event["theme"], event["priority"] = style_theme, priority
        self.events.insert(0, event)
        del self.events[self.max_events :]
        self.total += 1
        if finished is not None:
            self.finished = finished

    def render_html(self, context: RenderContext) -> str:
        state = "finished" if self.finished else f"{self.total} events"
        header = f'<h3>{escape(self.title or "Events")} <span class="badge">{escape(state)}</span></h3>'
        items = []
        for event in self.events:
            fields = dict(event["metadata"])
            when = fields.pop("timestamp")
            stamp = time.strftime("%H:%M:%S", time.gmtime(when)) if isinstance(when, (int, float)) else str(when)
            text = ", ".join(f"<strong>{escape(k)}</strong>: {escape(v)}" for k, v in fields.items())
            marks = "".join(
                f' <span class="badge">{escape(x)}</span>' for x in (event["theme"], event["priority"]) if x
            )
            payloads = "".join(
                f"<details><summary>{escape(name)}</summary>{render_component(component, context)}</details>"
                for name, component in event["payloads"].items()
            )
            items.append(f'<li><span class="muted">{stamp} UTC</span> {text}{marks}{payloads}</li>')
        shown = "" if self.total <= len(self.events) else f'<p class="muted">the {len(self.events)} newest shown</p>'
        return f'{header}<ul class="timeline">{"".join(items)}</ul>{shown}'


class JSONViewer(MetaflowCardComponent):
    """Data shown as indented JSON (values JSON cannot hold are shown as their text)."""

    def __init__(
        self,
        data: Any,
        collapsible: bool = True,
        max_height: str | None = None,
        show_copy_button: bool = True,
        title: str | None = None,
    ) -> None:
        self.data, self.collapsible, self.max_height, self.title = data, collapsible, max_height, title

    def update(self, data: Any) -> None:
        self.data = data

    def _text(self) -> str:
        return json.dumps(self.data, indent=2, default=str, ensure_ascii=False)

    def render_html(self, context: RenderContext) -> str:
        height = f' style="max-height: {escape(self.max_height)}"' if self.max_height else ""
        body = f"<pre{height}>{escape(self._text())}</pre>"
        title = escape(self.title or type(self).__name__.replace("Viewer", ""))
        if self.collapsible:
            return f"<details open><summary>{title}</summary>{body}</details>"
        return (f"<h3>{title}</h3>" if self.title else "") + body


class YAMLViewer(JSONViewer):
    """Data shown as YAML."""

    def _text(self) -> str:
        import yaml

        plain = json.loads(json.dumps(self.data, default=str))  # YAML of what JSON can hold: no Python tags
        return yaml.safe_dump(plain, sort_keys=False, allow_unicode=True)
