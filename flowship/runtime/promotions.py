"""Promotion history: every promotion, held-back attempt and rollback, recorded in the store.

Each record is its own object, created exclusively and never rewritten::

    <Flow>/promotions/<nanoseconds>-<random>.json

so two promotions at once both keep their record, and nothing is read,
modified and written back (as with tag changes, ``tagging.py``). A record
says when, by whom, what (``kind``: ``promote`` from the command line,
``in-flow`` from the end of a production run, ``rollback``), the outcome
(``promoted`` or ``held back`` with the reason), from which run and store,
its code package and environment, its parameters and every gate with the
values it compared.

The **current production run** of a namespace (``production:wine.prod``) is
the run of the newest record there whose outcome is ``promoted``: a command
line promotion, a production run whose in-flow gates passed, or a rollback
(which names the run it went back to). Gates compare with that run.

A **rollback** goes back along the deployments: records that deployed
(``promote``, ``rollback``) form a stack, where a promotion pushes and a
rollback to an earlier record pops everything after it, so ``--rollback``
twice goes two deployments back, never forth again.
"""

from __future__ import annotations

import json
import platform
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flowship.errors import FlowshipError
from flowship.runtime.datastore import FlowDatastore
from flowship.runtime.runs import current_user

__all__ = [
    "run_environment_ids",
    "PROMOTIONS_FOLDER",
    "Promotion",
    "record_promotion",
    "promotion_history",
    "current_production",
    "rollback_target",
    "environment_of",
]

PROMOTIONS_FOLDER = "promotions"
DEPLOYING = ("promote", "rollback")


@dataclass(frozen=True)
class Promotion:
    """One record of the history, as written."""

    id: str
    kind: str  # promote | in-flow | rollback
    outcome: str  # promoted | held back
    reason: str
    at: float
    by: str
    flow: str
    run: str  # the run promoted (or held back, or gone back to): FLOW/RUN_ID
    run_datastore: str  # where that run's artifacts are
    namespace: str  # the namespace this production belongs to: production:wine.prod
    project: str | None = None
    branch: str | None = None
    code_package: Mapping[str, str] | None = None  # {"sha": ..., "flow_path": ...}
    parameters: Mapping[str, str] = field(default_factory=dict)
    environment: Mapping[str, Any] = field(default_factory=dict)
    gates: tuple[Mapping[str, Any], ...] = ()  # {"expression", "passed", "values", "error"}
    target: str | None = None  # the deploying kinds: where it went
    deployment: str | None = None
    rolled_back_to: str | None = None  # a rollback: the id of the record whose package it deployed again

    @property
    def promoted(self) -> bool:
        return self.outcome == "promoted"

    @property
    def when(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(self.at))

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Promotion:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**{**known, "gates": tuple(known.get("gates") or ())})


def run_environment_ids(store: FlowDatastore, record: Mapping[str, object]) -> dict[str, str]:
    """step -> the id of the environment a run's step ran in: a local run lists them in its record; a deployed
    run's tasks each record their own (its start task cannot know the other steps')."""
    listed = record.get("environments")
    if isinstance(listed, Mapping) and listed:
        return {str(step): str(env_id) for step, env_id in listed.items()}
    run_id, found = str(record["run_id"]), {}
    for step in store.steps(run_id):
        for task_id in store.task_ids(run_id, step)[:1]:
            attempt = store.latest_attempt(run_id, step, task_id)
            if attempt is not None and attempt.meta.get("environment"):
                found[step] = str(attempt.meta["environment"])
    return found


def environment_of(steps: Mapping[str, str], **extra: Any) -> dict[str, Any]:
    """What the code ran with: each @pypi/@conda step's environment id (``flow environment show`` reads it),
    this Python, extras."""
    environment: dict[str, Any] = {"python": platform.python_version()}
    if steps:
        environment["steps"] = dict(sorted(steps.items()))
    environment.update({k: v for k, v in extra.items() if v})
    return environment


def _folder(store: FlowDatastore) -> str:
    return f"{store.flow_name}/{PROMOTIONS_FOLDER}"


def record_promotion(store: FlowDatastore, **fields: Any) -> Promotion:
    """Create one record (``at``, ``by`` and ``id`` are filled in); returns it."""
    fields.setdefault("by", current_user())
    fields.setdefault("at", time.time())
    fields.setdefault("flow", store.flow_name)
    while True:
        record_id = f"{time.time_ns():020d}-{secrets.token_hex(4)}"
        promotion = Promotion(id=record_id, **fields)
        text = json.dumps(promotion.to_dict(), indent=1, sort_keys=True, default=str).encode()
        if store.storage.create(f"{_folder(store)}/{record_id}.json", text):
            return promotion


def promotion_history(
    store: FlowDatastore, *, namespace: str | None = None, project: str | None = None
) -> list[Promotion]:
    """Every record of the flow, oldest first; only those of ``namespace`` and ``project`` when given."""
    folder = _folder(store)
    found = []
    for name in sorted(store.storage.list(folder)):
        try:
            promotion = Promotion.from_dict(json.loads(store.storage.get(f"{folder}/{name}")))
        except (KeyError, ValueError, TypeError):  # created whole; one that cannot be read is skipped, not guessed
            continue
        if namespace not in (None, promotion.namespace) or project not in (None, promotion.project):
            continue
        found.append(promotion)
    return found


def current_production(store: FlowDatastore, namespace: str) -> Promotion | None:
    """The newest record of ``namespace`` that promoted a run: its run is the current production run."""
    return next((p for p in reversed(promotion_history(store, namespace=namespace)) if p.promoted), None)


def _deployed_stack(history: list[Promotion], target: str) -> list[Promotion]:
    stack: list[Promotion] = []
    for promotion in history:
        if not promotion.promoted or promotion.kind not in DEPLOYING or promotion.target != target:
            continue
        if promotion.kind == "promote":
            stack.append(promotion)
            continue
        ids = [p.id for p in stack]
        if promotion.rolled_back_to in ids:
            del stack[ids.index(promotion.rolled_back_to) + 1 :]
    return stack


def rollback_target(store: FlowDatastore, namespace: str, target: str, steps: int) -> Promotion:
    """The promotion ``steps`` deployments before the one deployed now, in ``namespace`` on ``target``."""
    if steps < 1:
        raise FlowshipError(f"--rollback {steps}: give how many promotions to go back, 1 or more")
    stack = _deployed_stack(promotion_history(store, namespace=namespace), target)
    if len(stack) <= steps:
        had = f"{len(stack)} promotion{'s' if len(stack) != 1 else ''} deployed"
        raise FlowshipError(
            f"cannot roll back {steps} in {namespace} on {target}: its history in {store.storage.url} has {had} "
            f"(flow promotions {store.flow_name} lists them)"
        )
    return stack[-1 - steps]
