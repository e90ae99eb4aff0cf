"""What every target shares: deployment options, the step command, quantities, defaults as text."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flowship.compiler.ir import FlowIR, ParameterIR, Resources
from flowship.errors import FlowshipError

__all__ = ["DeployOptions", "step_argv", "cpu_quantity", "resource_quantities", "default_text", "SPLITS_FILE",
           "TIMEOUT_GRACE_SECONDS"]

SPLITS_FILE = "/tmp/flowship-splits.json"
# @timeout is enforced inside the task (so @catch can catch it); the scheduler's own
# limit is this much later, for a task that does not stop by itself.
TIMEOUT_GRACE_SECONDS = 60


@dataclass(frozen=True)
class DeployOptions:
    """Everything a target needs besides the IR; the CLI resolves defaults before compiling."""

    datastore: str
    package_sha: str
    flow_path: str  # the flow file, relative to the code package root
    image: str
    namespace: str | None = None  # Kubernetes namespace
    service_account: str | None = None
    name: str | None = None  # deployment name; default: the flow's name
    run_namespace: str | None = None  # the namespace runs of this deployment are recorded in
    project: str | None = None
    branch: str | None = None
    promoted_from: str | None = None  # the run whose code and parameters this deployment promotes


def step_argv(
    ir: FlowIR, options: DeployOptions, *, step: str, run_id: str, task_id: str | None, retry_count: str,
    split_file: str | None = None, params: list[tuple[str, str]] | None = None,
) -> list[str]:
    """The step command of a deployed task, as argv; values are the target's own expressions.

    ``task_id=None`` leaves the id to ``FLOWSHIP_TASK_ID`` in the task's environment.
    """
    argv = ["flow", "step", options.flow_path, step, "--run-id", run_id]
    if task_id is not None:
        argv += ["--task-id", task_id]
    argv += ["--retry-count", retry_count, "--datastore", options.datastore,
             "--package", options.package_sha, "--flow-name", ir.name]
    if split_file:
        argv += ["--splits-file", split_file]
    if params is not None:  # the start task creates the run: tell it where the run belongs
        for field_name, option in (("run_namespace", "--namespace"), ("project", "--project"), ("branch", "--branch"),
                                   ("promoted_from", "--promoted-from")):
            value = getattr(options, field_name)
            if value:
                argv.append(f"{option}={value}")
    for name, value in params or []:
        argv.append(f"--param={name}={value}")  # one token: a value starting with '-' stays a value
    return argv


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


def default_text(parameter: ParameterIR) -> str | None:
    """A parameter's default as the text a user would type for it (None: no default)."""
    if parameter.type == "file":
        raise FlowshipError(
            f"line {parameter.line}: IncludeFile '{parameter.name}' cannot be deployed yet (the file is on this machine, "
            "not in the pods) — pass its content as a str Parameter"
        )
    value: Any = parameter.default
    if value is None:
        return None if parameter.required else ""  # empty: "not given", see param_values.drop_unset
    if parameter.type == "json":
        return json.dumps(value, sort_keys=True)
    if parameter.type == "bool":
        return "true" if value else "false"
    return str(value)
