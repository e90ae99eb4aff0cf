"""The store layout: where artifacts, task attempts and runs live, identical on every storage.

::

    <Flow>/data/<sha[:2]>/<sha>                       artifact blobs, content-addressed, written once
    <Flow>/runs/<run>/run.json                        run metadata, written once by the run's first writer
    <Flow>/runs/<run>/heartbeat.json                  a local run's scheduler: rewritten while it lives
    <Flow>/runs/<run>/outcome.json                    a local run's scheduler: written once, when it ends
    <Flow>/runs/<run>/<step>/<task>/<attempt>/meta.json   one object per task attempt
    <Flow>/runs/<run>/<step>/<task>/<attempt>/stdout, stderr
    <Flow>/runs/<run>/<step>/<task>/<attempt>/cards/<i>-<type>[-<id>].html   its @cards, before meta.json
    <Flow>/runs/<run>/<step>/<task>/<attempt>/DONE    completion marker, written last
    <Flow>/runs/<run>/user-tags/<time>-<random>.json  one tag change each, created once (runtime/tagging.py)
    <Flow>/runs/<run>/s3-objects/<key>                what S3(run=...) stores for the run (datatools/)
    <Flow>/packages/<sha256>.tar.gz                   code packages (package.py)
    <Flow>/environments/<id>.json                     a step's @pypi/@conda environment, its locks (envs/record.py)
    <Flow>/environments/wheels/<sha256>/<file>.whl    the wheels a deployed environment installs from
    <Flow>/promotions/<time>-<random>.json            one promotion record each, created once (promotions.py)

A reader trusts an attempt only once its ``DONE`` marker exists, so a task
killed at any point leaves nothing trusted behind. Every object has exactly
one writer; nothing is read, modified and written back (the heartbeat is
replaced whole by its one writer).

How an artifact becomes bytes and back, checked against its address, is
``blobs.py``.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flowship.errors import FlowshipError, NotFound
from flowship.providers.storage import Storage
from flowship.runtime.blobs import blob_problem, decode_blob, encode_blob
from flowship.step_command import NAME, RUN_ID, TASK_ID

__all__ = ["FlowDatastore", "ArtifactRef", "AttemptRecord", "ArtifactError", "DamagedRecord", "LazyArtifacts"]


class DamagedRecord(FlowshipError):
    """A run's or an attempt's record exists but cannot be read; the message names its path."""


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


class FlowDatastore:
    """The part of a store that belongs to one flow."""

    def __init__(self, storage: Storage, flow_name: str):
        if not NAME.match(flow_name):
            raise NotFound(f"{flow_name!r} is not a flow name (a Python class name, e.g. TrainFlow)")
        self.storage = storage
        self.flow_name = flow_name

    # artifacts ----------------------------------------------------------------

    def _blob_key(self, sha: str) -> str:
        return f"{self.flow_name}/data/{sha[:2]}/{sha}"

    def save_artifact(self, name: str, value: Any) -> ArtifactRef:
        try:
            chunks = encode_blob(value)
        except Exception as exc:  # pickling runs user code (__reduce__), so anything can surface
            raise ArtifactError(
                f"artifact '{name}' ({type(value).__name__}) cannot be saved: {exc} — "
                "store a picklable value, or keep it in a local variable instead of self"
            ) from None
        digest = hashlib.sha256()
        for chunk in chunks:
            digest.update(chunk)
        sha = digest.hexdigest()
        size = sum(memoryview(c).nbytes for c in chunks)
        if self.blob_problem(sha) is not None:  # absent, or there but damaged: (re)write it whole
            try:
                self.storage.put(self._blob_key(sha), chunks)
            except FlowshipError as exc:  # full, read-only, no permission: say which artifact, how big, where
                raise ArtifactError(f"artifact '{name}' ({size / 2**20:.1f} MiB) cannot be saved: {exc}") from None
        return ArtifactRef(sha, size, type(value).__name__)

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
                return decode_blob(handle, ref.sha, ref.size)
        except KeyError:
            raise ArtifactError(f"{what} ({ref.sha[:12]}) is missing from {self.storage.url}") from None
        except (ValueError, struct.error) as exc:
            raise ArtifactError(
                f"{what} ({ref.sha[:12]}) in {self.storage.url} is damaged: {exc} — "
                "run the step that made it again (flow resume re-runs tasks whose artifacts do not verify)"
            ) from None

    # runs ---------------------------------------------------------------------

    def _run_key(self, run_id: str) -> str:
        if not RUN_ID.match(run_id):
            raise NotFound(f"{run_id!r} is not a run id (letters, digits and . _ ~ -, e.g. 20261201T190102-3fa2c1)")
        return f"{self.flow_name}/runs/{run_id}"

    def _task_key(self, run_id: str, step: str, task_id: str) -> str:
        if not NAME.match(step):
            raise NotFound(f"{step!r} is not a step name")
        if not TASK_ID.match(task_id):
            raise NotFound(f"{task_id!r} is not a task id (a foreach index path: 0, 0.3, 0.3.1)")
        return f"{self._run_key(run_id)}/{step}/{task_id}"

    def create_run(self, run: dict[str, Any]) -> bool:
        """Write a new run's record, unless the run id is taken already (then False: choose another id)."""
        return self.storage.create(f"{self._run_key(run['run_id'])}/run.json", _json(run))

    def read_run(self, run_id: str) -> dict[str, Any] | None:
        key = f"{self._run_key(run_id)}/run.json"
        try:
            return json.loads(self.storage.get(key))
        except KeyError:
            return None
        except ValueError as exc:
            raise DamagedRecord(f"the record of run {self.flow_name}/{run_id} ({key}) cannot be read: {exc}") from None

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
        return f"{self._task_key(run_id, step, task_id)}/{int(attempt)}"

    def claim_attempt(self, run_id: str, step: str, task_id: str, attempt: int, claim: dict[str, Any]) -> bool:
        """Mark an attempt as started, exclusively: False when that attempt number was used already."""
        return self.storage.create(f"{self.attempt_key(run_id, step, task_id, attempt)}/started.json", _json(claim))

    def write_attempt(self, meta: dict[str, Any], logs: Mapping[str, bytes | str]) -> None:
        """Logs, then metadata, then the marker: a reader trusts the attempt only once all are there."""
        key = self.attempt_key(meta["run_id"], meta["step"], meta["task_id"], meta["attempt"])
        for stream, content in logs.items():
            self.storage.put(f"{key}/{stream}", content.encode() if isinstance(content, str) else content)
        self.storage.put(f"{key}/meta.json", _json(meta))
        self.storage.put(f"{key}/DONE", _json({"status": meta["status"]}))

    def put_card(self, run_id: str, step: str, task_id: str, attempt: int, file: str, html: str) -> None:
        """A card of an attempt (``file`` as its ``meta["cards"]`` entry names it), written before meta.json."""
        self.storage.put(f"{self.attempt_key(run_id, step, task_id, attempt)}/{file}", html.encode("utf-8"))

    def read_card(self, record: AttemptRecord, file: str) -> str:
        key = f"{self.attempt_key(record.run_id, record.step, record.task_id, record.attempt)}/{file}"
        return self._read_text(key, f"the card {file} of {record.pathspec} attempt {record.attempt}")

    def steps(self, run_id: str) -> list[str]:
        """The run's step folders (named like Python identifiers; other folders beside them are not steps)."""
        return [n for n in self.storage.list(self._run_key(run_id)) if NAME.match(n)]

    def task_ids(self, run_id: str, step: str) -> list[str]:
        if not NAME.match(step):
            raise NotFound(f"{step!r} is not a step name")
        return self.storage.list(f"{self._run_key(run_id)}/{step}")

    def attempt_numbers(self, run_id: str, step: str, task_id: str) -> list[int]:
        """Every attempt number a task has claimed, finished or not, lowest first."""
        return sorted(int(a) for a in self.storage.list(self._task_key(run_id, step, task_id)) if a.isdigit())

    def read_attempt(self, run_id: str, step: str, task_id: str, attempt: int) -> AttemptRecord | None:
        """One attempt's record, once trusted (its ``DONE`` marker exists); None before."""
        key = self.attempt_key(run_id, step, task_id, attempt)
        if not self.storage.exists(f"{key}/DONE"):
            return None
        try:
            meta = json.loads(self.storage.get(f"{key}/meta.json"))
        except (KeyError, ValueError) as exc:
            raise DamagedRecord(
                f"the record of {self.flow_name}/{run_id}/{step}/{task_id} attempt {attempt} "
                f"({key}/meta.json) cannot be read: {exc}"
            ) from None
        return AttemptRecord(run_id, step, task_id, attempt, meta)

    def read_claim(self, run_id: str, step: str, task_id: str, attempt: int) -> dict[str, Any] | None:
        """Who started an attempt and when (``started.json``), or None when it was never claimed."""
        try:
            return dict(
                json.loads(self.storage.get(f"{self.attempt_key(run_id, step, task_id, attempt)}/started.json"))
            )
        except (KeyError, ValueError):
            return None

    def latest_attempt(self, run_id: str, step: str, task_id: str) -> AttemptRecord | None:
        """The highest-numbered trusted attempt of a task, or None."""
        for attempt in reversed(self.attempt_numbers(run_id, step, task_id)):
            record = self.read_attempt(run_id, step, task_id, attempt)
            if record is not None:
                return record
        return None

    def read_log(self, run_id: str, step: str, task_id: str, attempt: int, stream: str) -> str:
        key = f"{self.attempt_key(run_id, step, task_id, attempt)}/{stream}"
        return self._read_text(key, f"the {stream} of {self.flow_name}/{run_id}/{step}/{task_id} attempt {attempt}")

    def _read_text(self, key: str, what: str) -> str:
        """A text object of a trusted attempt; one missing behind its DONE marker is a damaged record."""
        try:
            return self.storage.get(key).decode("utf-8", "replace")
        except KeyError:
            raise DamagedRecord(f"{what} is missing ({key})") from None


def _json(value: Any) -> bytes:
    return json.dumps(value, indent=1, sort_keys=True, default=str).encode("utf-8")
