"""The interface of a target's provider: check, plan, apply, delete and trigger a deployment; publish events.

``flowship.deploy`` finds the provider of target ``T`` as the module
``flowship.providers.T`` and its ``DEPLOYER`` class; a provider holds what
talks to that scheduler and nothing about the CLI.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from flowship.compiler.ir import ParameterType
from flowship.compiler.targets.base import Compiled

__all__ = ["Deployer", "DeployerOption", "Change", "Command", "Triggered"]

Command = Literal["check", "deploy", "delete", "trigger", "publish"]


@dataclass(frozen=True)
class DeployerOption:
    """An option of the commands in ``used_by`` that only this provider reads (``--<name>``)."""

    name: str
    help: str
    used_by: tuple[Command, ...] = ("deploy", "delete", "trigger")
    required_by: tuple[Command, ...] = ()
    flag: bool = False  # given or not, no value


@dataclass(frozen=True)
class Triggered:
    what: str  # what was started, in the scheduler's words
    run_id: str  # the flowship run id: FLOW/<run_id> with the Client or flow logs


@dataclass(frozen=True)
class Change:
    action: Literal["create", "replace", "apply", "delete", "absent"]  # apply: create or replace, not known which
    what: str  # "WorkflowTemplate team/hello-flow", "DAG file /opt/airflow/dags/HelloFlow.py"

    def __str__(self) -> str:
        return f"{self.action} {self.what}" if self.action != "absent" else f"{self.what} does not exist"


class Deployer(ABC):
    options: ClassVar[tuple[DeployerOption, ...]] = ()
    check_description: ClassVar[str | None] = None  # what :meth:`check` does, said before it starts: it can be slow

    def __init__(self, settings: Mapping[str, str | None], namespace: str | None = None) -> None:
        self.settings = dict(settings)
        self.namespace = namespace

    def check(self, compiled: Compiled) -> str | None:
        """Load the documents with the real scheduler's own code where it is installed; a summary, or None."""
        return None

    @abstractmethod
    def plan(self, compiled: Compiled) -> list[Change]:
        """What :meth:`apply` would change, read from the scheduler without changing anything."""

    @abstractmethod
    def apply(self, compiled: Compiled) -> list[Change]: ...

    @abstractmethod
    def plan_delete(self, name: str) -> list[Change]: ...

    @abstractmethod
    def delete(self, name: str) -> list[Change]: ...

    @abstractmethod
    def parameters(self, name: str) -> dict[str, ParameterType]:
        """The deployed flow's parameters and their types, as the scheduler declares them."""

    def status(self, name: str) -> list[str]:
        """What the scheduler says of the deployment now that a user should know (e.g. it is paused)."""
        return []

    @abstractmethod
    def trigger(self, name: str, values: Mapping[str, str]) -> Triggered:
        """Start a run with parameter values given as text."""

    @abstractmethod
    def publish(self, event: Mapping[str, Any]) -> str:
        """Publish an event (``flowship.runtime.triggering.published_event``) for @trigger; what was done."""
