"""The processes of a local run's tasks: started, waited for, and stopped together when the run is stopped.

Tasks are forked from a warm fork server (``forkserver.py``) or, with
``FLOWSHIP_FORKSERVER=0``, spawned as fresh interpreters; the scheduler sees
one interface either way: run a step command to its exit code, or stop every
running task (SIGTERM, a grace, then SIGKILL).
"""

from __future__ import annotations

import subprocess
import sys
import threading
from typing import Protocol

from flowship.runtime.forkserver import ForkServer, forkserver_enabled, stop_processes

__all__ = ["TaskProcesses", "SpawnedTasks", "start_task_processes"]


class TaskProcesses(Protocol):
    def run(self, argv: list[str], log: str, timeout: float | None) -> int:
        """Run ``flow step <argv>`` with its output in ``log``; kill it past ``timeout``; its exit code."""

    def stop(self, grace: float) -> None: ...

    def close(self) -> None: ...


class SpawnedTasks:
    """A fresh interpreter per task."""

    def __init__(self) -> None:
        self.running: dict[int, subprocess.Popen[bytes]] = {}
        self.condition = threading.Condition()

    def run(self, argv: list[str], log: str, timeout: float | None) -> int:
        with open(log, "wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "flowship", "step", *argv],
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        with self.condition:
            self.running[process.pid] = process
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()
        finally:
            with self.condition:
                del self.running[process.pid]
                self.condition.notify_all()

    def stop(self, grace: float) -> None:
        stop_processes(lambda: [pid for pid, p in self.running.items() if p.poll() is None], grace, self.condition)

    def close(self) -> None:
        pass


def start_task_processes(preload: tuple[str, ...]) -> TaskProcesses:
    """The fork server (``preload``: modules it imports once for every task), unless it is switched off."""
    return ForkServer(preload) if forkserver_enabled() else SpawnedTasks()
