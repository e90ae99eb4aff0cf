"""The store layout: where artifacts, task attempts and runs live, identical on every storage.

::

    <Flow>/data/<sha[:2]>/<sha>                       artifact blobs, content-addressed, written once
    <Flow>/runs/<run>/run.json                        run metadata, written once by the run's first writer
    <Flow>/runs/<run>/heartbeat.json                  a local run's scheduler: rewritten while it lives
    <Flow>/runs/<run>/outcome.json                    a local run's scheduler: written once, when it ends
    <Flow>/runs/<run>/<step>/<task>/<attempt>/meta.json   one object per task attempt
    <Flow>/runs/<run>/<step>/<task>/<attempt>/stdout, stderr
    <Flow>/runs/<run>/<step>/<task>/<attempt>/DONE    completion marker, written last

A reader trusts an attempt only once its ``DONE`` marker exists, so a task
killed at any point leaves nothing trusted behind. Every object has exactly
one writer; nothing is read, modified and written back (the heartbeat is
replaced whole by its one writer).

Artifacts are pickled with protocol 5 and out-of-band buffers: large arrays
are hashed and written straight from their memory, and read back into
writable buffers, without the extra copies a plain ``pickle.dumps`` makes.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flowship.errors import FlowshipError
from flowship.providers.storage import Storage

__all__ = ["FlowDatastore", "ArtifactRef", "AttemptRecord", "ArtifactError", "LazyArtifacts"]

_MAGIC = b"FSA1"
_HEAD = struct.Struct("<4sIQ")  # magic, buffer count, header length
_SIZE = struct.Struct("<Q")


class ArtifactError(FlowshipError):
    """An artifact could not be saved (unpicklable) or loaded (missing, corrupt)."""


@dataclass(frozen=True)
class ArtifactRef:
    sha: str
    size: int
    type: str

    def to_dict(self) -> dict[str, Any]:
        return {"sha": self.sha, "size": self.size, "type": self.type}


@dataclass(frozen=True)
class AttemptRecord:
    """A trusted (marked) task attempt: its metadata as written."""

    run_id: str
    step: str
    task_id: str
    attempt: int
    meta: dict[str, Any]

    @property
    def succeeded(self) -> bool:
        return self.meta["status"] == "succeeded"

    @property
    def artifacts(self) -> dict[str, ArtifactRef]:
        return {name: ArtifactRef(**ref) for name, ref in self.meta["artifacts"].items()}


class LazyArtifacts:
    """One task attempt's artifacts as attributes, each loaded on first access (``task.data.x``, ``inputs.a.x``)."""

    def __init__(self, datastore: FlowDatastore, record: AttemptRecord):
        self._datastore, self._refs, self._step = datastore, record.artifacts, record.step
        self._cache: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self._refs:
            raise AttributeError(
                f"step '{self._step}' has no artifact '{name}'; it has {', '.join(sorted(self._refs)) or 'none'}"
            )
        if name not in self._cache:
            self._cache[name] = self._datastore.load_artifact(name, self._refs[name])
        return self._cache[name]

    def __contains__(self, name: str) -> bool:
        return name in self._refs

    def __dir__(self) -> list[str]:
        return sorted(self._refs)


def _encode(value: Any) -> list[bytes | memoryview]:
    buffers: list[pickle.PickleBuffer] = []
    header = pickle.dumps(value, protocol=5, buffer_callback=buffers.append)
    views = [b.raw() for b in buffers]
    frame = _HEAD.pack(_MAGIC, len(views), len(header)) + b"".join(_SIZE.pack(v.nbytes) for v in views)
    return [frame, header, *views]


def _decode(handle: Any) -> Any:  # a binary file: its readinto fills the buffers without copies
    magic, count, header_length = _HEAD.unpack(handle.read(_HEAD.size))
    if magic != _MAGIC:
        raise ValueError("not a flowship artifact")
    sizes = [_SIZE.unpack(handle.read(_SIZE.size))[0] for _ in range(count)]
    header = handle.read(header_length)
    buffers = []
    for size in sizes:
        buffer = bytearray(size)
        if handle.readinto(buffer) != size:
            raise ValueError("artifact is truncated")
        buffers.append(buffer)
    return pickle.loads(header, buffers=buffers)


class FlowDatastore:
    """The part of a store that belongs to one flow."""

    def __init__(self, storage: Storage, flow_name: str):
        self.storage = storage
        self.flow_name = flow_name

    # artifacts ----------------------------------------------------------------

    def _blob_key(self, sha: str) -> str:
        return f"{self.flow_name}/data/{sha[:2]}/{sha}"

    def save_artifact(self, name: str, value: Any) -> ArtifactRef:
        try:
            chunks = _encode(value)
        except Exception as exc:  # pickling runs user code (__reduce__), so anything can surface
            raise ArtifactError(
                f"artifact '{name}' ({type(value).__name__}) cannot be saved: {exc} — "
                "store a picklable value, or keep it in a local variable instead of self"
            ) from None
        digest = hashlib.sha256()
        for chunk in chunks:
            digest.update(chunk)
        sha = digest.hexdigest()
        key = self._blob_key(sha)
        if not self.storage.exists(key):
            self.storage.put(key, chunks)
        return ArtifactRef(sha, sum(memoryview(c).nbytes for c in chunks), type(value).__name__)

    def load_artifact(self, name: str, ref: ArtifactRef) -> Any:
        try:
            with self.storage.open(self._blob_key(ref.sha)) as handle:
                return _decode(handle)
        except KeyError:
            raise ArtifactError(f"artifact '{name}' ({ref.sha}) is missing from {self.storage.url}") from None
        except (ValueError, EOFError, struct.error) as exc:
            raise ArtifactError(f"artifact '{name}' ({ref.sha}) is corrupt: {exc}") from None

    # runs ---------------------------------------------------------------------

    def _run_key(self, run_id: str) -> str:
        return f"{self.flow_name}/runs/{run_id}"

    def write_run(self, run: dict[str, Any]) -> None:
        self.storage.put(f"{self._run_key(run['run_id'])}/run.json", _json(run))

    def read_run(self, run_id: str) -> dict[str, Any] | None:
        try:
            return json.loads(self.storage.get(f"{self._run_key(run_id)}/run.json"))
        except KeyError:
            return None

    def write_run_state(self, run_id: str, name: str, state: dict[str, Any]) -> None:
        """``heartbeat`` or ``outcome``: the local scheduler's own objects beside run.json."""
        self.storage.put(f"{self._run_key(run_id)}/{name}.json", _json(state))

    def read_run_state(self, run_id: str, name: str) -> dict[str, Any] | None:
        try:
            return json.loads(self.storage.get(f"{self._run_key(run_id)}/{name}.json"))
        except (KeyError, ValueError):
            return None

    def run_ids(self) -> list[str]:
        return self.storage.list(f"{self.flow_name}/runs")

    # task attempts ------------------------------------------------------------

    def attempt_key(self, run_id: str, step: str, task_id: str, attempt: int) -> str:
        return f"{self._run_key(run_id)}/{step}/{task_id}/{attempt}"

    def write_attempt(self, meta: dict[str, Any], logs: Mapping[str, bytes | str]) -> None:
        """Logs, then metadata, then the marker: a reader trusts the attempt only once all are there."""
        key = self.attempt_key(meta["run_id"], meta["step"], meta["task_id"], meta["attempt"])
        for stream, content in logs.items():
            self.storage.put(f"{key}/{stream}", content.encode() if isinstance(content, str) else content)
        self.storage.put(f"{key}/meta.json", _json(meta))
        self.storage.put(f"{key}/DONE", _json({"status": meta["status"]}))

    def steps(self, run_id: str) -> list[str]:
        return [n for n in self.storage.list(self._run_key(run_id)) if not n.endswith(".json")]

    def task_ids(self, run_id: str, step: str) -> list[str]:
        return self.storage.list(f"{self._run_key(run_id)}/{step}")

    def latest_attempt(self, run_id: str, step: str, task_id: str) -> AttemptRecord | None:
        """The highest-numbered trusted attempt of a task, or None."""
        attempts = sorted(
            (int(a) for a in self.storage.list(f"{self._run_key(run_id)}/{step}/{task_id}") if a.isdigit()),
            reverse=True,
        )
        for attempt in attempts:
            key = self.attempt_key(run_id, step, task_id, attempt)
            if self.storage.exists(f"{key}/DONE"):
                meta = json.loads(self.storage.get(f"{key}/meta.json"))
                return AttemptRecord(run_id, step, task_id, attempt, meta)
        return None

    def read_log(self, run_id: str, step: str, task_id: str, attempt: int, stream: str) -> str:
        try:
            return self.storage.get(f"{self.attempt_key(run_id, step, task_id, attempt)}/{stream}").decode(
                "utf-8", "replace"
            )
        except KeyError:
            return ""


def _json(value: Any) -> bytes:
    return json.dumps(value, indent=1, sort_keys=True, default=str).encode("utf-8")
