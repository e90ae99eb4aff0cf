"""The Airflow target's options: task mode, the pod operator's connection and start-up, pool, queue, owner,
how long a run may take and how many of its tasks run at once, and environment variables and Secrets for
every task — read and checked in one place."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flowship.compiler.targets.base import TargetOption
from flowship.compiler.targets.options import (
    ENV,
    FAILURE_WEBHOOK,
    MAX_WORKERS,
    RUN_TIMEOUT,
    SECRET,
    STARTUP_TIMEOUT,
    STARTUP_TIMEOUT_DEFAULT,
    read_count,
    read_k8s_names,
    read_pairs,
    read_seconds,
    read_secret_key,
)

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
    STARTUP_TIMEOUT,
    TargetOption("pool", "the Airflow pool every task takes a slot of"),
    TargetOption("queue", "the executor queue every task goes to"),
    TargetOption("owner", "the owner Airflow shows for every task"),
    RUN_TIMEOUT,
    MAX_WORKERS,
    ENV,
    SECRET,
    FAILURE_WEBHOOK,
)
_KUBERNETES_ONLY = (
    "kubernetes-conn-id",
    "config-file",
    "cluster-context",
    "startup-timeout",
    "secret",
    "failure-webhook",
)


@dataclass(frozen=True)
class AirflowSettings:
    operator: str = "kubernetes"
    connection: dict[str, Any] = field(default_factory=dict)  # KubernetesPodOperator keyword -> value
    task: dict[str, str] = field(default_factory=dict)  # pool, queue, owner: every operator's keywords
    run_timeout_seconds: int | None = None
    max_active_tasks: int | None = None  # None: Airflow's own [core] max_active_tasks_per_dag
    env: dict[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()
    failure_webhook: tuple[str, str] | None = None  # (Secret, key)

    def summary(self) -> str:
        parts = [f"{k}={v}" for k, v in {**self.connection, **self.task}.items()]
        if self.run_timeout_seconds:
            parts.append(f"dagrun_timeout={self.run_timeout_seconds}s")
        if self.max_active_tasks:
            parts.append(f"max_active_tasks={self.max_active_tasks}")
        parts += [f"env {', '.join(self.env)}"] if self.env else []
        parts += [f"secrets {', '.join(self.secrets)}"] if self.secrets else []
        parts += (
            [f"failures POSTed to the URL in Secret {'/'.join(self.failure_webhook)}"] if self.failure_webhook else []
        )
        return f"{self.operator} tasks" + (f"; {'; '.join(parts)}" if parts else "")


def _env(texts: list[str]) -> dict[str, str]:
    env = read_pairs("env", texts)
    for text in texts:
        if any(marker in text.partition("=")[2] for marker in ("{{", "{%", "{#")):
            # Airflow renders a pod's environment, mapped tasks' included, and no quoting survives every provider
            raise ValueError(f"--env {text!r}: Airflow would render the Jinja syntax in it; set it in the image")
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
    if operator == "kubernetes":
        startup = options.get("startup-timeout")
        connection["startup_timeout_seconds"] = (
            read_seconds("startup-timeout", startup) if startup else STARTUP_TIMEOUT_DEFAULT
        )
    timeout, workers = options.get("run-timeout"), options.get("max-workers")
    return AirflowSettings(
        operator=operator,
        connection=connection,
        task={k: options[k] for k in ("pool", "queue", "owner") if options.get(k)},
        run_timeout_seconds=read_seconds("run-timeout", timeout) if timeout else None,
        max_active_tasks=read_count("max-workers", workers) if workers else None,
        env=_env(list(options.get("env") or ())),
        secrets=read_k8s_names("secret", options.get("secret") or ()),
        failure_webhook=(
            read_secret_key("failure-webhook", options["failure-webhook"]) if options.get("failure-webhook") else None
        ),
    )
