"""A run report's trends: chosen metrics of this run beside the same artifact in the runs before it.

Which metrics: those given (``flow report --metric NAME``), else the
artifacts the flow's own promotion gates read (``@project(gates=[...])``),
since those are the numbers its team decided production depends on. The
series are the successful runs of the run's own namespace (a production run
is compared with production runs, a user's run with that user's), read by
``runtime/metrics.py``, the same reader as ``flow metrics``.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from flowship.errors import FlowshipError
from flowship.expressions import PRODUCTION, parse_expression
from flowship.report.run_view import RunView
from flowship.runtime.chart import svg_chart
from flowship.runtime.metrics import metric_series

__all__ = ["gate_metrics", "trends_section", "TREND_RUNS"]

TREND_RUNS = 30  # the newest runs a trend shows


def gate_metrics(view: RunView) -> list[str]:
    """The artifacts of the candidate run that the flow's in-flow gates compare, in the order they appear."""
    names: list[str] = []
    for gate in view.ir.project.gates if view.ir.project else ():
        for name in parse_expression(gate).names:
            if not name.startswith(PRODUCTION + ".") and name not in names:
                names.append(name)
    return names


def _trend(view: RunView, datastore: str, metric: str) -> str:
    try:
        series = metric_series(
            view.flow, metric, datastore=datastore, namespace=view.record.get("namespace"), last=TREND_RUNS
        )
        if not series.points:
            return f'<p class="meta">{escape(metric)}: no successful run in this namespace has it yet</p>'
        chart = svg_chart(series, marked=[view.run_id])
    except FlowshipError as exc:  # a metric that is not a number cannot be drawn; the report still is
        return f'<p class="meta">{escape(metric)}: {escape(str(exc))}</p>'
    here = next((p for p in series.points if p.run_id == view.run_id), None)
    said = f"this run: {here.value!r}" if here is not None else "this run has no value (it did not succeed)"
    return f'<div class="trend" data-metric="{escape(metric)}"><p>{escape(said)}</p>{chart}</div>'


def trends_section(view: RunView, datastore: str, metrics: Sequence[str] | None = None) -> str:
    """The "Trends" part of the page; empty when there is nothing to show."""
    chosen = list(dict.fromkeys(metrics)) if metrics else gate_metrics(view)
    if not chosen:
        return ""
    runs = f"the newest {TREND_RUNS} successful runs in namespace {view.record.get('namespace')}"
    return f'<h2>Trends</h2><p class="meta">{escape(runs)}</p>' + "".join(_trend(view, datastore, m) for m in chosen)
