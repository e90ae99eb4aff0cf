"""The card types a ``@card(type=...)`` names: ``default``, ``blank`` and ``html``, as Metaflow's.

- ``default``: the step's own components first (as Metaflow puts them),
  then the task (pathspec, attempt, status, start, end, duration, user, tags), the run's
  parameters, every artifact with its type, size and a short preview, the
  step's code, the end of its logs, and the flow graph with this step
  marked. Options (Metaflow's): ``only_repr`` (default True; False shows a
  pandas DataFrame artifact as a table and image bytes as the image) and
  ``max_artifact_size`` (bytes; larger artifacts get no preview).
- ``blank``: only the step's components, under ``options={"title": ...}``.
- ``html``: the task's ``html`` artifact (``options={"artifact": name}``
  names another) as the page, as Metaflow's HTML card extension does.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from flowship.cards.components import Image, RenderContext, Table, image_type, preview, render_component
from flowship.cards.page import escape, page
from flowship.compiler.ir import Card, FlowIR
from flowship.report.graph_svg import graph_svg

__all__ = ["TaskSnapshot", "render_card", "scripts_for", "LOG_TAIL_LINES", "STATIC"]

LOG_TAIL_LINES = 40
MAX_ARTIFACT_SIZE = 200 * 2**20  # Metaflow's default: larger artifacts are listed without a preview
_PREVIEW_CHARS = 300
# Only a card that contains a VegaChart carries the vendored Vega scripts (about 830 KB), so every other card
# stays small. flowshipVega hands each chart's spec, kept in a JSON script element beside it, to vega-embed,
# and shows an error in place of a chart that cannot be drawn.
STATIC = Path(__file__).resolve().parent / "static"
_EMBED = """
function flowshipVega(id, options) {
  var element = document.getElementById(id);
  var spec = JSON.parse(document.getElementById(id + "-spec").textContent);
  vegaEmbed(element, spec, options).catch(function (error) {
    element.className += " error";
    element.textContent = "The chart cannot be drawn: " + error.message;
  });
}
"""


@cache
def _vendored(name: str) -> str:
    return (STATIC / f"{name}.min.js").read_text(encoding="utf-8")


def scripts_for(needs: set[str]) -> list[str]:
    """The script sources a card needs, in load order, for the names its components asked for."""
    if "vega" not in needs:
        return []
    return [_vendored("vega"), _vendored("vega-lite"), _vendored("vega-embed"), _EMBED]


@dataclass
class TaskSnapshot:
    """What a card shows of one task attempt, gathered by the step command after (or while) the step ran."""

    pathspec: str
    ir: FlowIR
    step: str
    meta: Mapping[str, Any]  # the attempt's metadata: attempt, started_at, finished_at, status, artifacts
    values: Mapping[str, Any]  # artifact name -> value, as the step left them
    parameters: tuple[str, ...] = ()  # which artifacts are the run's parameters
    logs: Mapping[str, str] = field(default_factory=dict)
    source: str | None = None  # the step's code
    running: bool = False  # a refresh while the step runs, not the finished task
    user: str | None = None  # who started the run
    tags: tuple[str, ...] = ()  # the run's tags when the task started


def _when(seconds: Any) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(seconds)) if isinstance(seconds, (int, float)) else "-"


def _vertical(rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{escape(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<table class="vertical"><tbody>{body}</tbody></table>'


def _size(size: Any) -> str:
    if not isinstance(size, int):
        return "-"
    if size < 1024:
        return f"{size} B"
    scaled = float(size)
    for unit in ("KiB", "MiB", "GiB"):
        scaled /= 1024
        if scaled < 1024 or unit == "GiB":
            break
    return f"{scaled:.1f} {unit}"


def _artifact_preview(value: Any, size: Any, options: Mapping[str, Any], context: RenderContext) -> str:
    limit = options.get("max_artifact_size", MAX_ARTIFACT_SIZE)
    if isinstance(size, int) and isinstance(limit, int) and size > limit:
        return '<span class="muted">larger than max_artifact_size: no preview</span>'
    if not options.get("only_repr", True):
        if type(value).__name__ == "DataFrame" and hasattr(value, "itertuples"):
            return render_component(Table.from_dataframe(value), context)
        if isinstance(value, bytes) and image_type(value):
            return render_component(Image(value), context)
    text = preview(value)  # reprlib stands in for a __repr__ that raises
    short = text if len(text) <= _PREVIEW_CHARS else text[:_PREVIEW_CHARS] + " …"
    return f"<code>{escape(short)}</code>"


def _task_section(snapshot: TaskSnapshot) -> str:
    meta = snapshot.meta
    started, finished = meta.get("started_at"), meta.get("finished_at")
    duration = f"{finished - started:.1f} s" if isinstance(started, float) and isinstance(finished, float) else "-"
    status = "running" if snapshot.running else meta.get("status", "-")
    return "<h2>Task</h2>" + _vertical(
        [
            ("Pathspec", escape(snapshot.pathspec)),
            ("Attempt", escape(meta.get("attempt", 0))),
            ("Status", escape(status)),
            ("Started", escape(_when(started))),
            ("Finished", escape("-" if snapshot.running else _when(finished))),
            ("Duration", escape("-" if snapshot.running else duration)),
            ("User", escape(snapshot.user or "-")),
            ("Tags", escape(", ".join(snapshot.tags) or "-")),
        ]
    )


def _artifact_rows(names: list[str], snapshot: TaskSnapshot, card: Card, context: RenderContext) -> str:
    refs = snapshot.meta.get("artifacts", {})
    rows = []
    for name in names:
        ref = refs.get(name, {})
        kind = ref.get("type") or type(snapshot.values[name]).__name__
        shown = _artifact_preview(snapshot.values[name], ref.get("size"), card.options, context)
        rows.append(
            f"<tr><td>{escape(name)}</td><td>{escape(kind)}</td><td>{_size(ref.get('size'))}</td><td>{shown}</td></tr>"
        )
    head = "<thead><tr><th>Name</th><th>Type</th><th>Size</th><th>Value</th></tr></thead>"
    return f'<div class="table-wrap"><table class="artifacts">{head}<tbody>{"".join(rows)}</tbody></table></div>'


def _default_body(card: Card, snapshot: TaskSnapshot, context: RenderContext) -> str:
    parts = [_task_section(snapshot)]
    parameters = [n for n in snapshot.parameters if n in snapshot.values]
    parts.append("<h2>Parameters</h2>")
    parts.append(
        _artifact_rows(parameters, snapshot, card, context) if parameters else '<p class="muted">No parameters</p>'
    )
    artifacts = sorted(n for n in snapshot.values if n not in parameters and n != "name")
    parts.append("<h2>Artifacts</h2>")
    parts.append(
        _artifact_rows(artifacts, snapshot, card, context) if artifacts else '<p class="muted">No artifacts</p>'
    )
    if snapshot.source:
        parts.append(f'<h2>Code</h2><pre><code class="language-python">{escape(snapshot.source)}</code></pre>')
    for stream in ("stdout", "stderr"):
        lines = snapshot.logs.get(stream, "").rstrip("\n").splitlines()
        if lines:
            tail = lines[-LOG_TAIL_LINES:]
            note = f" (last {len(tail)} of {len(lines)} lines)" if len(lines) > len(tail) else ""
            parts.append(f"<h2>{stream}{escape(note)}</h2><pre>{escape(chr(10).join(tail))}</pre>")
    state = "running" if snapshot.running else str(snapshot.meta.get("status", ""))
    svg = graph_svg(snapshot.ir, highlight=snapshot.step, status={snapshot.step: state})
    parts.append(f'<h2>Flow graph</h2><div class="graph">{svg}</div>')
    return "\n".join(parts)


def render_card(card: Card, snapshot: TaskSnapshot, components: list[Any], warnings: list[str]) -> str:
    """One card of the task as a complete, self-contained HTML page."""
    if card.type == "html":
        name = card.options.get("artifact", "html")
        if name not in snapshot.values:
            raise ValueError(f"the html card shows the artifact '{name}', which step '{snapshot.step}' did not set")
        text = str(snapshot.values[name])
        if text.lstrip()[:15].lower().startswith(("<!doctype", "<html")):
            return text  # a whole document already: shown exactly as the step wrote it
        return page(snapshot.pathspec, text)
    context = RenderContext()
    title = card.options.get("title", "") if card.type == "blank" else snapshot.pathspec
    parts = [f"<h1>{escape(title)}</h1>"] if title else []
    where = (f"{snapshot.pathspec} · " if title != snapshot.pathspec else "") + f"{card.type} card"
    where += f" '{card.id}'" if card.id else ""
    parts.append(f'<p class="subtitle">{escape(where)}</p>')
    if snapshot.running:
        parts.append(f'<div class="warning">Running: a snapshot taken at {_when(time.time())}</div>')
    parts.extend(f'<div class="warning">{escape(w)}</div>' for w in warnings)
    parts.extend(render_component(c, context) for c in components)
    if card.type == "default":
        parts.append(_default_body(card, snapshot, context))
    return page(f"{snapshot.pathspec} — {card.id or card.type}", "\n".join(parts), scripts=scripts_for(context.scripts))
