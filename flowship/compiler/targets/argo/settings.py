"""The Argo target's options: how many pods of a run at once, how wide a foreach may fan out, how long a pod may
wait to start and a run may take, a schedule's starting deadline, priority, and labels, annotations,
environment variables and Secrets for every pod — read and checked in one place."""

from __future__ import annotations

import re
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

__all__ = [
    "OPTIONS",
    "ArgoSettings",
    "read_settings",
    "MAX_WORKERS_DEFAULT",
    "MAX_SPLITS_DEFAULT",
    "EVENT_SOURCE_DEFAULT",
    "EVENT_NAME",
]

MAX_WORKERS_DEFAULT = 100
# Argo keeps every node's status in the workflow object (at most 1 MiB, compressed; bench/bench_argo_status.py
# estimates 110 bytes per foreach item for a one-step body, 350 for three steps under @retry), so a foreach much
# wider fails the whole run unless the cluster offloads node status to a database. The limit is per foreach:
# nested foreach multiply.
MAX_SPLITS_DEFAULT = 2000
EVENT_SOURCE_DEFAULT = "flowship-events"  # the webhook EventSource docs/production.md shows
EVENT_NAME = "flowship"  # the event of that source every flowship event arrives as (its webhook endpoint /flowship)
STARTING_DEADLINE_DEFAULT = 3540  # a schedule missed while the controller was down still starts within 59 minutes

OPTIONS = (
    MAX_WORKERS,
    TargetOption(
        "max-splits",
        f"the most items one foreach may fan out to (default {MAX_SPLITS_DEFAULT}: every item's status is kept in "
        "the workflow, whose size Argo caps; raise it where node status is offloaded)",
    ),
    STARTUP_TIMEOUT,
    RUN_TIMEOUT,
    TargetOption(
        "starting-deadline",
        "scheduled flows: how late a missed schedule may still start, e.g. 30m (default 59m; 0: never late)",
    ),
    TargetOption("priority", "the workflow's priority: higher runs first when the controller is busy"),
    TargetOption("label", "a label on the workflow and every pod, KEY=VALUE (repeatable)", repeated=True),
    TargetOption("annotation", "an annotation on the workflow and every pod, KEY=VALUE (repeatable)", repeated=True),
    ENV,
    SECRET,
    FAILURE_WEBHOOK,
    TargetOption(
        "event-webhook",
        "the Argo Events webhook URL a succeeded run announces its finish to, for flows with @trigger_on_finish "
        "(e.g. http://flowship-events-eventsource-svc.argo-events:12000/flowship; default: runs announce nothing)",
    ),
    TargetOption(
        "event-source",
        f"@trigger flows: the Argo Events EventSource their Sensor listens to (default {EVENT_SOURCE_DEFAULT}; "
        f"its event named {EVENT_NAME!r})",
    ),
    TargetOption("sensor-service-account", "@trigger flows: the ServiceAccount their Sensor creates Workflows as"),
    TargetOption(
        "rbac",
        "also create what the pods need to report to Argo: a ServiceAccount (unless --service-account names "
        "yours), a Role allowing create/patch on workflowtaskresults, and its RoleBinding",
        flag=True,
    ),
)

# Kubernetes label keys: an optional DNS-subdomain prefix and a name; values: at most 63 characters.
_LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$")
_KEY_FORM = "KEY=VALUE, KEY a Kubernetes label key: [prefix/]name, the name of letters, digits, -, _ and ."


@dataclass(frozen=True)
class ArgoSettings:
    parallelism: int = MAX_WORKERS_DEFAULT
    max_splits: int = MAX_SPLITS_DEFAULT
    pending_timeout_seconds: int = STARTUP_TIMEOUT_DEFAULT
    run_timeout_seconds: int | None = None
    starting_deadline_seconds: int = STARTING_DEADLINE_DEFAULT
    priority: int | None = None
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()
    rbac: bool = False
    failure_webhook: tuple[str, str] | None = None  # (Secret, key)
    event_webhook: str | None = None
    event_source: str = EVENT_SOURCE_DEFAULT
    sensor_service_account: str | None = None

    def summary(self) -> str:
        parts = [
            f"parallelism={self.parallelism}",
            f"foreach at most {self.max_splits} items",
            f"pendingTimeout={self.pending_timeout_seconds}s",
        ]
        if self.run_timeout_seconds:
            parts.append(f"activeDeadlineSeconds={self.run_timeout_seconds}")
        if self.priority is not None:
            parts.append(f"priority={self.priority}")
        for what, names in (("labels", self.labels), ("annotations", self.annotations), ("env", self.env)):
            parts += [f"{what} {', '.join(names)}"] if names else []
        parts += [f"secrets {', '.join(self.secrets)}"] if self.secrets else []
        parts += ["with its ServiceAccount, Role and RoleBinding"] if self.rbac else []
        parts += (
            [f"failures POSTed to the URL in Secret {'/'.join(self.failure_webhook)}"] if self.failure_webhook else []
        )
        return "; ".join(parts)


def _no_argo_syntax(option: str, pairs: dict[str, str]) -> dict[str, str]:
    for key, value in pairs.items():
        if "{{" in value:  # Argo substitutes {{...}} in the whole spec, and it cannot be escaped
            raise ValueError(f"--{option} '{key}={value}': Argo would substitute the {{{{...}}}} in it; leave it out")
    return pairs


def _labels(texts: list[str]) -> dict[str, str]:
    labels = read_pairs("label", texts, _LABEL_KEY, _KEY_FORM)
    for key, value in labels.items():
        if not _LABEL_VALUE.match(value):
            raise ValueError(
                f"--label '{key}={value}': a label value is at most 63 letters, digits, -, _ and ., "
                "starting and ending with a letter or digit; use --annotation for other text"
            )
    return labels


def _priority(text: str) -> int:
    if not re.fullmatch(r"-?[0-9]+", text.strip()) or not -(2**31) <= int(text) < 2**31:
        raise ValueError(f"--priority {text!r}: give a whole number (higher runs first) that fits in 32 bits")
    return int(text)


def read_settings(options: Mapping[str, Any]) -> ArgoSettings:
    """The settings the options give; ValueError says which option is wrong and how to write it."""
    given = {k: v for k, v in options.items() if v not in (None, [], ())}
    deadline = given.get("starting-deadline")
    return ArgoSettings(
        parallelism=read_count("max-workers", given["max-workers"]) if "max-workers" in given else MAX_WORKERS_DEFAULT,
        max_splits=read_count("max-splits", given["max-splits"]) if "max-splits" in given else MAX_SPLITS_DEFAULT,
        pending_timeout_seconds=(
            read_seconds("startup-timeout", given["startup-timeout"])
            if "startup-timeout" in given
            else STARTUP_TIMEOUT_DEFAULT
        ),
        run_timeout_seconds=read_seconds("run-timeout", given["run-timeout"]) if "run-timeout" in given else None,
        starting_deadline_seconds=(
            STARTING_DEADLINE_DEFAULT
            if deadline is None
            else 0
            if deadline.strip() in ("0", "0s")
            else read_seconds("starting-deadline", deadline)
        ),
        priority=_priority(given["priority"]) if "priority" in given else None,
        labels=_labels(list(given.get("label", ()))),
        annotations=_no_argo_syntax(
            "annotation", read_pairs("annotation", given.get("annotation", ()), _LABEL_KEY, _KEY_FORM)
        ),
        env=_no_argo_syntax("env", read_pairs("env", given.get("env", ()))),
        secrets=read_k8s_names("secret", given.get("secret", ())),
        rbac=bool(given.get("rbac")),
        failure_webhook=(
            read_secret_key("failure-webhook", given["failure-webhook"]) if "failure-webhook" in given else None
        ),
        event_webhook=_url("event-webhook", given["event-webhook"]) if "event-webhook" in given else None,
        event_source=read_k8s_names("event-source", [given["event-source"]], "an EventSource's name")[0]
        if "event-source" in given
        else EVENT_SOURCE_DEFAULT,
        sensor_service_account=read_k8s_names(
            "sensor-service-account", [given["sensor-service-account"]], "a ServiceAccount's name"
        )[0]
        if "sensor-service-account" in given
        else None,
    )


def _url(option: str, text: str) -> str:
    if not re.fullmatch(r"https?://[^\s{}$]+", text):
        raise ValueError(f"--{option} {text!r}: give an http:// or https:// URL (without {{{{, }}}} or $)")
    return text
