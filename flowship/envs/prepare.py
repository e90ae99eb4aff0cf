"""The environments of a flow, prepared before any task runs, and a task entering its own.

``flow run --environment=pypi`` resolves every step's environment for this
machine and makes it (so a bad package is an error before the first task),
``flow deploy``/``compile`` resolves them for Linux on x86_64 and arm64 and
uploads their wheels; both record each environment in the store and hand its
id to the step's tasks (``flow step --environment=ID``). A task given an id
makes the environment from that record if this machine lacks it, then runs
itself again in it (:func:`enter_environment`).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

from flowship.compiler.ir import FlowIR, PythonEnv
from flowship.envs.install import ensure_environment, exec_in_environment, interpreter_for
from flowship.envs.lock import DEPLOY_PLATFORMS, EnvSpec, host_platform, locked_packages, resolve, runtime_requirements
from flowship.envs.record import EnvRecord, fetch_wheels, read_record, save_record, upload_wheels
from flowship.envs.uv import EnvironmentFailure
from flowship.runtime.datastore import FlowDatastore

__all__ = [
    "describe",
    "local_records",
    "local_environments",
    "deployed_environments",
    "upload_environments",
    "enter_environment",
    "running_python",
]


def running_python() -> str:
    """The running interpreter's version, major.minor: what a step without python= gets."""
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def describe(step: str, env: PythonEnv) -> str:
    """How errors name a step's environment."""
    return f"step '{step}' (@{env.decorator})"


def _requirements(env: PythonEnv, datastore: str) -> tuple[str, ...]:
    return (*env.packages.values(), *runtime_requirements(datastore))


def local_records(ir: FlowIR, datastore: str) -> dict[str, EnvRecord]:
    """Every step's environment resolved for this machine (locks from the cache, else from uv); step -> record."""
    records: dict[str, EnvRecord] = {}
    for step in ir.steps:
        env = step.decorators.python_env
        if env is None:
            continue
        what = describe(step.name, env)
        python = env.python or running_python()
        requirements = _requirements(env, datastore)
        lock = resolve(EnvSpec(requirements, python, host_platform()), what, interpreter_for(env.python, what))
        records[step.name] = EnvRecord(requirements, python, {host_platform(): lock})
    return records


def local_environments(ir: FlowIR, store: FlowDatastore) -> dict[str, str]:
    """Resolve and make every step's environment on this machine, record it in the store; step -> its id."""
    ids: dict[str, str] = {}
    for step, record in local_records(ir, store.storage.url).items():
        ensure_environment(record.locks[host_platform()], record.python, f"step '{step}'")
        ids[step] = save_record(store, record)
    return ids


def deployed_environments(
    ir: FlowIR, datastore: str, python_version: str, pinned: Mapping[str, EnvRecord] | None = None
) -> dict[str, EnvRecord]:
    """Every step's environment resolved for the deployment platforms (nothing uploaded yet); step -> record.

    ``pinned`` (``flow promote``): the research run's environments by step; a deployed one is reused as it is,
    a local run's versions are kept as pins.
    """
    records: dict[str, EnvRecord] = {}
    for step in ir.steps:
        env = step.decorators.python_env
        if env is None:
            continue
        what = describe(step.name, env)
        earlier = (pinned or {}).get(step.name)
        if earlier is not None and earlier.wheels_in_store:
            records[step.name] = earlier
            continue
        python = env.python or python_version
        requirements = _requirements(env, datastore)
        pins = _pins(earlier) if earlier is not None else ()
        locks = {name: resolve(EnvSpec((*requirements, *pins), python, name), what) for name in DEPLOY_PLATFORMS}
        records[step.name] = EnvRecord(requirements, python, locks, wheels_in_store=True)
    return records


def upload_environments(store: FlowDatastore, records: Mapping[str, EnvRecord]) -> int:
    """Put each environment and every wheel it locks in the store; how many wheels were new there."""
    uploaded = 0
    for step, record in records.items():
        uploaded += upload_wheels(store, record, f"step '{step}'")
        save_record(store, record)
    return uploaded


def _pins(record: EnvRecord) -> tuple[str, ...]:
    """The exact versions an environment ran with, as requirements a new lock must keep."""
    lock = next(iter(record.locks.values()))
    return tuple(f"{p.name}=={p.version}" for p in locked_packages(lock))


def enter_environment(store: FlowDatastore, environment_id: str, step: str, argv: list[str]) -> None:
    """Run this task again inside its environment (made first if this machine lacks it); never returns."""
    what = f"step '{step}' (environment {environment_id[:12]})"
    record = read_record(store, environment_id)
    here = host_platform()
    lock = record.locks.get(here)
    if lock is None:
        raise EnvironmentFailure(
            f"{what}: it was resolved for {', '.join(sorted(record.locks))}, not for this machine ({here})"
        )
    wheels = fetch_wheels(store, lock, what) if record.wheels_in_store else None
    # a deployment's wheels fit any interpreter of the minor version they were locked for: the image's patch wins
    python = ".".join(record.python.split(".")[:2]) if record.wheels_in_store else record.python
    python = ensure_environment(lock, python, what, wheels)
    exec_in_environment(python, environment_id, argv)
