"""Deploying a flow: build it for a target, plan, upload its code, apply; delete; trigger runs.

Target-independent: every scheduler-specific step goes through the target's
provider (``flowship.providers.<target>.DEPLOYER``). The CLI parses options
and prints what these functions return; nothing here prints.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass

from flowship.deploy.build import Build, DeploySettings, build_deployment
from flowship.deploy.naming import deployment_of
from flowship.errors import FlowshipError
from flowship.providers.deployer import Change, Command, Deployer, DeployerOption

__all__ = [
    "DeploySettings",
    "Build",
    "build_deployment",
    "DeploymentPlan",
    "deployer_for",
    "deployer_options",
    "plan_deployment",
    "apply_deployment",
    "upload_code",
    "deployment_name",
]


def deployer_options(target: str) -> tuple[DeployerOption, ...]:
    return importlib.import_module(f"flowship.providers.{target}").DEPLOYER.options


def deployer_for(
    target: str, command: Command, settings: Mapping[str, str | None], namespace: str | None = None
) -> Deployer:
    """The target's provider for ``command``; an option the command needs and did not get is an error."""
    cls = importlib.import_module(f"flowship.providers.{target}").DEPLOYER
    for option in cls.options:
        if command in option.required_by and not settings.get(option.name):
            said = "event publish" if command == "publish" else command
            raise FlowshipError(f"flow {said} --target {target} needs --{option.name} ({option.help})")
    return cls(settings, namespace)


@dataclass(frozen=True)
class DeploymentPlan:
    build: Build
    check: str | None  # what the scheduler's own code said of the documents, where it is installed here
    changes: list[Change]
    unread: str | None = None  # why the scheduler's current state could not be read (a dry run goes on without it)


def plan_deployment(build: Build, deployer: Deployer, *, dry_run: bool = False) -> DeploymentPlan:
    """Check the documents with the scheduler's code, and read what applying them would change.

    A dry run that cannot reach the scheduler still lists what it would apply, and says why it could not tell
    what exists; a real deployment stops there.
    """
    if build.compiled.errors:
        raise FlowshipError("the flow does not compile for this target; see the errors above")
    check = deployer.check(build.compiled)
    try:
        return DeploymentPlan(build, check, deployer.plan(build.compiled))
    except FlowshipError as exc:
        if not dry_run:
            raise
        changes = [Change("apply", f"{d.kind} {d.name}") for d in build.compiled.documents]
        return DeploymentPlan(build, check, changes, str(exc))


def upload_code(build: Build) -> None:
    """Put the build's code package (unless the code is in the image) and its steps' environments in its store."""
    from flowship.providers.storage import open_storage
    from flowship.runtime.datastore import FlowDatastore
    from flowship.runtime.package import upload_package

    store = FlowDatastore(open_storage(build.compiled.options.datastore), build.flow)
    if build.compiled.options.package_sha is not None:
        upload_package(store, build.package)
    if build.environments:
        from flowship.envs.prepare import upload_environments

        upload_environments(store, build.environments)


def apply_deployment(plan: DeploymentPlan, deployer: Deployer) -> list[Change]:
    """Upload the code package first (tasks need it the moment a run starts), then apply the documents."""
    upload_code(plan.build)
    return deployer.apply(plan.build.compiled)


def deployment_name(
    flow: str, *, project: str | None, branch: str | None, production: bool, user: str, name: str | None = None
) -> str:
    """The name ``flow deploy`` gave the deployment of ``flow`` (with @project: by project and branch)."""
    if name:
        return name
    if (branch or production) and not project:
        raise FlowshipError("--branch and --production need --project (the flow's @project name)")
    return deployment_of(flow, project, branch=branch, production=production, user=user).name
