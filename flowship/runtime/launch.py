"""Starting local runs: ``flow run`` and ``flow resume`` from the CLI or from Python."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from flowship.compiler.features import FEATURES
from flowship.compiler.ir import FlowIR
from flowship.compiler.targets.base import IN_TASK, Support, Unsupported, unsupported_features
from flowship.errors import FlowshipError, Problem
from flowship.param_codec import resolve_values
from flowship.providers.storage import open_storage
from flowship.runtime.datastore import DamagedRecord, FlowDatastore
from flowship.runtime.liveness import scheduler_identity
from flowship.runtime.package import build_package, upload_package
from flowship.runtime.progress import Progress
from flowship.runtime.runs import new_run_id, new_run_record, user_namespace
from flowship.runtime.scheduler import LocalScheduler, TaskOutcome
from flowship.runtime.tagging import user_tags
from flowship.runtime.triggering import triggered_parameters

__all__ = ["RunResult", "run_flow", "resume_flow", "LOCAL_SUPPORTS", "local_warnings"]

ABANDONED_AFTER_SECONDS = 300  # a temporary file nobody has written to for this long belongs to a killed writer
_ON_SCHEDULERS = "every step runs as a process on this machine; it takes effect on Argo and Airflow"
# What `flow run` does with each feature, in the targets' terms. @resources keeps Metaflow's meaning (it sizes
# a step where a compute layer runs it, and is ignored on a laptop), so it is not reported.
LOCAL_SUPPORTS: dict[str, Support] = {
    **{f.key: IN_TASK for f in FEATURES},
    **{
        f"step.decorators.kubernetes{field}": Unsupported("warning", _ON_SCHEDULERS, "")
        for field in ("", ".image", ".namespace", ".service_account", ".node_selector", ".tolerations")
    },
    "step.decorators.secrets": Unsupported(
        "warning",
        "no Kubernetes Secret is read here, so the step runs without its variables",
        "set them in your environment to run the step locally",
    ),
}


def local_warnings(ir: FlowIR, environment: str | None = None) -> list[Problem]:
    """What a local run cannot honour, said before it starts; ``environment`` is ``--environment``."""
    problems = unsupported_features(ir, LOCAL_SUPPORTS, "flow run")
    if environment in ("pypi", "conda"):
        return problems
    for step in ir.steps:
        if step.decorators.python_env is not None:
            problems.append(
                Problem(
                    ir.file,
                    step.line,
                    f"@{step.decorators.python_env.decorator} on step '{step.name}' is not applied without "
                    "--environment=pypi or --environment=conda: the step runs in this interpreter, with what is "
                    "installed here",
                    "run with --environment=pypi to run it in its own locked environment, as Metaflow does",
                    "warning",
                )
            )
    return problems


def _environments(ir: FlowIR, store: FlowDatastore, environment: str | None) -> dict[str, str]:
    """The steps' own environments, made before any task runs, when --environment asks for them."""
    if environment not in ("pypi", "conda"):
        return {}
    from flowship.envs.prepare import local_environments

    return local_environments(ir, store)


@dataclass
class RunResult:
    flow: str
    run_id: str
    datastore: str
    failures: list[TaskOutcome] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return not self.failures


def _schedule(
    flow_file: str,
    ir: FlowIR,
    datastore: FlowDatastore,
    record: dict,
    max_workers: int | None,
    progress: Progress | None,
    max_splits: int | None,
) -> RunResult:
    for folder in ("data", "packages"):  # what a task killed mid-write left behind
        datastore.storage.sweep(f"{ir.name}/{folder}", ABANDONED_AFTER_SECONDS)
    record = {**record, "scheduler": scheduler_identity()}
    for _ in range(5):  # run ids are unique by construction: the record is created only where none exists
        if datastore.create_run(record):
            break
        record = {**record, "run_id": new_run_id()}
    else:
        raise FlowshipError(f"could not find a free run id in {datastore.storage.url}; is the clock stuck?")
    progress = progress or Progress()
    progress.begin(ir.name, record["run_id"])
    scheduler = LocalScheduler(
        flow_file=os.path.abspath(flow_file),
        ir=ir,
        datastore=datastore,
        run_id=record["run_id"],
        max_workers=max_workers or os.cpu_count() or 1,
        max_splits=max_splits,
        origin_run_id=record["origin_run_id"],
        progress=progress,
        environments=record.get("environments") or {},
    )
    failures = scheduler.execute()
    return RunResult(ir.name, record["run_id"], datastore.storage.url, failures)


def _readable_runs(store: FlowDatastore) -> list[dict[str, Any]]:
    """Every run record that can be read; a damaged one is skipped, never fatal to the others."""
    records = []
    for run_id in store.run_ids():
        try:
            record = store.read_run(run_id)
        except DamagedRecord:
            continue
        if record is not None:
            records.append(record)
    return records


def _package(flow_file: str, store: FlowDatastore) -> dict[str, str]:
    """Package the code a local run executes, so the run can later be promoted exactly as it ran."""
    package = build_package(flow_file)
    upload_package(store, package)
    return {"sha": package.sha, "flow_path": package.flow_path}


def run_flow(
    flow_file: str,
    ir: FlowIR,
    parameters: dict[str, str],
    *,
    datastore: str,
    tags: tuple[str, ...] = (),
    max_workers: int | None = None,
    progress: Progress | None = None,
    run_id: str | None = None,
    max_splits: int | None = None,
    trigger: list[dict[str, Any]] | None = None,
    environment: str | None = None,
) -> RunResult:
    """Run the whole flow locally; parameter values are checked before anything starts. ``trigger``: the events
    it is run as if triggered by (their payloads set mapped parameters not given). ``environment`` (Metaflow's
    ``--environment``): ``pypi`` or ``conda`` runs steps with @pypi/@conda in their own environments, resolved
    and made first."""
    parameters = triggered_parameters(ir, trigger, parameters)
    resolve_values(ir.parameters, parameters)
    store = FlowDatastore(open_storage(datastore), ir.name)
    package = _package(flow_file, store)
    record = new_run_record(ir, run_id or new_run_id(), parameters, tags=tags, code_package=package, trigger=trigger)
    record["environments"] = _environments(ir, store, environment)
    return _schedule(flow_file, ir, store, record, max_workers, progress, max_splits)


def resume_flow(
    flow_file: str,
    ir: FlowIR,
    origin_run_id: str | None,
    *,
    datastore: str,
    tags: tuple[str, ...] = (),
    max_workers: int | None = None,
    progress: Progress | None = None,
    run_id: str | None = None,
    max_splits: int | None = None,
    environment: str | None = None,
) -> RunResult:
    """A new run reusing every task of the origin run that succeeded (default: the latest run)."""
    store = FlowDatastore(open_storage(datastore), ir.name)
    if origin_run_id is None:
        mine = [r for r in _readable_runs(store) if r.get("namespace") == user_namespace()]
        if not mine:
            raise FlowshipError(f"flow {ir.name} has no run of yours in {store.storage.url} to resume")
        origin_run_id = max(mine, key=lambda r: r["created_at"])["run_id"]
    origin = store.read_run(origin_run_id)
    if origin is None:
        raise FlowshipError(f"run {ir.name}/{origin_run_id} not found in {store.storage.url}")
    recorded = FlowIR.from_dict(origin["ir"]).configs
    if recorded or ir.configs:  # as in Metaflow, a resumed run keeps the configs its origin ran with
        from flowship.compiler.evaluate import EvaluationInputs
        from flowship.flowfile import load_flow

        ir = load_flow(flow_file, EvaluationInputs(resolved_configs={c.name: c.value for c in recorded}))
    record = new_run_record(
        ir,
        run_id or new_run_id(),
        origin["parameters"],
        tags=tuple(user_tags(store, origin)) + tags,  # the origin's user tags as they are now
        origin_run_id=origin_run_id,
        code_package=_package(flow_file, store),
        trigger=origin.get("trigger"),  # resumed, the run was still started by its origin's events
    )
    # as its configs and events, a resumed run keeps its origin's environments unless told otherwise: a reused
    # task and a re-run one must not see different versions of the same pins
    kept = environment or ("pypi" if origin.get("environments") else None)
    record["environments"] = _environments(ir, store, kept)
    return _schedule(flow_file, ir, store, record, max_workers, progress, max_splits)
