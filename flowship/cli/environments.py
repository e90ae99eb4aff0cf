"""``flow environment show PATHSPEC|FLOW_FILE``: the exact packages of each step's @pypi/@conda environment.

For a run (``FLOW/RUN`` or ``FLOW/RUN/STEP``) it reads the environments the
run recorded — a local run's in its record, a deployed task's in its attempt
— from the store; for a flow file it resolves them for this machine, as
``flow run --environment=pypi`` would (from the lock cache when it can).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from flowship.cli.options import add_parser, datastore_option, load_checked_flow
from flowship.errors import FlowshipError

__all__ = ["add_commands"]


def _print_record(where: str, record: Any, record_id: str | None) -> None:
    from flowship.envs.lock import locked_packages

    named = f"environment {record_id[:12]}, " if record_id else ""
    source = "wheels in the store" if record.wheels_in_store else "wheels from the package index"
    print(f"{where}: {named}Python {record.python}, {source}")
    for platform, lock in sorted(record.locks.items()):
        print(f"  {platform}:")
        for package in locked_packages(lock):
            print(f"    {package.name}=={package.version}")


def _recorded(flow_store: Any, run_id: str, only_step: str) -> dict[str, str]:
    """step -> environment id, as the run recorded them."""
    from flowship.runtime.client import Flow, namespace

    namespace(None)  # a pathspec names one run exactly
    run = Flow(flow_store.flow_name, datastore=flow_store.storage.url)[run_id]
    record = flow_store.read_run(run_id) or {}
    found = dict(record.get("environments") or {})
    for step in run:
        if found.get(step.id) or (only_step and step.id != only_step):
            continue
        environment = next((task.metadata.get("environment") for task in step if task.successful), None)
        if environment:
            found[step.id] = environment
    return found


def _show_run(args: argparse.Namespace) -> int:
    from flowship.cli.local import existing_store
    from flowship.envs.record import read_record
    from flowship.providers.storage import open_storage
    from flowship.runtime.datastore import FlowDatastore

    parts = args.target.strip("/").split("/")
    if len(parts) not in (2, 3):
        raise FlowshipError(f"'{args.target}' is not FLOW/RUN, FLOW/RUN/STEP or a flow file")
    flow, run_id, step = (*parts, "")[:3]
    flow_store = FlowDatastore(open_storage(existing_store(args.datastore, "environment show").url), flow)
    environments = {k: v for k, v in _recorded(flow_store, run_id, step).items() if not step or k == step}
    if not environments:
        print(f"{'/'.join(parts)}: no step ran in an environment of its own (@pypi/@conda)")
        return 0
    for name, environment_id in sorted(environments.items()):
        _print_record(f"{flow}/{run_id}/{name}", read_record(flow_store, environment_id), environment_id)
    return 0


def _show_file(args: argparse.Namespace) -> int:
    from flowship.envs.prepare import local_records
    from flowship.runtime.locate import locate_store

    ir = load_checked_flow(args.target)
    records = local_records(ir, locate_store(args.datastore, args.target).url)
    if not records:
        print(f"{args.target}: no step has an environment of its own (@pypi/@conda)")
    for name, record in records.items():
        _print_record(f"{ir.name} step {name}", record, None)
    return 0


def _environment(args: argparse.Namespace) -> int:
    if args.target.endswith(".py") or os.path.isfile(args.target):
        return _show_file(args)
    return _show_run(args)


def add_commands(commands: Any) -> None:
    environment = add_parser(commands, "environment", "the packages of the steps' @pypi/@conda environments")
    actions = environment.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = add_parser(
        actions,
        "show",
        "list each step's locked packages: as a run recorded them (FLOW/RUN[/STEP]), or as a flow file's "
        "would be on this machine (FLOW_FILE)",
    )
    show.add_argument("target", metavar="PATHSPEC|FLOW_FILE")
    datastore_option(show)
    environment.set_defaults(handler=_environment)
