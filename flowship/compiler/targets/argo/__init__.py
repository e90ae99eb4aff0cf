"""Argo Workflows v4: what the target honours, and its generator (``manifest.py``) and lint rules (``lint.py``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowship.compiler.features import FEATURES
from flowship.compiler.ir import FlowIR
from flowship.compiler.parse import PARALLEL_ARTIFACT
from flowship.compiler.targets.argo.manifest import argo_names, compile_to_argo, render_yaml
from flowship.compiler.targets.argo.settings import OPTIONS, read_settings
from flowship.compiler.targets.base import ALWAYS, IN_TASK, MAPPED, Document, Support, Target, Unsupported
from flowship.compiler.targets.shared import DeployOptions
from flowship.errors import Problem

__all__ = ["TARGET", "ArgoTarget", "SUPPORTS"]

SUPPORTS: Mapping[str, Support] = {
    **{f.key: MAPPED for f in FEATURES},
    "step.decorators.kubernetes": ALWAYS,
    "step.decorators.catch.var": IN_TASK,
    "step.decorators.environment": IN_TASK,  # never in a pod spec, where Argo would substitute {{...}} in it
    "step.decorators.catch.print_exception": IN_TASK,
    "step.decorators.cards": IN_TASK,  # the step command renders them into the store
    # the step command installs the locked wheels from the store and runs the task in them (--environment)
    "step.decorators.python_env.packages": IN_TASK,
    "step.decorators.python_env.python": IN_TASK,
    "step.decorators.kubernetes.namespace": Unsupported(
        "error",
        "Argo runs every pod of a workflow in the workflow's namespace",
        "deploy with --namespace {value}, or remove namespace= from @kubernetes",
        when=lambda value, options: value != options.namespace,
    ),
    f"step.foreach_var={PARALLEL_ARTIFACT}": Unsupported(
        "error",
        "a gang needs its nodes started together and able to reach each other (Metaflow uses a JobSet); "
        "Argo runs a foreach's tasks independently",
        "run the flow with flow run, or make the nodes independent: self.next(self.<step>, foreach=...)",
    ),
    "flow.project.gates": IN_TASK,  # the end task evaluates them (runtime/gates.py)
    "parameter.separator": IN_TASK,
    "parameter.multiple=True": IN_TASK,
    "parameter.type=file": Unsupported(
        "error", "the file is read on this machine, not in the pods", "pass its content as a str Parameter"
    ),
    "parameter.is_text": Unsupported("error", "IncludeFile cannot be deployed", "pass the content as a str Parameter"),
    "parameter.encoding": Unsupported("error", "IncludeFile cannot be deployed", "pass the content as a str Parameter"),
}


class ArgoTarget(Target):
    name = "argo"
    suffix = ".yaml"
    options = OPTIONS

    def supports(self, options: DeployOptions) -> Mapping[str, Support]:
        return SUPPORTS

    def settings(self, options: DeployOptions) -> Any:
        return read_settings(options.target_options)

    def option_problems(self, ir: FlowIR, options: DeployOptions) -> list[Problem]:
        """Text we write into the pods' arguments must reach them as written: Argo substitutes ``{{`` (which
        cannot be escaped) and the kubelet expands ``$`` (unless Argo moved long arguments into a file)."""
        problems = super().option_problems(ir, options)
        if options.target_options.get("starting-deadline") and ir.schedule is None:
            problems.append(
                Problem(ir.file, 0, "--starting-deadline: the flow has no @schedule", "leave the option out")
            )
        if not problems and self.settings(options).rbac and not options.namespace:
            problems.append(
                Problem(
                    ir.file,
                    0,
                    "--rbac: a RoleBinding names the namespace of its ServiceAccount",
                    "give --namespace NAMESPACE",
                )
            )
        given = {
            "--datastore": options.datastore,
            "the flow file's path": options.flow_path,
            "--branch": options.branch,
            "--image": options.image,
        }
        for what, value in given.items():
            found = [mark for mark in ("{{", "$") if mark in (value or "") and not (mark == "$" and what == "--image")]
            if found:
                problems.append(
                    Problem(
                        ir.file,
                        0,
                        f"{what} {value!r} holds {' and '.join(repr(m) for m in found)}, which Argo or Kubernetes "
                        "would rewrite on its way to the pods",
                        "choose a name without them",
                    )
                )
        return problems

    def deployment_name(self, ir: FlowIR, options: DeployOptions) -> str:
        return argo_names(ir, options)[0]

    def generate(self, ir: FlowIR, options: DeployOptions) -> list[Document]:
        objects: list[dict[str, Any]] = compile_to_argo(ir, options)
        return [Document(o["kind"], o["metadata"]["name"], o) for o in objects]

    def render(self, documents: list[Document]) -> str:
        return render_yaml([d.body for d in documents])

    def check(self, ir: FlowIR, documents: list[Document], text: str) -> list[Problem]:
        from flowship.compiler.targets.argo.lint import lint_argo

        errors, warnings = lint_argo([d.body for d in documents], len(text.encode()))
        return [Problem(ir.file, 0, f"argo lint: {e}") for e in errors] + [
            Problem(ir.file, 0, f"argo: {w}", severity="warning") for w in warnings
        ]


TARGET = ArgoTarget()
