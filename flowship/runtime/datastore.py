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
import mmap
import pickle
import struct
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from flowship.errors import FlowshipError
from flowship.providers.storage import Storage

__all__ = ["FlowDatastore", "ArtifactRef", "AttemptRecord", "ArtifactError", "LazyArtifacts"]

_MAGIC = b"FSA1"
_HEAD = struct.Struct("<4sIQ")  # magic, buffer count, header length
_SIZE = struct.Struct("<Q")
_CHUNK = 16 * 2**20


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

    @property
    def pathspec(self) -> str:
        return f"{self.meta.get('flow', '?')}/{self.run_id}/{self.step}/{self.task_id}"


class LazyArtifacts:
    """One task attempt's artifacts as attributes, each loaded on first access (``task.data.x``, ``inputs.a.x``)."""

    def __init__(self, datastore: FlowDatastore, record: AttemptRecord):
        self._datastore, self._refs, self._step = datastore, record.artifacts, record.step
        self._where = record.pathspec
        self._cache: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self._refs:
            raise AttributeError(
                f"step '{self._step}' has no artifact '{name}'; it has {', '.join(sorted(self._refs)) or 'none'}"
            )
        if name not in self._cache:
            self._cache[name] = self._datastore.load_artifact(name, self._refs[name], self._where)
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


class _Reader:
    """Reads a blob into fresh buffers, hashing every byte on the way, within the size its reference gives.

    Hashing runs on a second thread, one chunk behind the reading (both release the GIL), so checking a
    large artifact costs little more than reading it.
    """

    def __init__(self, handle: Any, size: int, hasher: ThreadPoolExecutor):
        self.handle, self.left, self.hasher = handle, size, hasher
        self.digest = hashlib.sha256()
        self.pending: list[Future[None]] = []

    def read(self, size: int) -> bytearray | mmap.mmap:
        if size > self.left:
            raise ValueError("its frame asks for more bytes than its reference records")
        # Large buffers are anonymous memory maps: the kernel hands out zero pages as they are written, where a
        # bytearray would first be zeroed in full (a tenth of a second for 256 MiB).
        buffer: bytearray | mmap.mmap = mmap.mmap(-1, size) if size >= _CHUNK else bytearray(size)
        view, filled = memoryview(buffer), 0
        while filled < size:  # a file object may return less than asked; only an empty read is the end
            count = self.handle.readinto(view[filled : filled + _CHUNK])
            if not count:
                raise ValueError(f"it is truncated ({size - filled} bytes missing)")
            self.pending.append(self.hasher.submit(self.digest.update, view[filled : filled + count]))
            filled += count
        self.left -= size
        return buffer

    def hexdigest(self) -> str:
        for future in self.pending:
            future.result()
        return self.digest.hexdigest()


def _decode(handle: Any, sha: str, size: int) -> Any:
    """The value of a blob, unpickled only once every byte matched its address."""
    with ThreadPoolExecutor(max_workers=1) as hasher:  # one worker: the chunks are hashed in order
        reader = _Reader(handle, size, hasher)
        try:
            return _check_and_load(reader, handle, sha)
        finally:
            reader.hexdigest()  # never leave a hashing thread reading a buffer that is gone


def _check_and_load(reader: _Reader, handle: Any, sha: str) -> Any:
    magic, count, header_length = _HEAD.unpack(reader.read(_HEAD.size))
    if magic != _MAGIC:
        raise ValueError("it is not a flowship artifact")
    sizes = [_SIZE.unpack(reader.read(_SIZE.size))[0] for _ in range(count)]
    header = reader.read(header_length)
    buffers = [reader.read(length) for length in sizes]
    if reader.left or handle.read(1):
        raise ValueError("its length differs from the one recorded")
    if reader.hexdigest() != sha:
        raise ValueError("its content does not match its address (SHA-256)")
    return pickle.loads(header, buffers=buffers)


def blob_problem(handle: Any, sha: str) -> str | None:
    """Why a stored blob cannot be trusted, or None when its content hashes to its address."""
    digest = hashlib.sha256()
    while chunk := handle.read(_CHUNK):
        digest.update(chunk)
    return None if digest.hexdigest() == sha else "its content does not match its address (SHA-256)"


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
        if self.blob_problem(sha) is not None:  # absent, or there but damaged: (re)write it whole
            self.storage.put(self._blob_key(sha), chunks)
        return ArtifactRef(sha, sum(memoryview(c).nbytes for c in chunks), type(value).__name__)

    def blob_problem(self, sha: str) -> str | None:
        """Why the blob ``sha`` cannot be trusted ("missing", or damaged), or None: it verifies."""
        try:
            with self.storage.open(self._blob_key(sha)) as handle:
                return blob_problem(handle, sha)
        except KeyError:
            return "it is missing"

    def load_artifact(self, name: str, ref: ArtifactRef, where: str = "") -> Any:
        """The artifact's value; every byte is checked against its address before anything is unpickled."""
        what = f"artifact '{name}'" + (f" of {where}" if where else "")
        try:
            with self.storage.open(self._blob_key(ref.sha)) as handle:
                return _decode(handle, ref.sha, ref.size)
        except KeyError:
            raise ArtifactError(f"{what} ({ref.sha[:12]}) is missing from {self.storage.url}") from None
        except (ValueError, struct.error) as exc:
            raise ArtifactError(
                f"{what} ({ref.sha[:12]}) in {self.storage.url} is damaged: {exc} — "
                "run the step that made it again (flow resume re-runs tasks whose artifacts do not verify)"
            ) from None

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
