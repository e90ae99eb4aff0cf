"""``flow metrics FLOW ARTIFACT``: an artifact across runs, as a table, a chart, and a scheduled alert.

Prints each successful run's value (time, run, value), oldest first; with
``--plot`` writes a chart (``runtime/chart.py``); with ``--alert EXPR`` marks
the runs for which EXPR holds and exits 1 naming them, so the command can run
on a schedule and fail loudly when a metric drifts.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from flowship.cli.options import add_parser, datastore_option

__all__ = ["add_commands"]


def _metrics(args: argparse.Namespace) -> int:
    from flowship.cli.local import existing_store
    from flowship.runtime.metrics import CURRENT, check_alert, metric_series

    store = existing_store(args.datastore, "metrics")
    chosen = None if args.all_namespaces else (args.namespace or CURRENT)
    series = metric_series(args.flow, args.artifact, datastore=store.url, namespace=chosen, last=args.last)
    if series.missing:
        print(
            f"note: {len(series.missing)} successful run(s) have no artifact {args.artifact}: "
            f"{', '.join(series.missing[:5])}",
            file=sys.stderr,
        )
    if not series.points:
        print(
            f"no successful run of {args.flow} with {args.artifact} in this namespace "
            "(--namespace NAME or --all-namespaces to look elsewhere)"
        )
        return 1 if args.alert else 0  # a scheduled check with nothing to check must not pass quietly
    checks = {c.point.run_id: c for c in check_alert(series, args.alert)} if args.alert else {}
    for point in series.points:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(point.at))
        check = checks.get(point.run_id)
        note = ""
        if check is not None and check.broke is None:
            note = "  (not checked: needs earlier runs)"
        elif check is not None and check.broke:
            note = "  ALERT " + ", ".join(f"{k}={v}" for k, v in check.values.items())
        print(f"{when}  {point.run_id}  {point.value!r}{note}")
    broke = [run_id for run_id, check in checks.items() if check.broke]
    if args.plot:
        from flowship.runtime.chart import write_chart

        write_chart(args.plot, series, broke)
        print(f"wrote {args.plot}", file=sys.stderr)
    if broke:
        print(f"alert {args.alert} broken by {len(broke)} run(s): {', '.join(broke)}", file=sys.stderr)
        return 1
    return 0


def add_commands(commands: Any) -> None:
    metrics = add_parser(commands, "metrics", "show an artifact across a flow's runs; plot it; alert on it")
    metrics.add_argument("flow", metavar="FLOW", help="the flow's name, e.g. DailyRetrainFlow")
    metrics.add_argument("artifact", metavar="ARTIFACT", help="an artifact of the end step, e.g. accuracy")
    metrics.add_argument("--namespace", help="runs of this namespace, e.g. production:wine.prod (default: yours)")
    metrics.add_argument("--all-namespaces", action="store_true", help="runs of every user and deployment")
    metrics.add_argument("--last", type=int, metavar="N", help="only the N newest runs")
    metrics.add_argument(
        "--plot", metavar="FILE", help="write a chart: FILE.svg (needs nothing) or FILE.png (needs matplotlib)"
    )
    metrics.add_argument(
        "--alert",
        metavar="EXPR",
        help="exit 1 naming the runs for which EXPR holds; names: value, and of the runs before it previous, "
        "mean, stdev, min, max, count — e.g. 'value < 0.9' or 'abs(value - mean) > 3 * stdev'",
    )
    datastore_option(metrics)
    metrics.set_defaults(handler=_metrics)
