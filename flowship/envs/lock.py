"""Locks: each distinct environment resolved once, for the platform it runs on, and reused by every task and run.

An environment is its requirements (the step's packages and what a flowship
task needs), a Python version and a platform: the machine's own for local
runs, Linux on x86_64 and arm64 for deployments. :func:`resolve` has uv
resolve it into a PEP 751 lock (``pylock.toml``: exact versions, the one file
per package this platform installs, its URL and SHA-256), keyed by the hash of
that spec and cached under :func:`cache_root`, so it is resolved once. A
deployment's lock holds wheels only (``--no-build``), since pods install
without an index or a compiler.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import sys
import tempfile
from dataclasses import dataclass
from importlib import metadata

from flowship.envs.uv import run_uv

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "CACHE_VARIABLE",
    "DEPLOY_PLATFORMS",
    "EnvSpec",
    "LockedPackage",
    "cache_root",
    "host_platform",
    "runtime_requirements",
    "resolve",
    "locked_packages",
]

CACHE_VARIABLE = "FLOWSHIP_ENVIRONMENTS"
# a deployment's platforms -> uv's name of the platform it resolves for (glibc 2.28: Debian 10, RHEL 8 and newer)
DEPLOY_PLATFORMS = {"linux-x86_64": "x86_64-manylinux_2_28", "linux-aarch64": "aarch64-manylinux_2_28"}
_MACHINES = {"amd64": "x86_64", "arm64": "aarch64"}
# flowship's dependencies a task never imports: they resolve and make environments, before a task enters one
_NOT_IN_TASKS = {"uv", "tomli"}


def cache_root() -> str:
    """Where locks, wheels and environments are kept: $FLOWSHIP_ENVIRONMENTS, else the user's cache folder."""
    return os.environ.get(CACHE_VARIABLE) or os.path.join(os.path.expanduser("~"), ".cache", "flowship", "environments")


def host_platform() -> str:
    """This machine, named as deployments name theirs: ``linux-x86_64``, ``linux-aarch64``, ``darwin-arm64``."""
    machine = platform.machine().lower()
    return f"{sys.platform}-{_MACHINES.get(machine, machine) if sys.platform == 'linux' else machine}"


def runtime_requirements(datastore: str) -> tuple[str, ...]:
    """What a flowship task needs besides the step's packages: flowship's own dependencies (and boto3 for S3)."""
    try:
        declared = metadata.requires("flowship") or []
    except metadata.PackageNotFoundError:
        declared = []
    needed = [r.split(";")[0].strip() for r in declared if "extra ==" not in r and "extra==" not in r]
    needed = [r for r in needed if re.split(r"[<>=!~ \[]", r, maxsplit=1)[0].lower() not in _NOT_IN_TASKS]
    if datastore.startswith("s3://"):
        needed.append("boto3")
    return tuple(needed)


@dataclass(frozen=True)
class EnvSpec:
    """What an environment is made of; its :attr:`key` names its lock."""

    requirements: tuple[str, ...]  # the step's, then the runtime's
    python: str  # the version it is resolved for: "3.11", "3.11.4"
    platform: str  # host_platform() or a key of DEPLOY_PLATFORMS

    @property
    def key(self) -> str:
        text = json.dumps([sorted(self.requirements), self.python, self.platform], separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class LockedPackage:
    name: str
    version: str
    hashes: tuple[str, ...]  # SHA-256 of each file the lock allows for it
    wheel: tuple[str, str, str] | None  # (file name, URL, SHA-256) of its wheel; None: built from its sdist


def locked_packages(lock: str) -> list[LockedPackage]:
    """The packages of a ``pylock.toml`` text."""
    found = []
    for package in tomllib.loads(lock).get("packages", []):
        wheels = package.get("wheels") or []
        files = [*wheels, *([package["sdist"]] if "sdist" in package else [])]
        wheel = None
        if wheels:
            url = wheels[0]["url"]
            wheel = (wheels[0].get("name") or url.rsplit("/", 1)[-1], url, wheels[0]["hashes"]["sha256"])
        hashes = tuple(f["hashes"]["sha256"] for f in files if "sha256" in f.get("hashes", {}))
        found.append(LockedPackage(package["name"], package["version"], hashes, wheel))
    return found


def resolve(spec: EnvSpec, what: str, interpreter: str | None = None) -> str:
    """The lock of ``spec`` (a pylock.toml text), from the cache or resolved by uv now.

    ``interpreter``: resolve for that interpreter (a local run); otherwise for ``spec.platform``, a
    deployment's, with wheels only. ``what`` starts every error (the step and its decorator).
    """
    cached = os.path.join(cache_root(), "locks", f"{spec.key}.toml")
    if os.path.exists(cached):
        with open(cached, encoding="utf-8") as handle:
            return handle.read()
    with tempfile.TemporaryDirectory(prefix="flowship-lock-") as scratch:
        output = os.path.join(scratch, "pylock.toml")
        target = ["--python", interpreter] if interpreter else []
        if not interpreter:
            target = ["--python-platform", DEPLOY_PLATFORMS[spec.platform], "--python-version", spec.python]
            target.append("--no-build")
        run_uv(
            ["pip", "compile", "-", "--quiet", "--no-header", "--output-file", output, *target],
            what=what,
            stdin="\n".join(spec.requirements) + "\n",
        )
        with open(output, encoding="utf-8") as handle:
            lock = handle.read()
    os.makedirs(os.path.dirname(cached), exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=os.path.dirname(cached), delete=False, suffix=".tmp") as written:
        written.write(lock)
    os.replace(written.name, cached)  # atomic: tasks resolving the same spec at once all read a whole lock
    return lock
