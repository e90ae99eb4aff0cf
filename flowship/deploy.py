"""Turning a flow file into deployable text: package the code, resolve options, compile for a target.

Shared by ``flow compile``, ``flow check --target`` and (later) ``flow deploy``:
the compiler itself is pure, so reading the flow's folder for its code
package and reading environment defaults happen here.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from flowship.compiler.ir import FlowIR
from flowship.compiler.projects import deployment_for
from flowship.compiler.targets.common import DeployOptions
from flowship.errors import FlowshipError
from flowship.runtime.package import CodePackage, build_package
from flowship.runtime.runs import current_user

__all__ = ["TARGETS", "DEFAULT_IMAGE", "Compiled", "compile_flow", "deploy_options"]

TARGETS = ("argo", "airflow")
DEFAULT_IMAGE = "flowship:0.1.0"


@dataclass(frozen=True)
class Compiled:
    target: str
    name: str
    text: str
    package: CodePackage
    options: DeployOptions
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def deploy_options(ir: FlowIR, package: CodePackage, *, datastore: str | None, image: str | None,
                   namespace: str | None = None, service_account: str | None = None, name: str | None = None,
                   branch: str | None = None, production: bool = False, promoted_from: str | None = None) -> DeployOptions:
    store = datastore or os.environ.get("FLOWSHIP_DATASTORE") or os.path.abspath(".flowship")
    if "://" not in store:
        store = os.path.abspath(store)
        print(f"warning: the datastore {store} is a local folder; deployed tasks can use it only where it is "
              "mounted at the same path (use --datastore s3://... in production)", file=sys.stderr)
    deployment = deployment_for(ir, branch=branch, production=production, user=current_user())
    return DeployOptions(
        datastore=store, package_sha=package.sha, flow_path=package.flow_path,
        image=image or os.environ.get("FLOWSHIP_IMAGE") or DEFAULT_IMAGE,
        namespace=namespace, service_account=service_account, name=name or deployment.name,
        run_namespace=deployment.namespace, project=deployment.project, branch=deployment.branch,
        promoted_from=promoted_from,
    )


def compile_flow(flow_file: str, ir: FlowIR, target: str, operator: str = "kubernetes",
                 package: CodePackage | None = None, **options) -> Compiled:
    """Compile for ``target``; the code package is built from the flow's folder unless one is given (promote)."""
    if target not in TARGETS:
        raise FlowshipError(f"--target {target!r} is not one of {', '.join(TARGETS)}")
    package = package or build_package(flow_file)
    resolved = deploy_options(ir, package, **options)
    if target == "argo":
        from flowship.compiler.targets.argo import argo_names, compile_to_argo, render_yaml
        from flowship.compiler.targets.argo_lint import lint_argo

        documents = compile_to_argo(ir, resolved)
        text = render_yaml(documents)
        errors, warnings = lint_argo(documents, len(text.encode()))
        return Compiled(target, argo_names(ir, resolved)[0], text, package, resolved, tuple(errors), tuple(warnings))
    from flowship.compiler.targets.airflow import airflow_dag_id, compile_to_airflow

    text = compile_to_airflow(ir, resolved, operator)
    return Compiled(target, airflow_dag_id(ir, resolved), text, package, resolved)
