"""Promotion: turn a finished research run into a deployable flow exactly as it ran.

The run's recorded code package is fetched from the store (never the file as
it is on disk now), the flow is compiled from that code, and the run's
parameter values become the deployment's defaults.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flowship.compiler.ir import FlowIR
from flowship.errors import FlowshipError
from flowship.flowfile import load_flow
from flowship.param_codec import parse_text
from flowship.providers.storage import open_storage
from flowship.runtime.client import default_datastore
from flowship.runtime.datastore import FlowDatastore
from flowship.runtime.package import CodePackage, fetch_package, package_key

__all__ = ["PromotionSource", "promotable", "from_package"]


@dataclass(frozen=True)
class PromotionSource:
    pathspec: str
    ir: FlowIR  # compiled from the run's own code, its parameter values as defaults
    package: CodePackage
    flow_file: str
    parameters: dict[str, str]
    datastore: str  # the store the run was found in
    record: dict[str, Any] = dataclasses.field(default_factory=dict)  # the run's record (empty for a rollback)
    environments: dict[str, Any] = dataclasses.field(default_factory=dict)  # step -> EnvRecord the run used


def _find_run(flow: str, run_id: str, datastores: Sequence[str]) -> tuple[FlowDatastore, dict]:
    """The first store holding the run: research runs are often local while the deployment's store is not."""
    for url in dict.fromkeys(datastores or [default_datastore()]):
        store = FlowDatastore(open_storage(url), flow)
        record = store.read_run(run_id)
        if record is not None:
            return store, record
    looked = ", ".join(dict.fromkeys(datastores or [default_datastore()]))
    raise FlowshipError(f"run {flow}/{run_id} not found in {looked}; give the store it ran in with --from-datastore")


def promotable(pathspec: str, datastores: Sequence[str]) -> PromotionSource:
    """The run ``pathspec`` from the first of ``datastores`` that holds it, ready to compile."""
    parts = pathspec.strip("/").split("/")
    if len(parts) != 2:
        raise FlowshipError(f"'{pathspec}' is not FLOW/RUN_ID")
    flow, run_id = parts
    store, record = _find_run(flow, run_id, datastores)
    end = store.latest_attempt(run_id, "end", "0")
    if end is None or not end.succeeded:
        state = "failed" if end is not None else "did not finish (failed or still running)"
        raise FlowshipError(f"run {pathspec} {state}: only a run that finished successfully can be promoted")
    package = record.get("code_package")
    if not package:
        raise FlowshipError(f"run {pathspec} recorded no code package, so its exact code cannot be deployed")
    return from_package(store, pathspec, package, record["parameters"], record)


def from_package(
    store: FlowDatastore,
    pathspec: str,
    package: Mapping[str, str],
    parameters: Mapping[str, str],
    record: Mapping[str, Any] | None = None,
) -> PromotionSource:
    """The flow in code ``package`` (``{"sha", "flow_path"}`` in ``store``), ``parameters`` as its defaults: what
    a promotion deploys, and what a rollback deploys again."""
    folder = fetch_package(store, package["sha"])
    flow_file = os.path.join(folder, package["flow_path"])
    ir = load_flow(flow_file)
    ir = dataclasses.replace(
        ir,
        parameters=tuple(
            dataclasses.replace(p, default=parse_text(p, parameters[p.name]), required=False)
            if p.name in parameters
            else p
            for p in ir.parameters
        ),
    )
    data = store.storage.get(package_key(store, package["sha"]))
    return PromotionSource(
        pathspec,
        ir,
        CodePackage(data, package["sha"], package["flow_path"]),
        flow_file,
        dict(parameters),
        store.storage.url,
        dict(record or {}),
        _environments(store, dict(record or {})),
    )


def _environments(store: FlowDatastore, record: dict) -> dict[str, Any]:
    """The @pypi/@conda environments the run's steps ran in, so the deployment keeps their versions."""
    if not record:
        return {}
    from flowship.envs.record import read_record
    from flowship.runtime.promotions import run_environment_ids

    return {step: read_record(store, env_id) for step, env_id in run_environment_ids(store, record).items()}
