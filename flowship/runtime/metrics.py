"""Metric trends: one artifact across a flow's runs, and alerts on it.

:func:`metric_series` reads an artifact of the end step of every successful
run in a namespace, oldest first: what ``flow metrics`` prints and plots, and
what a run report can show as a trend. :func:`check_alert` evaluates an alert
expression (the safe language of ``flowship/expressions.py``, the same one
gates use) at each run, where ``value`` is the run's value and ``previous``,
``mean``, ``stdev``, ``min``, ``max`` and ``count`` describe the runs before
it in the series — so ``abs(value - mean) > 3 * stdev`` asks whether a run
drifted from those before it. A run for which a name has no value yet (no
earlier run, or one earlier run for ``stdev``) is not checked.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any

from flowship.errors import FlowshipError
from flowship.expressions import ExpressionError, UnknownName, evaluate, parse_expression, shown
from flowship.providers.storage import open_storage
from flowship.runtime.client_scope import default_datastore, get_namespace, in_namespace
from flowship.runtime.datastore import DamagedRecord, FlowDatastore

__all__ = [
    "MetricPoint",
    "MetricSeries",
    "AlertCheck",
    "metric_series",
    "numbers_of",
    "check_alert",
    "ALERT_NAMES",
    "CURRENT",
]

ALERT_NAMES = ("value", "previous", "mean", "stdev", "min", "max", "count")
CURRENT: Any = object()  # the Client's current namespace


@dataclass(frozen=True)
class MetricPoint:
    at: float  # when the run started (seconds since the epoch)
    run_id: str
    value: Any


@dataclass(frozen=True)
class MetricSeries:
    flow: str
    artifact: str
    points: tuple[MetricPoint, ...]  # oldest first
    missing: tuple[str, ...] = ()  # successful runs whose end step has no such artifact
    datastore: str = ""


@dataclass(frozen=True)
class AlertCheck:
    point: MetricPoint
    broke: bool | None  # None: not checked (a name it reads has no value yet)
    values: dict[str, str] = field(default_factory=dict)  # what it read, as printed


def metric_series(
    flow: str,
    artifact: str,
    *,
    datastore: str | None = None,
    namespace: str | None = CURRENT,
    last: int | None = None,
) -> MetricSeries:
    """``artifact`` of the end step of each successful run of ``flow`` in ``namespace`` (default: the Client's
    current one; None: every namespace), oldest first; only the ``last`` newest when given."""
    from flowship.runtime.client import Run

    if last is not None and last < 1:
        raise FlowshipError(f"--last {last}: give how many of the newest runs to show, 1 or more")
    wanted = get_namespace() if namespace is CURRENT else namespace
    store = FlowDatastore(open_storage(datastore or default_datastore()), flow)
    runs = []
    for run_id in store.run_ids():
        try:
            record = store.read_run(run_id)
        except DamagedRecord:  # one unreadable record never hides the others
            continue
        if record is not None and in_namespace(record, wanted):
            runs.append(Run(store, run_id, record))
    runs = sorted((r for r in runs if r.successful), key=lambda r: (r.created_at, r.id))
    points, missing = [], []
    for run in runs:
        data = run.data
        if artifact in data:
            points.append(MetricPoint(run.created_at, run.id, getattr(data, artifact)))
        else:
            missing.append(run.id)
    if last is not None:
        points = points[-last:]
    return MetricSeries(flow, artifact, tuple(points), tuple(missing), store.storage.url)


def _number(point: MetricPoint, artifact: str) -> float:
    value = point.value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            return float(value)  # numpy numbers and the like
        except (TypeError, ValueError):
            raise FlowshipError(
                f"{artifact} of run {point.run_id} is {type(value).__name__} {shown(value)}, not a number: "
                "alerts and charts need numbers"
            ) from None
    return float(value)


def numbers_of(series: MetricSeries) -> list[float]:
    """The series' values as floats; a value that is no number is an error naming its run."""
    return [_number(point, series.artifact) for point in series.points]


def _statistics(earlier: list[float]) -> dict[str, float | int | None]:
    earlier = [value for value in earlier if math.isfinite(value)]  # a nan or inf run says nothing of the trend
    return {
        "previous": earlier[-1] if earlier else None,
        "mean": statistics.fmean(earlier) if earlier else None,
        "stdev": statistics.stdev(earlier) if len(earlier) > 1 else None,
        "min": min(earlier) if earlier else None,
        "max": max(earlier) if earlier else None,
        "count": len(earlier),
    }


def check_alert(series: MetricSeries, text: str) -> list[AlertCheck]:
    """``text`` evaluated at every point of ``series``; ``broke`` is True where it holds."""
    expression = parse_expression(text, what="alert", names=ALERT_NAMES, production=False)
    values = numbers_of(series)
    checks = []
    for index, point in enumerate(series.points):
        known: dict[str, Any] = {"value": values[index], **_statistics(values[:index])}

        def lookup(name: str, known: dict[str, Any] = known) -> Any:
            if known[name] is None:
                raise UnknownName(f"{name} needs earlier runs")
            return known[name]

        try:
            result, read = evaluate(expression, lookup, what="alert")
        except UnknownName:
            checks.append(AlertCheck(point, None))
            continue
        if not isinstance(result, bool):
            raise ExpressionError(
                f'alert "{expression.text}" gives {type(result).__name__} {shown(result)}, not True or False — '
                "compare it, e.g. value < 0.9"
            )
        printed = {name: f"{v:.6g}" if isinstance(v, float) else str(v) for name, v in read.items()}
        checks.append(AlertCheck(point, result, printed))
    return checks
