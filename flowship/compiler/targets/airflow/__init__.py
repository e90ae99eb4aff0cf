"""Airflow 3: what the target honours in each task mode, and its generator (``dagfile.py``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowship.compiler.features import FEATURES
from flowship.compiler.ir import FlowIR
from flowship.compiler.parse import PARALLEL_ARTIFACT
from flowship.compiler.targets.airflow.dagfile import airflow_dag_id, compile_to_airflow, shape_problems
from flowship.compiler.targets.airflow.settings import OPTIONS, read_settings
from flowship.compiler.targets.base import (
    ALWAYS,
    IN_TASK,
    MAPPED,
    Document,
    Support,
    Target,
    Unsupported,
)
from flowship.compiler.targets.shared import DeployOptions
from flowship.errors import Problem

__all__ = ["TARGET", "AirflowTarget", "SUPPORTS_KUBERNETES", "SUPPORTS_LOCAL"]

_NOT_DEPLOYABLE = "IncludeFile cannot be deployed: the file is read on this machine, not by the tasks"
SUPPORTS_KUBERNETES: Mapping[str, Support] = {
    **{f.key: MAPPED for f in FEATURES},
    "step.decorators.kubernetes": ALWAYS,
    "step.decorators.catch.var": IN_TASK,
    "step.decorators.environment": IN_TASK,  # never in a templated field: Airflow renders env_vars, mapped too
    "step.decorators.catch.print_exception": IN_TASK,
    "step.decorators.cards": MAPPED,  # rendered by the step command; each task's docs say where its cards are
    "flow.project.gates": IN_TASK,  # the end task evaluates them (runtime/gates.py)
    # the step command installs the locked wheels from the store and runs the task in them (--environment)
    "step.decorators.python_env.packages": IN_TASK,
    "step.decorators.python_env.python": IN_TASK,
    "parameter.separator": IN_TASK,
    "parameter.multiple=True": IN_TASK,
    f"step.foreach_var={PARALLEL_ARTIFACT}": Unsupported(
        "error",
        "a gang needs its nodes started together and able to reach each other (Metaflow uses a JobSet); "
        "Airflow runs a foreach's tasks independently",
        "run the flow with flow run, or make the nodes independent: self.next(self.<step>, foreach=...)",
    ),
    "step.loops=True": Unsupported(
        "error",
        "an Airflow DAG is acyclic, so a step cannot run again after itself",
        "loop inside the step (a Python loop), or run the flow on Argo or with flow run",
    ),
    "parameter.type=file": Unsupported("error", _NOT_DEPLOYABLE, "pass its content as a str Parameter"),
    "parameter.is_text": Unsupported("error", _NOT_DEPLOYABLE, "pass its content as a str Parameter"),
    "parameter.encoding": Unsupported("error", _NOT_DEPLOYABLE, "pass its content as a str Parameter"),
}

_NO_POD = "tasks run as processes on the Airflow worker, not in pods"
_USE_PODS = "compile with --operator kubernetes, or remove it"
SUPPORTS_LOCAL: Mapping[str, Support] = {
    **SUPPORTS_KUBERNETES,
    # Metaflow's meaning: @resources sizes the step where a compute layer runs it, and is ignored elsewhere.
    **{
        f"step.decorators.resources.{field}": Unsupported(
            "warning",
            f"{_NO_POD}, so nothing reserves what the step asks for",
            "use --operator kubernetes to honour it",
        )
        for field in ("cpu_millicores", "memory_mib", "gpu", "disk_mib")
    },
    **{
        f"step.decorators.kubernetes{field}": Unsupported("error", _NO_POD, _USE_PODS)
        for field in ("", ".image", ".namespace", ".service_account", ".node_selector", ".tolerations")
    },
    "step.decorators.secrets": Unsupported("error", f"{_NO_POD}, so no Kubernetes Secret reaches the step", _USE_PODS),
}


class AirflowTarget(Target):
    name = "airflow"
    suffix = ".py"
    options = OPTIONS
    modes = ({"operator": "kubernetes"}, {"operator": "local"})

    def _operator(self, options: DeployOptions) -> str:
        return options.target_options.get("operator") or "kubernetes"

    def supports(self, options: DeployOptions) -> Mapping[str, Support]:
        return SUPPORTS_LOCAL if self._operator(options) == "local" else SUPPORTS_KUBERNETES

    def unsupported(self, ir: FlowIR, options: DeployOptions) -> list[Problem]:
        return super().unsupported(ir, options) + shape_problems(ir)

    def settings(self, options: DeployOptions) -> Any:
        return read_settings(options.target_options)

    def needs_image(self, options: DeployOptions) -> bool:
        return self._operator(options) == "kubernetes"

    def deployment_name(self, ir: FlowIR, options: DeployOptions) -> str:
        return airflow_dag_id(ir, options)

    def generate(self, ir: FlowIR, options: DeployOptions) -> list[Document]:
        text = compile_to_airflow(ir, options, self._operator(options))  # type: ignore[arg-type]
        return [Document("DAG file", airflow_dag_id(ir, options), text)]

    def render(self, documents: list[Document]) -> str:
        (document,) = documents
        return str(document.body)


TARGET = AirflowTarget()
