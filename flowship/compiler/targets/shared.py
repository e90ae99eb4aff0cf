"""What the targets share: deployment options, the step command of a deployed task, Kubernetes quantities."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flowship.compiler.evaluate import deployed_answer
from flowship.compiler.ir import FlowIR, Resources
from flowship.step_command import RunContext, StepCommand

__all__ = ["DeployOptions", "deployed_step", "cpu_quantity", "resource_quantities"]


@dataclass(frozen=True)
class DeployOptions:
    """Everything a target needs besides the IR; ``flowship.deploy`` resolves defaults before compiling."""

    datastore: str
    package_sha: str | None  # None: the code is in the image, and flow_path is the flow file's path there
    flow_path: str  # the flow file, relative to the code package root (or absolute, in the image)
    image: str
    namespace: str | None = None  # Kubernetes namespace
    service_account: str | None = None
    name: str | None = None  # deployment name; default: the flow's name
    run_namespace: str | None = None  # the namespace runs of this deployment are recorded in
    project: str | None = None
    branch: str | None = None
    promoted_from: str | None = None  # the run whose code and parameters this deployment promotes
    target_options: Mapping[str, Any] = field(default_factory=dict)  # a target's own: "operator" -> "local"
    environments: Mapping[str, str] = field(default_factory=dict)  # step -> id of its @pypi/@conda environment


def deployed_step(
    ir: FlowIR,
    options: DeployOptions,
    *,
    step: str,
    run_id: str,
    task_id: str | None,
    retry_count: str,
    splits_file: str | None = None,
    params: list[tuple[str, str]] | None = None,
    max_splits: str | None = None,
    params_base64: bool = False,
    switch_file: str | None = None,
    max_repetitions: str | None = None,
    trigger_base64: tuple[str, ...] = (),
    environment: str | None = None,
) -> StepCommand:
    """The step command of a deployed task; values may be the target's own expressions.

    ``environment``: the id of the step's @pypi/@conda environment (``options.environments``), or the target's
    expression giving it. ``params`` (the start task only) makes the task create its run, so it also
    carries where the run belongs and what the deployment evaluated (configs, arguments that are not literals),
    and, for a triggered flow, ``trigger_base64``: the scheduler's expression for the events that started it.
    """
    context = RunContext()
    evaluated = None
    if params is not None:
        context = RunContext(options.run_namespace, options.project, options.branch, options.promoted_from)
        if ir.configs or ir.evaluated:  # fixed at deploy: the start task evaluates nothing again
            evaluated = json.dumps(deployed_answer(ir), sort_keys=True, separators=(",", ":"))
    return StepCommand(
        options.flow_path,
        step,
        run_id,
        task_id,
        retry_count,
        options.datastore,
        options.package_sha,
        ir.name,
        splits_file,
        context,
        tuple(params or ()),
        max_splits,
        params_base64,
        switch_file=switch_file,
        max_repetitions=max_repetitions,
        evaluated=evaluated,
        trigger_base64=trigger_base64 if params is not None and ir.triggers else (),
        environment=environment,
    )


def cpu_quantity(millicores: int) -> str:
    return str(millicores // 1000) if millicores % 1000 == 0 else f"{millicores}m"


def resource_quantities(resources: Resources | None) -> tuple[dict[str, str], dict[str, str]]:
    """Kubernetes (requests, limits): memory and GPUs limited to what is requested."""
    if resources is None:
        return {}, {}
    requests = {"cpu": cpu_quantity(resources.cpu_millicores), "memory": f"{resources.memory_mib}Mi"}
    limits = {"memory": f"{resources.memory_mib}Mi"}
    if resources.disk_mib:
        requests["ephemeral-storage"] = limits["ephemeral-storage"] = f"{resources.disk_mib}Mi"
    if resources.gpu:
        requests["nvidia.com/gpu"] = limits["nvidia.com/gpu"] = str(resources.gpu)
    return requests, limits
