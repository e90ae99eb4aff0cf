"""Where a deployment lives: its name and the namespace its runs belong to.

With ``@project(name="recsys")`` a flow deploys as ``recsys.prod.<Flow>``
(``--production``, namespace ``production:recsys.prod``), ``recsys.test.<branch>.<Flow>``
(``--branch B``, namespace ``recsys.test.<branch>``) or, by default,
``recsys.user.<username>.<Flow>`` (namespace ``recsys.user.<username>``), so a
test branch never overwrites production. Without ``@project`` a flow deploys
under its own name, in namespace ``production:<Flow>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flowship.compiler.ir import FlowIR
from flowship.errors import FlowshipError

__all__ = ["Deployment", "deployment_for", "deployment_of"]

_BRANCH = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


@dataclass(frozen=True)
class Deployment:
    name: str  # the deployment's base name; targets derive object names and DAG ids from it
    namespace: str  # the namespace its runs are recorded in
    project: str | None = None
    branch: str | None = None  # "prod", "test.<branch>" or "user.<name>"


def deployment_for(ir: FlowIR, *, branch: str | None, production: bool, user: str) -> Deployment:
    if ir.project is None and (branch or production):
        raise FlowshipError(f"{ir.file}: --branch and --production need @project(name=...) on {ir.name}")
    return deployment_of(
        ir.name, ir.project.name if ir.project else None, branch=branch, production=production, user=user
    )


def deployment_of(flow: str, project: str | None, *, branch: str | None, production: bool, user: str) -> Deployment:
    """The deployment of ``flow`` in ``project`` (None: a flow without @project)."""
    if branch and production:
        raise FlowshipError("give --branch or --production, not both")
    if project is None:
        return Deployment(flow, f"production:{flow}")
    if production:
        label = "prod"
    elif branch:
        if not _BRANCH.match(branch):
            raise FlowshipError(f"--branch {branch!r}: use up to 40 lowercase letters, digits, '-' and '_'")
        label = f"test.{branch}"
    else:
        label = f"user.{re.sub(r'[^a-z0-9_-]', '-', user.lower())}"
    namespace = f"production:{project}.{label}" if production else f"{project}.{label}"
    return Deployment(f"{project}.{label}.{flow}", namespace, project, label)
