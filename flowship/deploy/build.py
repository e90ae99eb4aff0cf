"""Turning a flow into deployable documents: package the code, resolve options, compile for a target.

The compiler is pure, so what needs the disk or the environment happens
here: reading the flow's folder into its code package, the default store and
image, the deployment's name and namespace (``naming.py``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from flowship.compiler.ir import FlowIR
from flowship.compiler.targets import get_target
from flowship.compiler.targets.base import Compiled
from flowship.compiler.targets.shared import DeployOptions
from flowship.deploy.naming import deployment_for
from flowship.errors import FlowshipError, Problem
from flowship.runtime.locate import locate_store
from flowship.runtime.package import CodePackage, build_package
from flowship.runtime.runs import current_user

__all__ = ["DeploySettings", "Build", "build_deployment", "IMAGE_HELP"]

IMAGE_HELP = (
    "give --image IMAGE (or set FLOWSHIP_IMAGE): an image with flowship and what your flow imports — "
    "docker/Dockerfile builds one (docs/argo.md, The image)"
)


@dataclass(frozen=True)
class DeploySettings:
    """What a user chose for a deployment; None means the default."""

    target: str
    datastore: str | None = None
    image: str | None = None
    namespace: str | None = None
    service_account: str | None = None
    name: str | None = None
    branch: str | None = None
    production: bool = False
    target_options: Mapping[str, Any] = field(default_factory=dict)
    code: str | None = None  # "image:/PATH": the project is in the image at PATH; None: a code package
    python_version: str | None = None  # the image's Python, what @pypi/@conda environments are resolved for
    environment: str | None = None  # "local": steps with @pypi/@conda run in the image's interpreter, as they are


@dataclass(frozen=True)
class Build:
    flow: str
    compiled: Compiled
    package: CodePackage
    environments: Mapping[str, Any] = field(default_factory=dict)  # step -> EnvRecord, uploaded with the code


def _options(
    ir: FlowIR, package: CodePackage, settings: DeploySettings, flow_file: str, promoted_from: str | None
) -> tuple[DeployOptions, list[Problem]]:
    store = locate_store(settings.datastore, flow_file).url
    warnings = []
    if "://" not in store:
        warnings.append(
            Problem(
                ir.file,
                0,
                f"the datastore {store} is a local folder; deployed tasks can use it only "
                "where it is mounted at the same path",
                "use --datastore s3://... in production",
                "warning",
            )
        )
    deployment = deployment_for(ir, branch=settings.branch, production=settings.production, user=current_user())
    package_sha: str | None = package.sha
    flow_path = package.flow_path
    if settings.code is not None:
        path = settings.code.removeprefix("image:")
        if not settings.code.startswith("image:") or not path.startswith("/"):
            raise FlowshipError(f"--code {settings.code}: write image:/PATH, the project's folder in the image")
        package_sha, flow_path = None, f"{path.rstrip('/')}/{package.flow_path}"
    options = DeployOptions(
        datastore=store,
        package_sha=package_sha,
        flow_path=flow_path,
        image=settings.image or os.environ.get("FLOWSHIP_IMAGE") or "",
        namespace=settings.namespace,
        service_account=settings.service_account,
        name=settings.name or deployment.name,
        run_namespace=deployment.namespace,
        project=deployment.project,
        branch=deployment.branch,
        promoted_from=promoted_from,
        target_options=dict(settings.target_options),
    )
    return options, warnings


def build_deployment(
    flow_file: str,
    ir: FlowIR,
    settings: DeploySettings,
    *,
    package: CodePackage | None = None,
    promoted_from: str | None = None,
    pinned_environments: Mapping[str, Any] | None = None,
    resolve_environments: bool = True,
) -> Build:
    """Compile for ``settings.target``; the code package is built from the flow's folder unless given (promote).

    Each step's @pypi/@conda environment is resolved for the deployment (``pinned_environments``: the promoted
    run's), unless ``resolve_environments`` is False (only the deployment's name is wanted) or
    ``--environment=local``."""
    target = get_target(settings.target)
    for option in target.options:
        value = settings.target_options.get(option.name)
        if value is not None and option.choices and value not in option.choices:
            raise FlowshipError(f"--{option.name} {value!r}: use one of {', '.join(option.choices)}")
    package = package or build_package(flow_file)
    options, warnings = _options(ir, package, settings, flow_file, promoted_from)
    every_step_has_one = all(s.decorators.kubernetes and s.decorators.kubernetes.image for s in ir.steps)
    if not options.image and target.needs_image(options) and not every_step_has_one:
        raise FlowshipError(f"--target {target.label(options)} runs every task in a container: {IMAGE_HELP}")
    environments = _environments(ir, options, settings, pinned_environments) if resolve_environments else {}
    options = replace(options, environments={step: record.id for step, record in environments.items()})
    compiled = target.compile(ir, options)
    return Build(ir.name, replace(compiled, problems=tuple(warnings) + compiled.problems), package, environments)


def _environments(
    ir: FlowIR, options: DeployOptions, settings: DeploySettings, pinned: Mapping[str, Any] | None
) -> dict[str, Any]:
    if settings.environment == "local" or not any(s.decorators.python_env for s in ir.steps):
        return {}
    from flowship.envs.prepare import deployed_environments, running_python

    python = settings.python_version or running_python()
    if not re.match(r"^3\.[0-9]+(\.[0-9]+)?$", python):
        raise FlowshipError(f"--python-version {python}: give the image's Python as X.Y, e.g. 3.11")
    return deployed_environments(ir, options.datastore, python, pinned)
