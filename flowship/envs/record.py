"""An environment as the store keeps it: its locks per platform, named by their hash, and its wheels beside them.

::

    <Flow>/environments/<id>.json                       the record: requirements, Python, a lock per platform
    <Flow>/environments/wheels/<sha256>/<file>.whl      each locked wheel, content-addressed (deployments)

A local run records the lock it resolved for this machine (its wheels come
from the index, through uv's cache); ``flow deploy``/``compile`` records the
Linux locks and uploads every wheel they name, so a pod installs from the
store alone. Tasks find the record by the id their step command carries
(``--environment``); runs and ``flow environment show`` find it the same way.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field

from flowship.envs.lock import cache_root, locked_packages
from flowship.envs.uv import EnvironmentFailure
from flowship.runtime.datastore import FlowDatastore

__all__ = [
    "EnvRecord",
    "save_record",
    "read_record",
    "upload_wheels",
    "fetch_wheels",
    "wheel_folder",
]


@dataclass(frozen=True)
class EnvRecord:
    requirements: tuple[str, ...]
    python: str  # the version it was resolved for
    locks: Mapping[str, str] = field(default_factory=dict)  # platform -> pylock.toml text
    wheels_in_store: bool = False  # a deployment's: install from the store, never from an index

    @property
    def id(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    def to_json(self) -> str:
        data = {
            "requirements": list(self.requirements),
            "python": self.python,
            "locks": dict(sorted(self.locks.items())),
            "wheels_in_store": self.wheels_in_store,
        }
        return json.dumps(data, sort_keys=True, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> EnvRecord:
        data = json.loads(text)
        return cls(tuple(data["requirements"]), data["python"], data["locks"], data["wheels_in_store"])


def _record_key(store: FlowDatastore, record_id: str) -> str:
    return f"{store.flow_name}/environments/{record_id}.json"


def _wheel_key(store: FlowDatastore, sha: str, name: str) -> str:
    return f"{store.flow_name}/environments/wheels/{sha}/{name}"


def save_record(store: FlowDatastore, record: EnvRecord) -> str:
    key = _record_key(store, record.id)
    if not store.storage.exists(key):
        store.storage.put(key, record.to_json().encode())
    return record.id


def read_record(store: FlowDatastore, record_id: str) -> EnvRecord:
    if not all(c in "0123456789abcdef" for c in record_id) or len(record_id) != 64:
        raise EnvironmentFailure(f"--environment={record_id}: not an environment id (64 hex digits)")
    try:
        data = store.storage.get(_record_key(store, record_id))
    except KeyError:
        raise EnvironmentFailure(
            f"environment {record_id[:12]} is not in {store.storage.url}; deploy the flow again"
        ) from None
    if hashlib.sha256(data).hexdigest() != record_id:
        raise EnvironmentFailure(f"environment {record_id[:12]} in {store.storage.url} is damaged (its hash differs)")
    return EnvRecord.from_json(data.decode())


def wheel_folder() -> str:
    """The node's wheels, one flat folder (uv's --find-links), each checked against its hash before use."""
    return os.path.join(cache_root(), "wheels")


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _keep(path: str, data_source: object, sha: str, what: str) -> None:
    """Write the file ``data_source`` gives (a URL or bytes) at ``path`` if it hashes to ``sha``."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=os.path.dirname(path), delete=False, suffix=".part") as handle:
        if isinstance(data_source, bytes):
            handle.write(data_source)
        else:
            try:
                with urllib.request.urlopen(str(data_source), timeout=60) as response:
                    while chunk := response.read(1 << 20):
                        handle.write(chunk)
            except OSError as exc:
                os.unlink(handle.name)
                raise EnvironmentFailure(f"{what}: cannot download {data_source} ({exc})") from None
    if _sha256(handle.name) != sha:
        os.unlink(handle.name)
        raise EnvironmentFailure(f"{what}: {os.path.basename(path)} does not match its locked SHA-256")
    os.replace(handle.name, path)


def _cached_wheel(name: str, sha: str) -> str | None:
    path = os.path.join(wheel_folder(), name)
    return path if os.path.exists(path) and _sha256(path) == sha else None


def upload_wheels(store: FlowDatastore, record: EnvRecord, what: str) -> int:
    """Put every wheel the record's locks name into the store (downloaded once into this machine's cache)."""
    uploaded = 0
    for lock in record.locks.values():
        for package in locked_packages(lock):
            if package.wheel is None:
                raise EnvironmentFailure(f"{what}: package '{package.name}' has no wheel for a deployment to install")
            name, url, sha = package.wheel
            key = _wheel_key(store, sha, name)
            if store.storage.exists(key):
                continue
            path = _cached_wheel(name, sha)
            if path is None:
                path = os.path.join(wheel_folder(), name)
                _keep(path, url, sha, what)
            store.storage.put_file(key, path)
            uploaded += 1
    return uploaded


def fetch_wheels(store: FlowDatastore, lock: str, what: str) -> str:
    """Bring the lock's wheels from the store into the node's wheel folder; that folder."""
    for package in locked_packages(lock):
        if package.wheel is None:
            raise EnvironmentFailure(f"{what}: package '{package.name}' has no wheel in the store")
        name, _, sha = package.wheel
        if _cached_wheel(name, sha) is None:
            try:
                data = store.storage.get(_wheel_key(store, sha, name))
            except KeyError:
                raise EnvironmentFailure(
                    f"{what}: wheel {name} is not in {store.storage.url}; deploy the flow again"
                ) from None
            _keep(os.path.join(wheel_folder(), name), data, sha, what)
    return wheel_folder()
