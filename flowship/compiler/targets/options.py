"""Deployment options that mean the same on every target, and how any target's option values are read.

A target lists the options it reads (``Target.options``); an option several
targets list is one command-line option whose meaning each target maps to its
own field (``--run-timeout``: Argo's ``activeDeadlineSeconds``, Airflow's
``dagrun_timeout``). Values are read here once, so a wrong value gets the same
message whichever target reads it: the option, what was given, the form expected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from flowship.compiler.targets.base import TargetOption

__all__ = [
    "MAX_WORKERS",
    "STARTUP_TIMEOUT",
    "STARTUP_TIMEOUT_DEFAULT",
    "RUN_TIMEOUT",
    "ENV",
    "SECRET",
    "FAILURE_WEBHOOK",
    "read_seconds",
    "read_count",
    "read_pairs",
    "read_k8s_names",
    "read_secret_key",
]

MAX_WORKERS = TargetOption(
    "max-workers", "the most tasks of one run at once (Argo: spec.parallelism, default 100; Airflow: max_active_tasks)"
)
STARTUP_TIMEOUT_DEFAULT = 600
STARTUP_TIMEOUT = TargetOption(
    "startup-timeout",
    "how long a task's pod may wait to start (image pull, a missing Secret, no node that fits) before it fails: "
    "seconds, or e.g. 30m (default 10m; raise it while GPU nodes scale up)",
)
RUN_TIMEOUT = TargetOption("run-timeout", "how long one run may take before it is stopped: seconds, or e.g. 90m, 6h")
ENV = TargetOption("env", "an environment variable for every task, NAME=VALUE (repeatable)", repeated=True)
SECRET = TargetOption(
    "secret", "a Kubernetes Secret whose keys every pod gets as environment variables (repeatable)", repeated=True
)
FAILURE_WEBHOOK = TargetOption(
    "failure-webhook",
    "SECRET/KEY: a Kubernetes Secret's key holding a URL that gets a POST (JSON) when a run fails",
)

_DURATION = re.compile(r"^([0-9]+)([smh]?)$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


def read_seconds(option: str, text: str) -> int:
    """``90``, ``90s``, ``30m``, ``6h`` -> seconds; anything else names the option and the form."""
    match = _DURATION.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"--{option} {text!r}: give a positive number of seconds, or minutes/hours as 90m, 6h")
    return int(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


def read_count(option: str, text: str) -> int:
    if not re.fullmatch(r"[0-9]+", text.strip()) or int(text) == 0:
        raise ValueError(f"--{option} {text!r}: give a whole number above 0")
    return int(text)


def read_pairs(
    option: str,
    texts: Iterable[str],
    key: re.Pattern[str] = _ENV_NAME,
    form: str = "NAME=VALUE, NAME of letters, digits and _",
) -> dict[str, str]:
    """``KEY=VALUE`` options -> a dict; ``key`` is the form a key must have, ``form`` says it in words."""
    pairs = {}
    for text in texts:
        name, equals, value = text.partition("=")
        if not equals or not key.match(name):
            raise ValueError(f"--{option} {text!r}: write {form}")
        pairs[name] = value
    return pairs


def read_k8s_names(option: str, given: Iterable[str], what: str = "a Kubernetes Secret's name") -> tuple[str, ...]:
    names = tuple(given)
    for name in names:
        if not _K8S_NAME.match(name):
            raise ValueError(f"--{option} {name!r}: {what} (lowercase letters, digits, - and .)")
    return names


def read_secret_key(option: str, text: str) -> tuple[str, str]:
    """``SECRET/KEY`` -> (Secret's name, key)."""
    name, slash, key = text.partition("/")
    if not slash or not _K8S_NAME.match(name) or not re.match(r"^[-._a-zA-Z0-9]+$", key):
        raise ValueError(f"--{option} {text!r}: write SECRET/KEY, a Kubernetes Secret's name and one of its keys")
    return name, key
