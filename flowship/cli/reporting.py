"""``flow report``: a run as one HTML page (``flowship/report/``); ``flow run --report`` writes it as the run ends."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from flowship.cli.common import output_file, relative
from flowship.cli.options import add_parser, datastore_option
from flowship.errors import FlowshipError

__all__ = ["add_commands", "write_report", "report_after_run", "default_report_path"]


def default_report_path(flow: str, run_id: str) -> Path:
    return Path(f"{flow}-{run_id}.html")


def write_report(
    datastore_url: str, flow: str, run_id: str, output: str | None, metrics: list[str] | None = None
) -> Path:
    """Read the run from the store and write its report (and its cards beside it); return the report's path."""
    from flowship.providers.storage import open_storage
    from flowship.report.run_report import write_run_report
    from flowship.report.run_view import read_run_view
    from flowship.runtime.datastore import FlowDatastore

    store = FlowDatastore(open_storage(datastore_url), flow)
    default = default_report_path(flow, run_id)
    path = output_file(output, default.name) if output else default
    return write_run_report(store, read_run_view(store, run_id), path, metrics)


def _report(args: argparse.Namespace) -> int:
    from flowship.cli.local import existing_store

    parts = args.pathspec.strip("/").split("/")
    if len(parts) != 2 or not all(parts):
        raise FlowshipError(f"'{args.pathspec}' is not FLOW/RUN — e.g. flow report HelloFlow/20261202T101500-123456")
    store = existing_store(args.datastore, "report")
    path = write_report(store.url, parts[0], parts[1], args.output, args.metric)
    print(relative(str(path)))
    return 0


def add_commands(commands: Any) -> None:
    report = add_parser(commands, "report", "write a run's report, one HTML page: FLOW/RUN [-o report.html]")
    report.add_argument("pathspec", help="FLOW/RUN, e.g. HelloFlow/20261202T101500-123456")
    report.add_argument(
        "-o", "--output", default=None, help="the page to write, or a folder (default: FLOW-RUN.html here)"
    )
    report.add_argument(
        "--metric",
        action="append",
        default=None,
        metavar="ARTIFACT",
        help="show this artifact's trend across the namespace's runs (repeatable; default: what the gates read)",
    )
    datastore_option(report)
    report.set_defaults(handler=_report)


def report_after_run(datastore_url: str, flow: str, run_id: str) -> None:
    """`flow run --report`: the report of the run that just ended, failed or not; its path on stderr."""
    path = write_report(datastore_url, flow, run_id, None)
    print(f"report: {relative(str(path))}", file=sys.stderr)
