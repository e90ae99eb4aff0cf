"""What a run report shows, read from the store once: every task, every attempt, and the run's critical path.

The report is drawn from this view alone, so reading (store calls, in
parallel: S3 answers slowly, one request at a time) and drawing (pure
functions of the view) are measured and tested apart. Only trusted records
are read as results; an attempt that was claimed and never finished is shown
as unfinished with the time it started, never with results.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from flowship.compiler.ir import FlowIR
from flowship.errors import NotFound
from flowship.runtime.datastore import AttemptRecord, FlowDatastore
from flowship.runtime.liveness import run_status
from flowship.runtime.taskids import SKIPPED, input_tasks

__all__ = ["AttemptView", "TaskView", "RunView", "read_run_view", "LOG_TAIL_LINES"]

LOG_TAIL_LINES = 30


@dataclass
class AttemptView:
    number: int
    status: str  # succeeded, failed, reused (by a resume, from its origin run), or unfinished (running, or killed)
    started_at: float
    finished_at: float | None
    exception: str = ""
    stdout_tail: str = ""
    stderr_tail: str = ""
    cards: list[dict[str, Any]] = field(default_factory=list)
    record: AttemptRecord | None = None  # the trusted record; None while unfinished


@dataclass
class TaskView:
    step: str
    task_id: str
    attempts: list[AttemptView]
    critical: bool = False

    @property
    def meta(self) -> dict[str, Any]:
        """The latest trusted attempt's record ({} while none has finished)."""
        trusted = [a.record for a in self.attempts if a.record is not None]
        return dict(trusted[-1].meta) if trusted else {}

    @property
    def pathspec_tail(self) -> str:
        return f"{self.step}/{self.task_id}"

    @property
    def status(self) -> str:
        """How the task ended; a task a resume reused from its origin run counts as succeeded."""
        status = self.attempts[-1].status if self.attempts else "unfinished"
        return "succeeded" if status == "reused" else status

    @property
    def reused(self) -> bool:
        return bool(self.attempts) and self.attempts[-1].status == "reused"

    @property
    def started_at(self) -> float:
        return self.attempts[0].started_at

    @property
    def finished_at(self) -> float | None:
        return self.attempts[-1].finished_at


@dataclass
class RunView:
    flow: str
    run_id: str
    record: dict[str, Any]
    ir: FlowIR
    status: str
    tasks: list[TaskView]  # in the order they started

    @property
    def ran(self) -> list[TaskView]:
        """The tasks this run ran itself (not those a resume reused from its origin run)."""
        return [t for t in self.tasks if not t.reused]

    @property
    def started_at(self) -> float:
        return min([t.started_at for t in self.ran], default=float(self.record.get("created_at", 0.0)))

    @property
    def finished_at(self) -> float | None:
        ends = [t.finished_at for t in self.ran]
        return None if not ends or None in ends else max(e for e in ends if e is not None)


def _tail(text: str, lines: int = LOG_TAIL_LINES) -> str:
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


def _attempt(store: FlowDatastore, run_id: str, step: str, task_id: str, number: int) -> AttemptView | None:
    record = store.read_attempt(run_id, step, task_id, number)
    if record is None:
        claim = store.read_claim(run_id, step, task_id, number)
        if claim is None:
            return None
        return AttemptView(number, "unfinished", float(claim.get("started_at", 0.0)), None)
    meta = record.meta
    view = AttemptView(
        number,
        "reused" if meta.get("cloned_from") else "succeeded" if record.succeeded else "failed",
        float(meta["started_at"]),
        float(meta.get("finished_at") or meta["started_at"]),
        cards=list(meta.get("cards") or []),
        record=record,
    )
    if not record.succeeded:  # what a person reading a failure needs: the error and the last lines printed
        view.exception = str(meta.get("exception") or "").strip()
        view.stdout_tail = _tail(store.read_log(run_id, step, task_id, number, "stdout"))
        stderr = store.read_log(run_id, step, task_id, number, "stderr").rstrip()
        view.stderr_tail = _tail(stderr.removesuffix(view.exception))  # the error is shown once, above its output
    return view


def _task(store: FlowDatastore, run_id: str, step: str, task_id: str) -> TaskView | None:
    attempts = [_attempt(store, run_id, step, task_id, n) for n in store.attempt_numbers(run_id, step, task_id)]
    kept = [a for a in attempts if a is not None]
    return TaskView(step, task_id, kept) if kept else None


def _mark_critical_path(ir: FlowIR, tasks: list[TaskView]) -> None:
    """The chain of tasks that decided when the run ended: from the last task to finish, back through the input
    that finished last each time. Shortening any other task would not have ended the run sooner."""
    finished = {(t.step, t.task_id): t for t in tasks if t.status == "succeeded"}
    ended = [t for t in tasks if t.finished_at is not None and not t.reused]
    if not ended:
        return

    def state(step: str, task_id: str) -> Any:  # the run is read as it is: what did not succeed never will here
        task = finished.get((step, task_id))
        return task.meta if task is not None else SKIPPED

    task: TaskView | None = max(ended, key=lambda t: t.finished_at or 0.0)
    while task is not None:
        task.critical = True
        inputs = input_tasks(ir, task.step, task.task_id, state) if ir.step(task.step).parents else None
        # a reused task took no time in this run: the path stops there
        known = [finished[i] for i in inputs or () if i in finished and not finished[i].reused]
        task = max(known, key=lambda t: t.finished_at or 0.0) if known else None


def read_run_view(store: FlowDatastore, run_id: str) -> RunView:
    """Everything the report of ``run_id`` shows, or NotFound naming the run."""
    record = store.read_run(run_id)
    if record is None:
        raise NotFound(
            f"no run {store.flow_name}/{run_id} in the store at {store.storage.url} — "
            f"`flow runs {store.flow_name}` lists its runs"
        )
    ir = FlowIR.from_dict(record["ir"])
    known_steps = {step.name for step in ir.steps}
    pairs = [(s, t) for s in store.steps(run_id) if s in known_steps for t in store.task_ids(run_id, s)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        found = list(pool.map(lambda pair: _task(store, run_id, *pair), pairs))
    tasks = sorted((t for t in found if t is not None), key=lambda t: (t.started_at, t.step, t.task_id))
    _mark_critical_path(ir, tasks)
    end = next((t for t in tasks if t.step == "end"), None)
    status = run_status(store, record, end is not None and end.status == "succeeded")
    return RunView(store.flow_name, run_id, record, ir, status, tasks)
