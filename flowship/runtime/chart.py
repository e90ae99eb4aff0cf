"""``flow metrics --plot``: a metric's trend as a chart file.

An SVG is written by hand, so a chart needs nothing installed: a line through
the runs' values, oldest on the left, each run a dot with its id and value
as a tooltip, runs that broke an alert in red, the value range and dates on
the axes. A PNG is drawn with matplotlib when it is importable; without it
the error says so and points at SVG.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Collection
from html import escape

from flowship.errors import FlowshipError
from flowship.runtime.metrics import MetricSeries, numbers_of

__all__ = ["write_chart", "svg_chart"]

_WIDTH, _HEIGHT, _MARGIN = 720, 360, 56
_LINE, _ALERT = "#1f6feb", "#d1242f"


def _day(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(at))


def svg_chart(series: MetricSeries, broke: Collection[str] = (), marked: Collection[str] = ()) -> str:
    """The SVG text of ``series``' trend; runs named in ``broke`` are drawn red, those in ``marked`` ringed."""
    values = numbers_of(series)
    if not values:
        raise FlowshipError(f"no run of {series.flow} has {series.artifact}: nothing to plot")
    finite = [value for value in values if math.isfinite(value)]  # nan and inf are named above the chart
    if not finite:
        raise FlowshipError(f"no run of {series.flow} has a finite {series.artifact}: nothing to plot")
    low, high = min(finite), max(finite)
    span = (high - low) or abs(high) or 1.0
    low, high = low - span * 0.05, high + span * 0.05
    inner_w, inner_h = _WIDTH - 2 * _MARGIN, _HEIGHT - 2 * _MARGIN

    def x(index: int) -> float:
        return _MARGIN + (inner_w * index / (len(values) - 1) if len(values) > 1 else inner_w / 2)

    def y(value: float) -> float:
        return _MARGIN + inner_h * (1 - (value - low) / (high - low))

    unplotted = len(values) - len(finite)
    title = escape(
        f"{series.flow} {series.artifact} over {len(values)} runs"
        + (f" ({unplotted} not finite, marked at the top)" if unplotted else "")
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{_HEIGHT}" '
        f'viewBox="0 0 {_WIDTH} {_HEIGHT}" font-family="sans-serif" font-size="12">',
        f"<title>{title}</title>",
        f'<rect width="{_WIDTH}" height="{_HEIGHT}" fill="white"/>',
        f'<text x="{_MARGIN}" y="{_MARGIN / 2}" font-size="14">{title}</text>',
        f'<line x1="{_MARGIN}" y1="{_HEIGHT - _MARGIN}" x2="{_WIDTH - _MARGIN}" y2="{_HEIGHT - _MARGIN}" '
        'stroke="#888"/>',
        f'<line x1="{_MARGIN}" y1="{_MARGIN}" x2="{_MARGIN}" y2="{_HEIGHT - _MARGIN}" stroke="#888"/>',
        f'<text x="{_MARGIN - 4}" y="{y(high) + 4:.1f}" text-anchor="end">{high:.4g}</text>',
        f'<text x="{_MARGIN - 4}" y="{y(low):.1f}" text-anchor="end">{low:.4g}</text>',
        f'<text x="{_MARGIN}" y="{_HEIGHT - _MARGIN + 18}">{_day(series.points[0].at)}</text>',
        f'<text x="{_WIDTH - _MARGIN}" y="{_HEIGHT - _MARGIN + 18}" text-anchor="end">'
        f"{_day(series.points[-1].at)}</text>",
    ]
    line = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values) if math.isfinite(v))
    parts.append(f'<polyline points="{line}" fill="none" stroke="{_LINE}" stroke-width="2"/>')
    for index, (point, value) in enumerate(zip(series.points, values, strict=True)):
        if not math.isfinite(value):
            parts.append(
                f'<text class="not-finite" x="{x(index):.1f}" y="{_MARGIN - 6}" text-anchor="middle" '
                f'fill="{_ALERT}">{escape(str(value))}<title>{escape(point.run_id)}</title></text>'
            )
            continue
        colour = _ALERT if point.run_id in broke else _LINE
        tip = escape(f"{point.run_id} ({_day(point.at)}): {value:.6g}")
        parts.append(
            f'<circle cx="{x(index):.1f}" cy="{y(value):.1f}" r="{5 if point.run_id in broke else 3.5}" '
            f'fill="{colour}"><title>{tip}</title></circle>'
        )
        if point.run_id in marked:
            parts.append(
                f'<circle class="marked" cx="{x(index):.1f}" cy="{y(value):.1f}" r="8" fill="none" '
                'stroke="#1b1b1b" stroke-width="2"/>'
            )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _png(path: str, series: MetricSeries, broke: Collection[str]) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display: draw into the file only
        from matplotlib import pyplot
    except ImportError:
        raise FlowshipError(
            f"--plot {path}: a PNG is drawn with matplotlib, which is not installed (pip install matplotlib) — "
            "or write an SVG (--plot FILE.svg), which needs nothing"
        ) from None
    values = numbers_of(series)
    figure, axes = pyplot.subplots(figsize=(8, 4))
    axes.plot(range(len(values)), values, marker="o", color=_LINE)
    red = [(i, v) for i, (p, v) in enumerate(zip(series.points, values, strict=True)) if p.run_id in broke]
    if red:
        axes.scatter([i for i, _ in red], [v for _, v in red], color=_ALERT, zorder=3, label="alert")
        axes.legend()
    axes.set_title(f"{series.flow} {series.artifact} over {len(values)} runs")
    axes.set_xticks(range(len(values)), [_day(p.at)[5:] for p in series.points], rotation=45, fontsize=7)
    figure.tight_layout()
    figure.savefig(path, format="png")
    pyplot.close(figure)


def write_chart(path: str, series: MetricSeries, broke: Collection[str] = ()) -> None:
    """Write ``series``' chart to ``path``: ``.svg`` by hand, ``.png`` with matplotlib."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in (".svg", ".png"):
        raise FlowshipError(f"--plot {path}: name the chart FILE.svg or FILE.png")
    if not numbers_of(series):
        raise FlowshipError(f"no run of {series.flow} has {series.artifact}: nothing to plot")
    try:
        if suffix == ".svg":
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(svg_chart(series, broke))
        else:
            _png(path, series, broke)
    except OSError as exc:
        raise FlowshipError(f"--plot {path}: cannot write it ({exc.strerror})") from None
