"""The card components users import from ``metaflow.cards``, under Metaflow's names and arguments, as HTML.

Each component keeps what it was given (``update`` changes it, as in
Metaflow) and turns it into HTML only when its card is rendered, through
:func:`render_component` — the one place a component becomes HTML — which
never lets one component's failure take the card down: the component is
replaced by an error box saying what went wrong (as Metaflow shows it).
Users subclass :class:`MetaflowCardComponent` for components of their own.
Images are converted to bytes when they are made (a matplotlib figure changed
or closed later still shows what it showed then), and embedded as ``data:``
URIs so a card stays one file. ``VegaChart`` asks its card for the vendored
Vega scripts (``flowship/cards/static/``); no other component needs a script.
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import reprlib
import traceback
from dataclasses import dataclass, field
from typing import Any

from flowship.cards.markdown import markdown_to_html
from flowship.cards.page import escape

__all__ = [
    "MetaflowCardComponent",
    "RenderContext",
    "CardTimeout",
    "render_component",
    "error_box",
    "Markdown",
    "Table",
    "Image",
    "Artifact",
    "VegaChart",
    "ProgressBar",
    "Error",
    "preview",
    "image_type",
]


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


TABLE_ROWS = 100  # Table.from_dataframe(truncate=True) shows this many rows, and says how many it left out
_REPR = reprlib.Repr()
_REPR.maxstring, _REPR.maxother, _REPR.maxlist, _REPR.maxdict, _REPR.maxlevel = 300, 300, 20, 20, 4


def preview(value: Any, compressed: bool = True) -> str:
    """A value's repr: shortened (``reprlib``, as Metaflow's Artifact) unless ``compressed`` is False."""
    if not compressed:
        import pprint

        return pprint.pformat(value, width=100)
    return _REPR.repr(value)


class Markdown(MetaflowCardComponent):
    """Markdown text (raw HTML in it is shown as text)."""

    def __init__(self, text: str | None = None) -> None:
        self.text = text

    def update(self, text: str | None = None) -> None:
        self.text = text

    def render_html(self, context: RenderContext) -> str:
        return f'<div class="markdown">{markdown_to_html(self.text or "")}</div>'


class Artifact(MetaflowCardComponent):
    """Any Python object, pretty-printed; long ones shortened when ``compressed``."""

    def __init__(self, artifact: Any, name: str | None = None, compressed: bool = True) -> None:
        self.artifact, self.name, self.compressed = artifact, name, compressed

    def update(self, artifact: Any) -> None:
        self.artifact = artifact

    def render_html(self, context: RenderContext) -> str:
        label = f'<div class="muted">{escape(self.name)}</div>' if self.name is not None else ""
        return f"{label}<pre>{escape(preview(self.artifact, self.compressed))}</pre>"


class Table(MetaflowCardComponent):
    """Rows of cells; a cell is text, a number, or another component (an Image, an Artifact, ...)."""

    def __init__(
        self, data: list[list[Any]] | None = None, headers: list[str] | None = None, disable_updates: bool = False
    ) -> None:
        self.data = [list(row) for row in (data or [])]
        self.headers = [str(h) for h in (headers or [])]
        self.note: str | None = None
        self.REALTIME_UPDATABLE = not disable_updates

    def update(self, *args: Any, **kwargs: Any) -> None:
        """As in Metaflow, a table is not updated as a whole; update the components in its cells."""
        print("warning: @card Table has no update(); update the components inside its cells", flush=True)

    @classmethod
    def from_dataframe(cls, dataframe: Any = None, truncate: bool = True) -> Table:
        """A pandas DataFrame as a table: its index as the first column, at most 100 rows when ``truncate``."""
        kind = f"{type(dataframe).__module__}.{type(dataframe).__name__}"
        if not hasattr(dataframe, "itertuples") or not hasattr(dataframe, "columns"):
            return cls(headers=[f"Object type {kind} not supported"], disable_updates=True)
        shown = dataframe.head(TABLE_ROWS) if truncate else dataframe
        index_name = dataframe.index.name if dataframe.index.name is not None else ""
        headers = [str(index_name), *(str(c) for c in dataframe.columns)]
        table = cls([list(row) for row in shown.itertuples(index=True, name=None)], headers, disable_updates=True)
        if len(shown) < len(dataframe):
            table.note = f"{len(dataframe) - len(shown)} more rows not shown ({len(dataframe)} in all)"
        return table

    def render_html(self, context: RenderContext) -> str:
        head = "".join(f"<th>{escape(h)}</th>" for h in self.headers)
        rows = []
        for row in self.data:
            cells = "".join(f"<td>{_cell(value, context)}</td>" for value in row)
            rows.append(f"<tr>{cells}</tr>")
        thead = f"<thead><tr>{head}</tr></thead>" if head else ""
        note = f'<div class="muted">{escape(self.note)}</div>' if self.note else ""
        return f'<div class="table-wrap"><table>{thead}<tbody>{"".join(rows)}</tbody></table></div>{note}'


def _cell(value: Any, context: RenderContext) -> str:
    if isinstance(value, MetaflowCardComponent):
        return render_component(value, context)
    if isinstance(value, float):
        return escape(f"{value:.6g}")
    return escape(value if isinstance(value, str) else preview(value))


_IMAGE_TYPES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"RIFF", "image/webp"),
    (b"<svg", "image/svg+xml"),
    (b"<?xml", "image/svg+xml"),
)


def image_type(data: bytes) -> str | None:
    """The MIME type of image bytes, by their first bytes, or None when they are not an image a browser shows."""
    return next((kind for magic, kind in _IMAGE_TYPES if data.lstrip()[: len(magic)] == magic), None)


class Image(MetaflowCardComponent):
    """An image from bytes (PNG, JPEG, GIF, WebP, SVG), a PIL image or a matplotlib figure, embedded in the card."""

    def __init__(self, src: Any = None, label: str | None = None, disable_updates: bool = True) -> None:
        self.label = label
        self.REALTIME_UPDATABLE = not disable_updates
        self.uri: str | None = None
        self.problem: str | None = None
        self.update(src, label)

    def update(self, image: Any, label: str | None = None) -> None:
        self.label = label if label is not None else self.label
        try:
            self.uri, self.problem = _image_uri(image), None
        except Exception as exc:  # a bad image is shown as its error in the card, never raised in the step
            self.uri, self.problem = None, f"{type(exc).__name__}: {exc}"

    @classmethod
    def from_pil_image(cls, pilimage: Any, label: str | None = None, disable_updates: bool = False) -> Image:
        return cls(pilimage, label, disable_updates)

    @classmethod
    def from_matplotlib(cls, plot: Any, label: str | None = None, disable_updates: bool = False) -> Image:
        return cls(plot, label, disable_updates)

    def render_html(self, context: RenderContext) -> str:
        if self.uri is None:
            return error_box("Image cannot be shown", self.problem or "no image was given")
        caption = f"<figcaption>{escape(self.label)}</figcaption>" if self.label else ""
        return f'<figure><img src="{self.uri}" alt="{escape(self.label or "")}">{caption}</figure>'


def _image_uri(image: Any) -> str:
    if isinstance(image, str) and image.startswith("data:image/"):
        return escape(image)
    if isinstance(image, (bytes, bytearray, memoryview)):
        data = bytes(image)
    elif hasattr(image, "savefig") or hasattr(getattr(image, "figure", None), "savefig"):  # a Figure, or its Axes
        figure = image if hasattr(image, "savefig") else image.figure
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", bbox_inches="tight")
        data = buffer.getvalue()
    elif hasattr(image, "save") and hasattr(image, "mode"):  # a PIL image
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        data = buffer.getvalue()
    else:
        raise TypeError(f"a {type(image).__name__} is not an image: give bytes, a PIL image or a matplotlib figure")
    kind = image_type(data)
    if kind is None:
        raise ValueError("the bytes are not a PNG, JPEG, GIF, WebP or SVG image")
    return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"


class VegaChart(MetaflowCardComponent):
    """A Vega-Lite chart from its spec (a dict), or an Altair chart; drawn by the vendored Vega in the card."""

    REALTIME_UPDATABLE = True

    def __init__(self, spec: dict[str, Any], show_controls: bool = False) -> None:
        self.spec, self.show_controls = spec, show_controls

    def update(self, spec: dict[str, Any] | None = None) -> None:
        if spec is not None:
            self.spec = spec

    @classmethod
    def from_altair_chart(cls, altair_chart: Any) -> VegaChart:
        if not hasattr(altair_chart, "to_dict"):
            raise TypeError(f"a {type(altair_chart).__name__} is not an Altair chart")
        return cls(altair_chart.to_dict())

    def render_html(self, context: RenderContext) -> str:
        spec = self.spec.to_dict() if hasattr(self.spec, "to_dict") else self.spec
        if not isinstance(spec, dict):
            raise TypeError(f"a Vega-Lite spec is a dict, got {type(spec).__name__}")
        context.scripts.add("vega")
        element = context.new_id("vega")
        data = json.dumps(spec, default=str).replace("</", "<\\/")
        options = json.dumps({"actions": bool(self.show_controls), "renderer": "svg"})
        return (
            f'<div class="vega-chart" id="{element}"></div>'
            f'<script type="application/json" id="{element}-spec">{data}</script>'
            f"<script>flowshipVega({json.dumps(element)}, {options});</script>"
        )


class ProgressBar(MetaflowCardComponent):
    """How far something got: ``value`` of ``max``, with a label, a unit and a note."""

    REALTIME_UPDATABLE = True

    def __init__(
        self,
        max: int = 100,
        label: str | None = None,
        value: int = 0,
        unit: str | None = None,
        metadata: str | None = None,
    ) -> None:
        self.max, self.label, self.value, self.unit, self.metadata = max, label, value, unit, metadata

    def update(self, new_value: int, metadata: str | None = None) -> None:
        self.value = new_value
        if metadata is not None:
            self.metadata = metadata

    def render_html(self, context: RenderContext) -> str:
        unit = f" {escape(self.unit)}" if self.unit else ""
        label = f"<strong>{escape(self.label)}</strong>" if self.label else ""
        note = f'<span class="muted">{escape(self.metadata)}</span>' if self.metadata else ""
        return (
            f'<div class="progress">{label}<progress max="{escape(self.max)}" value="{escape(self.value)}">'
            f"</progress><span>{escape(self.value)}/{escape(self.max)}{unit}</span>{note}</div>"
        )


class Error(MetaflowCardComponent):
    """An exception with its traceback, under an optional title."""

    def __init__(self, exception: BaseException, title: str | None = None) -> None:
        self.exception, self.title = exception, title

    def render_html(self, context: RenderContext) -> str:
        text = "".join(traceback.format_exception(type(self.exception), self.exception, self.exception.__traceback__))
        return error_box(self.title or type(self.exception).__name__, text)
