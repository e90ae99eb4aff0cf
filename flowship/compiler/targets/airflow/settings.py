"""The Airflow target's own options: task mode, the pod operator's connection and start-up, pool, queue, owner,
a DAG run timeout, and environment variables and Secrets for every task — read and checked in one place."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flowship.compiler.targets.base import TargetOption

__all__ = ["OPTIONS", "AirflowSettings", "read_settings"]

OPTIONS = (
    TargetOption(
        "operator",
        "a pod per task (default), or a process on the Airflow worker",
        ("kubernetes", "local"),
        "kubernetes",
    ),
    TargetOption("kubernetes-conn-id", "the Airflow connection to the cluster the pods run in (kubernetes mode)"),
    TargetOption("config-file", "a kubeconfig file on the workers (kubernetes mode)"),
    TargetOption("cluster-context", "the kubeconfig context (kubernetes mode)"),
    TargetOption("startup-timeout", "seconds a pod may take to start, e.g. while a GPU node scales up (default 120)"),
    TargetOption("pool", "the Airflow pool every task takes a slot of"),
    TargetOption("queue", "the executor queue every task goes to"),
    TargetOption("owner", "the owner Airflow shows for every task"),
    TargetOption("dagrun-timeout", "how long a DAG run may take: seconds, or e.g. 90m, 6h"),
    TargetOption("env", "an environment variable for every task, NAME=VALUE (repeatable)", repeated=True),
    TargetOption(
        "secret", "a Kubernetes Secret whose keys every pod gets as environment variables (repeatable)", repeated=True
    ),
)
_KUBERNETES_ONLY = ("kubernetes-conn-id", "config-file", "cluster-context", "startup-timeout", "secret")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_DURATION = re.compile(r"^([0-9]+)([smh]?)$")


@dataclass(frozen=True)
class AirflowSettings:
    operator: str = "kubernetes"
    connection: dict[str, Any] = field(default_factory=dict)  # KubernetesPodOperator keyword -> value
    task: dict[str, str] = field(default_factory=dict)  # pool, queue, owner: every operator's keywords
    dagrun_timeout_seconds: int | None = None
    env: dict[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()

    def summary(self) -> str:
        parts = [f"{k}={v}" for k, v in {**self.connection, **self.task}.items()]
        if self.dagrun_timeout_seconds:
            parts.append(f"dagrun_timeout={self.dagrun_timeout_seconds}s")
        parts += [f"env {', '.join(self.env)}"] if self.env else []
        parts += [f"secrets {', '.join(self.secrets)}"] if self.secrets else []
        return f"{self.operator} tasks" + (f"; {'; '.join(parts)}" if parts else "")


def _seconds(option: str, text: str) -> int:
    match = _DURATION.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"--{option} {text!r}: give a positive number of seconds, or minutes/hours as 90m, 6h")
    return int(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


def _env(texts: list[str]) -> dict[str, str]:
    env = {}
    for text in texts:
        name, equals, value = text.partition("=")
        if not equals or not _ENV_NAME.match(name):
            raise ValueError(f"--env {text!r}: write NAME=VALUE, NAME of letters, digits and _")
        if any(marker in value for marker in ("{{", "{%", "{#")):
            # Airflow renders a pod's environment, mapped tasks' included, and no quoting survives every provider
            raise ValueError(f"--env {text!r}: Airflow would render the Jinja syntax in it; set it in the image")
        env[name] = value
    return env


def read_settings(options: Mapping[str, Any]) -> AirflowSettings:
    """The settings the options give; ValueError says which option is wrong and how to write it."""
    operator = options.get("operator") or "kubernetes"
    if operator == "local":
        given = [f"--{name}" for name in _KUBERNETES_ONLY if options.get(name)]
        if given:
            raise ValueError(f"{', '.join(given)}: for pods, which --operator local does not start")
    connection: dict[str, Any] = {}
    for name, keyword in (
        ("kubernetes-conn-id", "kubernetes_conn_id"),
        ("config-file", "config_file"),
        ("cluster-context", "cluster_context"),
    ):
        if options.get(name):
            connection[keyword] = options[name]
    if options.get("startup-timeout"):
        connection["startup_timeout_seconds"] = _seconds("startup-timeout", options["startup-timeout"])
    secrets = tuple(options.get("secret") or ())
    for secret in secrets:
        if not _K8S_NAME.match(secret):
            raise ValueError(f"--secret {secret!r}: a Kubernetes Secret's name (lowercase letters, digits, - and .)")
    timeout = options.get("dagrun-timeout")
    return AirflowSettings(
        operator=operator,
        connection=connection,
        task={k: options[k] for k in ("pool", "queue", "owner") if options.get(k)},
        dagrun_timeout_seconds=_seconds("dagrun-timeout", timeout) if timeout else None,
        env=_env(list(options.get("env") or ())),
        secrets=secrets,
    )
