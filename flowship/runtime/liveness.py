"""Is a run succeeded, failed, still running, or killed? Told apart without trusting a process to say so.

A local run's scheduler rewrites ``heartbeat.json`` every few seconds and
writes ``outcome.json`` once when it ends. A run whose scheduler stopped
beating without an outcome (killed, machine gone) is ``killed``, not
``running`` forever; on the machine that ran it, a dead scheduler process is
noticed at once. A deployed run has no local scheduler: its scheduler runs
``flow record-outcome`` when it ends (``runtime/outcome.py``); before that it
has failed when a task failed on its last allowed attempt, and is running
otherwise.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import Any, Literal

from flowship.runtime.datastore import FlowDatastore

__all__ = ["RunStatus", "Heartbeat", "run_status", "scheduler_identity", "HEARTBEAT_SECONDS", "STALE_SECONDS"]

RunStatus = Literal["succeeded", "failed", "running", "killed"]
HEARTBEAT_SECONDS = 5.0
STALE_SECONDS = 30.0  # six missed heartbeats


def scheduler_identity() -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid()}


class Heartbeat:
    """The local scheduler's pulse for one run; ``stop(status)`` writes its outcome."""

    def __init__(self, datastore: FlowDatastore, run_id: str) -> None:
        self.datastore, self.run_id = datastore, run_id
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self) -> None:
        while True:
            try:
                self.datastore.write_run_state(self.run_id, "heartbeat", {**scheduler_identity(), "at": time.time()})
            except Exception:  # a missed beat is harmless; the next one retries
                pass
            if self._stopped.wait(HEARTBEAT_SECONDS):
                return

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def stop(self, status: Literal["succeeded", "failed", "killed"]) -> None:
        self._stopped.set()
        self._thread.join()
        self.datastore.write_run_state(self.run_id, "outcome", {"status": status, "at": time.time()})


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _failed_for_good(datastore: FlowDatastore, record: dict[str, Any]) -> bool:
    retries = {s["name"]: (s["decorators"]["retry"] or {}).get("times", 0) for s in record["ir"]["steps"]}
    run_id = record["run_id"]
    for step in datastore.steps(run_id):
        for task_id in datastore.task_ids(run_id, step):
            attempt = datastore.latest_attempt(run_id, step, task_id)
            if attempt is not None and not attempt.succeeded and attempt.attempt >= retries.get(step, 0):
                return True
    return False


def run_status(
    datastore: FlowDatastore, record: dict[str, Any], end_succeeded: bool, now: float | None = None
) -> RunStatus:
    if end_succeeded:
        return "succeeded"
    run_id = record["run_id"]
    scheduler = record.get("scheduler")
    outcome = datastore.read_run_state(run_id, "outcome")  # a local scheduler's, or `flow record-outcome`'s
    if outcome is not None:
        return "succeeded" if outcome["status"] == "succeeded" else outcome["status"]
    if scheduler is None:  # deployed, not ended yet as far as the store knows: failed once a task failed for good
        return "failed" if _failed_for_good(datastore, record) else "running"
    beat = datastore.read_run_state(run_id, "heartbeat") or {**scheduler, "at": record["created_at"]}
    now = time.time() if now is None else now
    if now - beat["at"] > STALE_SECONDS:
        return "killed"
    if beat.get("host") == socket.gethostname() and not _process_alive(int(beat["pid"])):
        return "killed"
    return "running"
