"""Every task of a run on one time axis, as a static SVG: which tasks ran when, which retried, what was slow.

One row per task in the order tasks started, one bar per attempt (a retry is
a second bar on the same row, after the gap the retry waited). The critical
path's rows are drawn bold with a dark outline. No script: a run of a few
thousand tasks is a few thousand rectangles, which a browser lays out at
once, and the page works opened from a file or mailed around.
"""

from __future__ import annotations

import time
from html import escape

from flowship.report.graph_svg import STATUS_COLOURS
from flowship.report.run_view import RunView, TaskView

__all__ = ["timeline_svg", "duration_text"]

_LABEL = 200
_CHART = 840
_ROW = 14
_AXIS = 26
_TICKS = (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400)


def duration_text(seconds: float) -> str:
    """40 ms, 12.3 s, 4 min 05 s, 2 h 03 min: as precise as a person reading a report needs."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


def _tick_step(span: float) -> float:
    """The smallest round interval that puts at most ten ticks on the axis."""
    return next((tick for tick in _TICKS if span / tick <= 10), _TICKS[-1] * (span // (_TICKS[-1] * 10) + 1))


def _bars(task: TaskView, t0: float, scale: float, y: float, now: float) -> str:
    parts = []
    for attempt in task.attempts:
        end = attempt.finished_at if attempt.finished_at is not None else now
        x = _LABEL + (attempt.started_at - t0) * scale
        width = max(1.5, (end - attempt.started_at) * scale)
        if attempt.status == "reused":  # it ran before this run began: a mark at the start, not a span
            x, width, end = _LABEL, 6.0, attempt.started_at
        fill, stroke = STATUS_COLOURS[attempt.status]
        line = "#1b1b1b" if task.critical else stroke
        took = duration_text(end - attempt.started_at)
        said = f"{task.pathspec_tail} attempt {attempt.number}: {attempt.status}, {took}"
        if attempt.status == "reused":
            said = f"{task.pathspec_tail}: reused from {task.meta.get('cloned_from')}"
        parts.append(
            f'<rect class="attempt" data-status="{attempt.status}" x="{x:.1f}" y="{y + 2:.1f}" width="{width:.1f}" '
            f'height="{_ROW - 4}" fill="{fill}" stroke="{line}" stroke-width="{1.6 if task.critical else 1}">'
            f"<title>{escape(said)}</title></rect>"
        )
    return "".join(parts)


def timeline_svg(view: RunView, now: float | None = None) -> str:
    """The run's tasks on a time axis; unfinished attempts reach ``now`` (default: the current time)."""
    now = time.time() if now is None else now
    t0 = view.started_at
    t1 = max([a.finished_at or now for t in view.ran for a in t.attempts], default=t0)
    span = max(t1 - t0, 0.001)
    scale = _CHART / span
    height = _AXIS + _ROW * len(view.tasks) + 6
    width = _LABEL + _CHART + 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11" role="img" aria-label="timeline">'
    ]
    tick = _tick_step(span)
    mark = 0.0
    while mark <= span + 1e-9:
        x = _LABEL + mark * scale
        parts.append(
            f'<line x1="{x:.1f}" y1="{_AXIS - 6}" x2="{x:.1f}" y2="{height}" stroke="#e4e4e4"/>'
            f'<text x="{x:.1f}" y="{_AXIS - 10}" text-anchor="middle" fill="#555">{escape(duration_text(mark))}</text>'
        )
        mark += tick
    for row, task in enumerate(view.tasks):
        y = _AXIS + row * _ROW
        weight = ' font-weight="bold"' if task.critical else ""
        parts.append(
            f'<g class="task" data-task="{escape(task.pathspec_tail)}" data-critical="{str(task.critical).lower()}">'
            f'<text x="{_LABEL - 8}" y="{y + _ROW - 3}" text-anchor="end"{weight}>{escape(task.pathspec_tail)}</text>'
            f"{_bars(task, t0, scale, y, now)}</g>"
        )
    parts.append("</svg>")
    return "".join(parts)
