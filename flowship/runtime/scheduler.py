"""``flow run`` and ``flow resume``: a parallel local scheduler of ``flow step`` processes.

Every task is a separate process running the same step command Argo and
Airflow run. A thread per running task waits on its process (retrying under
``@retry``, killing it past ``@timeout``); the main thread launches the tasks
whose inputs are complete, up to ``max_workers`` at a time. A resumed run
clones every task that succeeded in the origin run whose inputs were cloned
too, and re-executes the rest.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Literal

from flowship.compiler.ir import FlowIR
from flowship.compiler.parse import MAX_GANG_NODES, PARALLEL_ARTIFACT
from flowship.runtime.datastore import AttemptRecord, DamagedRecord, FlowDatastore
from flowship.runtime.liveness import Heartbeat
from flowship.runtime.processes import TaskProcesses, start_task_processes
from flowship.runtime.progress import Progress
from flowship.runtime.taskids import (
    PENDING,
    ROOT_TASK_ID,
    SKIPPED,
    base_task_id,
    child_task_id,
    first_task_id,
    input_tasks,
    join_closing,
    parent_task_id,
)
from flowship.step_command import TIMEOUT_GRACE_SECONDS, StepCommand

__all__ = ["LocalScheduler", "TaskOutcome", "STOP_GRACE_SECONDS"]

STOP_GRACE_SECONDS = 10.0  # a stopped run's tasks get this long to record that they were stopped


@dataclass
class TaskOutcome:
    step: str
    task_id: str
    succeeded: bool
    attempts: int
    cloned: bool = False
    record: AttemptRecord | None = None
    console: str = ""  # where the process's own output went, for tasks that died without a record
    seconds: float = 0.0
    exit_code: int | None = None  # of the last attempt's process; negative: the signal that ended it

    @property
    def unrecorded(self) -> str | None:
        """Why the last attempt left no record of its outcome (its process's end), or None if it left one."""
        if self.succeeded or (self.record is not None and self.record.attempt == self.attempts - 1):
            return None
        code = self.exit_code
        if code is None:
            return "the run was stopped before the task started"
        if code < 0:
            try:
                ended = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                ended = f"killed by signal {-code}"
        else:
            ended = f"exit status {code}"
        return f"the task ended ({ended}) before it recorded its outcome"


@dataclass
class LocalScheduler:
    flow_file: str
    ir: FlowIR
    datastore: FlowDatastore
    run_id: str
    max_workers: int
    max_splits: int | None = None  # --max-num-splits: a foreach wider than this fails before fanning out
    origin_run_id: str | None = None
    progress: Progress = field(default_factory=Progress)
    environments: Mapping[str, str] = field(default_factory=dict)  # step -> its @pypi/@conda environment's id
    _done: dict[tuple[str, str], TaskOutcome] = field(default_factory=dict)
    _launched: set[tuple[str, str]] = field(default_factory=set)
    _skipped: set[tuple[str, str]] = field(default_factory=set)  # tasks no switch picked: they never run
    _processes: TaskProcesses | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)
    _tail: ConsoleTail = field(init=False)

    def execute(self) -> list[TaskOutcome]:
        """Run every task; stop launching after the first failure. Returns the failures (empty on success)."""
        failures: list[TaskOutcome] = []
        scratch = tempfile.mkdtemp(prefix="flowship-console-")
        storage_module = type(self.datastore.storage).__module__  # e.g. the S3 store, with boto3
        self._processes = start_task_processes((storage_module,))
        heartbeat = Heartbeat(self.datastore, self.run_id).start()
        self._tail = ConsoleTail(self.progress).start()
        status: Literal["succeeded", "failed", "killed"] = "killed"
        try:
            self._schedule(scratch, failures)
            status = "failed" if failures else "succeeded"
        finally:
            self._tail.stop()
            self._processes.close()
            heartbeat.stop(status)
            self.progress.close()
            if not any(f.unrecorded for f in failures):
                shutil.rmtree(scratch, ignore_errors=True)  # kept only where it is a dead task's only output
        return failures

    def _schedule(self, scratch: str, failures: list[TaskOutcome]) -> None:
        with ThreadPoolExecutor(max_workers=self.max_workers + MAX_GANG_NODES) as pool:
            try:
                self._launch_ready(pool, scratch, failures)
            except BaseException:  # Ctrl-C, SIGTERM, a fault of our own: the run stops, and so do its tasks
                self._stopping.set()
                assert self._processes is not None
                self._processes.stop(STOP_GRACE_SECONDS)
                raise

    def _launch_ready(self, pool: ThreadPoolExecutor, scratch: str, failures: list[TaskOutcome]) -> None:
        running: dict[Future[TaskOutcome], tuple[str, str]] = {}
        ready = [("start", ROOT_TASK_ID)]
        while ready or running:
            while ready and not failures and (len(running) < self.max_workers or self._in_gang(ready[0][0])):
                task = ready.pop(0)
                self._launched.add(task)
                self.progress.started(*task)
                running[pool.submit(self._run_task, *task, scratch)] = task
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                running.pop(future)
                outcome = future.result()
                self._done[(outcome.step, outcome.task_id)] = outcome
                self.progress.finished(outcome)
                if outcome.succeeded:
                    ready += self._successors(outcome.step, outcome.task_id)
                else:
                    failures.append(outcome)

    def _in_gang(self, step: str) -> bool:
        """A node num_parallel= started: its nodes may wait for each other, so all start at once."""
        return any(self.ir.step(parent).foreach_var == PARALLEL_ARTIFACT for parent in self.ir.step(step).parents)

    # what runs next ------------------------------------------------------------

    def _state(self, step: str, task_id: str) -> Mapping[str, Any] | str:
        """A finished task's record, SKIPPED for a task no switch picked, PENDING for the rest."""
        if (step, task_id) in self._skipped:
            return SKIPPED
        outcome = self._done.get((step, task_id))
        if outcome is None or not outcome.succeeded or outcome.record is None:
            return PENDING
        return outcome.record.meta

    def _successors(self, step: str, task_id: str) -> list[tuple[str, str]]:
        """Tasks that can start now that ``step``/``task_id`` finished or was skipped; skips the ones no switch
        picked, and what follows only from them, as it goes."""
        node = self.ir.step(step)
        state = self._state(step, task_id)
        base = base_task_id(node, task_id)
        if not isinstance(state, str) and node.loops and state["chosen"] == step:
            return [(step, child_task_id(base, int(task_id.rsplit(".", 1)[1]) + 1))]
        if node.transition == "foreach":
            if isinstance(state, str):  # skipped: no items, so its join is decided from here
                candidates = [(join_closing(self.ir, step), base)]
            else:
                body = self.ir.step(node.next[0])
                return [(body.name, first_task_id(body, child_task_id(base, i))) for i in range(state["num_splits"])]
        else:
            candidates = []
            for target in node.next:
                successor = self.ir.step(target)
                if target != step:
                    at = parent_task_id(base) if self.ir.joins_foreach(successor) else base
                    candidates.append((target, first_task_id(successor, at)))
        ready = []
        for task in candidates:
            if task in self._launched or task in self._skipped:
                continue
            inputs = input_tasks(self.ir, *task, self._state)
            if inputs is None:
                continue
            if inputs:
                self._launched.add(task)
                ready.append(task)
            else:
                self._skipped.add(task)
                ready += self._successors(*task)
        return ready

    # running one task -----------------------------------------------------------

    def _clone(self, step: str, task_id: str) -> TaskOutcome | None:
        """Reuse the origin run's task when it succeeded and every input was itself cloned."""
        if self.origin_run_id is None:
            return None
        inputs = input_tasks(self.ir, step, task_id, self._state) or []
        if not all(self._done[i].cloned for i in inputs):
            return None
        origin = self.datastore.latest_attempt(self.origin_run_id, step, task_id)
        if origin is None or not origin.succeeded:
            return None
        for name, ref in sorted(origin.artifacts.items()):  # reuse only what is there and verifies
            problem = self.datastore.blob_problem(ref.sha)
            if problem is not None:
                self.progress.notice(
                    f"running {step}/{task_id} again; its artifact '{name}' cannot be reused: {problem}"
                )
                return None
        try:
            logs = {
                s: self.datastore.read_log(self.origin_run_id, step, task_id, origin.attempt, s)
                for s in ("stdout", "stderr")
            }
            saved = [c["file"] for c in origin.meta.get("cards", []) if c.get("file")]
            cards = {file: self.datastore.read_card(origin, file) for file in saved}
        except DamagedRecord as exc:
            self.progress.notice(f"running {step}/{task_id} again; its record cannot be reused: {exc}")
            return None
        meta = {
            **origin.meta,
            "run_id": self.run_id,
            "attempt": 0,
            "cloned_from": f"{self.origin_run_id}/{step}/{task_id}/{origin.attempt}",
        }
        claim = {"cloned_from": meta["cloned_from"]}
        if not self.datastore.claim_attempt(self.run_id, step, task_id, 0, claim):
            return None  # something already ran this task in this run: never written over
        for file, html in cards.items():  # a reused task keeps its cards, as Metaflow's resume does
            self.datastore.put_card(self.run_id, step, task_id, 0, file, html)
        self.datastore.write_attempt(meta, logs)
        return TaskOutcome(
            step, task_id, True, 0, cloned=True, record=AttemptRecord(self.run_id, step, task_id, 0, meta)
        )

    def _launch(self, step: str, task_id: str, attempt: int, console: str, limit: float | None) -> int:
        """Run the step command for one attempt; its output goes to ``console``."""
        command = StepCommand(
            self.flow_file,
            step,
            self.run_id,
            task_id,
            str(attempt),
            self.datastore.storage.url,
            max_splits=None if self.max_splits is None else str(self.max_splits),
            flow_name=self.ir.name,
            environment=self.environments.get(step),
        )
        assert self._processes is not None
        return self._processes.run(command.to_argv()[2:], console, limit)  # the arguments after `flow step`

    def _run_task(self, step: str, task_id: str, scratch: str) -> TaskOutcome:
        began = time.monotonic()
        cloned = self._clone(step, task_id)
        if cloned is not None:
            return cloned
        decorators = self.ir.step(step).decorators
        retries = decorators.retry.times if decorators.retry else 0
        pause = decorators.retry.minutes_between_retries * 60 if decorators.retry else 0
        limit = decorators.timeout_seconds + TIMEOUT_GRACE_SECONDS if decorators.timeout_seconds else None
        console = ""
        code: int | None = None
        record = None
        tried = 0
        for attempt in range(retries + 1):
            if self._stopping.is_set():
                break
            tried += 1
            console = os.path.join(scratch, f"{step}.{task_id}.{attempt}.log")
            self._tail.follow(console, f"{step}/{task_id}" + (f" attempt {attempt + 1}" if attempt else ""))
            try:
                code = self._launch(step, task_id, attempt, console, limit)
            finally:
                self._tail.unfollow(console)
            record = self.datastore.latest_attempt(self.run_id, step, task_id)
            recorded = record is not None and record.attempt == attempt and record.succeeded
            if code == 0 and recorded:  # a zero exit alone is not success: the attempt must say it succeeded
                return TaskOutcome(step, task_id, True, attempt + 1, record=record, seconds=time.monotonic() - began)
            if attempt < retries and not self._stopping.is_set():
                self.progress.retrying(step, task_id, attempt + 1)
                self._stopping.wait(pause)
        return TaskOutcome(
            step,
            task_id,
            False,
            tried,
            record=record,
            console=console,
            seconds=time.monotonic() - began,
            exit_code=code,
        )


class ConsoleTail:
    """Hands the lines running tasks write to their console files to ``progress.output``, as they come."""

    def __init__(self, progress: Progress, interval: float = 0.1) -> None:
        self.progress, self.interval = progress, interval
        self.files: dict[str, tuple[str, int, bytes]] = {}  # path -> (prefix, offset read, partial line)
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> ConsoleTail:
        if self.progress.wants_output:
            self.thread.start()
        return self

    def follow(self, path: str, prefix: str) -> None:
        if self.progress.wants_output:
            with self.lock:
                self.files[path] = (prefix, 0, b"")

    def unfollow(self, path: str) -> None:
        """Read what is left of a finished task's output, its last line included."""
        with self.lock:
            if path in self.files:
                self._read(path, final=True)
                del self.files[path]

    def _read(self, path: str, final: bool = False) -> None:
        prefix, offset, partial = self.files[path]
        try:
            with open(path, "rb") as handle:
                handle.seek(offset)
                chunk = handle.read()
        except FileNotFoundError:
            return
        *lines, rest = (partial + chunk).split(b"\n")
        if final and rest:
            lines, rest = lines + [rest], b""
        for line in lines:
            self.progress.output(prefix, line.decode("utf-8", "replace"))
        self.files[path] = (prefix, offset + len(chunk), rest)

    def _run(self) -> None:
        while not self.stopped.wait(self.interval):
            with self.lock:
                for path in list(self.files):
                    self._read(path)

    def stop(self) -> None:
        self.stopped.set()
        if self.thread.is_alive():
            self.thread.join()
