"""The Client: read runs, steps, tasks and artifacts back from the store, Metaflow-shaped.

``Flow("TrainFlow").latest_run["train"].task.data.model`` works from a script
or a notebook. The store is ``datastore=`` when given, else found as
``runtime/locate.py`` says (``FLOWSHIP_DATASTORE``, else the nearest
``.flowship`` folder). Only runs in the current namespace are visible;
``namespace(None)`` shows all of them. Looking up something that is not
there raises :class:`~flowship.errors.NotFound` (a ``KeyError``) naming what is.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from flowship.errors import FlowshipError, NotFound, did_you_mean
from flowship.providers.storage import open_storage
from flowship.runtime.client_scope import (
    default_datastore,
    default_namespace,
    flow_store,
    get_namespace,
    in_namespace,
    list_flows,
    listing,
    namespace,
    runs_below,
    split_pathspec,
)
from flowship.runtime.datastore import ArtifactRef, AttemptRecord, DamagedRecord, FlowDatastore, LazyArtifacts
from flowship.runtime.liveness import RunStatus, run_status
from flowship.runtime.promotions import Promotion, promotion_history
from flowship.runtime.tagging import change_user_tags, system_tags, user_tags

__all__ = [
    "Metaflow",
    "Flow",
    "Run",
    "Step",
    "Task",
    "DataArtifact",
    "namespace",
    "get_namespace",
    "default_namespace",
    "default_datastore",
    "list_flows",
]


class DataArtifact:
    """One artifact of a task: ``task["x"]`` or ``DataArtifact("Flow/run/step/task/x")``; its value is ``.data``."""

    def __init__(self, pathspec: str, _task: Task | None = None):
        if _task is None:
            flow, run_id, step, task_id, name = split_pathspec(pathspec, 5, "DataArtifact")
            _task = Task(flow_store(flow), run_id, step, task_id)
            pathspec = f"{_task.pathspec}/{name}"
        self.pathspec, self.id = pathspec, pathspec.rsplit("/", 1)[1]
        self._task = _task
        ref = _task._trusted().artifacts.get(self.id)
        if ref is None:
            raise NotFound(f"task {_task.pathspec} has no artifact '{self.id}'")
        self._ref: ArtifactRef = ref

    @property
    def name(self) -> str:
        return self.id

    @property
    def data(self) -> Any:
        return getattr(self._task.data, self.id)

    @property
    def sha(self) -> str:
        return self._ref.sha

    @property
    def size(self) -> int:
        return self._ref.size

    def __repr__(self) -> str:
        return f"DataArtifact('{self.pathspec}')"


class Task:
    def __init__(self, datastore: FlowDatastore | str, run_id: str = "", step: str = "", task_id: str = ""):
        if isinstance(datastore, str):  # Task("Flow/run/step/task")
            flow, run_id, step, task_id = split_pathspec(datastore, 4, "Task")
            datastore = flow_store(flow)
        self._ds, self.run_id, self.step_name, self.id = datastore, run_id, step, task_id
        self.pathspec = f"{datastore.flow_name}/{run_id}/{step}/{task_id}"
        self._record = datastore.latest_attempt(run_id, step, task_id)

    def _trusted(self) -> AttemptRecord:
        if self._record is None:
            raise FlowshipError(f"task {self.pathspec} has not finished")
        return self._record

    @property
    def finished(self) -> bool:
        return self._record is not None

    @property
    def successful(self) -> bool:
        return self._record is not None and self._record.succeeded

    @property
    def data(self) -> LazyArtifacts:
        return LazyArtifacts(self._ds, self._trusted())

    def __getitem__(self, name: str) -> DataArtifact:
        return DataArtifact(f"{self.pathspec}/{name}", self)

    def __iter__(self) -> Iterator[DataArtifact]:
        return (DataArtifact(f"{self.pathspec}/{name}", self) for name in sorted(self._trusted().artifacts))

    @property
    def attempt(self) -> int:
        return self._trusted().attempt

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self._trusted().meta)

    @property
    def exception(self) -> str | None:
        return self._trusted().meta.get("exception")

    @property
    def cards(self) -> Any:
        """The task's cards (``flowship.cards.get_cards(task)``): each has ``.type``, ``.id``, ``.get()``."""
        from flowship.cards.client import get_cards

        return get_cards(self)

    @property
    def stdout(self) -> str:
        return self._ds.read_log(self.run_id, self.step_name, self.id, self._trusted().attempt, "stdout")

    @property
    def stderr(self) -> str:
        return self._ds.read_log(self.run_id, self.step_name, self.id, self._trusted().attempt, "stderr")

    def __repr__(self) -> str:
        return f"Task('{self.pathspec}')"


class Step:
    def __init__(self, datastore: FlowDatastore | str, run_id: str = "", name: str = "", foreach_depth: int = 0):
        if isinstance(datastore, str):  # Step("Flow/run/step")
            flow, run_id, name = split_pathspec(datastore, 3, "Step")
            found = Run(f"{flow}/{run_id}")[name]
            datastore, foreach_depth = found._ds, found._foreach_depth
        self._ds: FlowDatastore = datastore
        self.run_id, self.id = run_id, name
        self._foreach_depth: int = foreach_depth
        self.pathspec = f"{datastore.flow_name}/{run_id}/{name}"

    def __iter__(self) -> Iterator[Task]:
        ids = sorted(self._ds.task_ids(self.run_id, self.id), key=lambda t: [int(p) for p in t.split(".")])
        return (Task(self._ds, self.run_id, self.id, t) for t in ids)

    def __getitem__(self, task_id: str) -> Task:
        ids = self._ds.task_ids(self.run_id, self.id)
        outside_foreach = task_id == "0" and self._foreach_depth == 0  # its one task, whether it wrote anything yet
        if task_id not in ids and not outside_foreach:
            ids.sort(key=lambda t: [int(p) if p.isdigit() else 0 for p in t.split(".")])
            raise NotFound(f"step {self.pathspec} has no task '{task_id}'; its tasks: {listing(ids)}")
        return Task(self._ds, self.run_id, self.id, task_id)

    @property
    def task(self) -> Task:
        """The step's first task (its only one outside a foreach)."""
        for task in self:
            return task
        raise FlowshipError(f"step {self.pathspec} has no tasks")

    def __repr__(self) -> str:
        return f"Step('{self.pathspec}')"


class Run:
    def __init__(self, datastore: FlowDatastore | str, run_id: str = "", record: dict[str, Any] | None = None):
        if isinstance(datastore, str):  # Run("Flow/run")
            flow, run_id = split_pathspec(datastore, 2, "Run")
            datastore = flow_store(flow)
        self._ds, self.id = datastore, run_id
        self.pathspec = f"{datastore.flow_name}/{run_id}"
        record = record or datastore.read_run(run_id)
        if record is None:
            runs = sorted(datastore.run_ids(), reverse=True)
            raise NotFound(
                f"flow {datastore.flow_name} has no run '{run_id}' in {datastore.storage.url}; "
                f"its newest runs: {listing(runs, 5)}"
            )
        self._record = record
        self._end = Task(datastore, run_id, "end", "0")
        self._user_tags: frozenset[str] | None = None

    @property
    def user_tags(self) -> frozenset[str]:
        """Tags given at launch (``--tag``) or added since, less those removed; as read when first asked."""
        if self._user_tags is None:
            self._user_tags = user_tags(self._ds, self._record)
        return self._user_tags

    @property
    def system_tags(self) -> frozenset[str]:
        """``user:<who>``, the run's namespace, ``project:<p>`` and ``project_branch:<b>``: never change."""
        return system_tags(self._record)

    @property
    def tags(self) -> frozenset[str]:
        """User and system tags, as Metaflow's ``Run.tags``."""
        return self.user_tags | self.system_tags

    def replace_tags(self, tags_to_remove: Iterable[str], tags_to_add: Iterable[str]) -> None:
        """Remove, then add, user tags as one change (a reader sees all of it or none)."""
        self._user_tags = change_user_tags(self._ds, self._record, tags_to_remove, tags_to_add)

    def add_tag(self, tag: str | Iterable[str]) -> None:
        self.replace_tags([], [tag] if isinstance(tag, str) else tag)

    def add_tags(self, tags: Iterable[str]) -> None:
        self.replace_tags([], tags)

    def remove_tag(self, tag: str | Iterable[str]) -> None:
        self.replace_tags([tag] if isinstance(tag, str) else tag, [])

    def remove_tags(self, tags: Iterable[str]) -> None:
        self.replace_tags(tags, [])

    def replace_tag(self, tag_to_remove: str | Iterable[str], tag_to_add: str | Iterable[str]) -> None:
        remove = [tag_to_remove] if isinstance(tag_to_remove, str) else tag_to_remove
        self.replace_tags(remove, [tag_to_add] if isinstance(tag_to_add, str) else tag_to_add)

    @property
    def namespace(self) -> str:
        return self._record["namespace"]

    @property
    def user(self) -> str:
        return self._record["user"]

    @property
    def created_at(self) -> float:
        return self._record["created_at"]

    @property
    def parameters(self) -> dict[str, str]:
        return dict(self._record["parameters"])

    @property
    def origin_run_id(self) -> str | None:
        return self._record.get("origin_run_id")

    @property
    def code_package(self) -> str | None:
        """The SHA-256 of the code package this run executed."""
        package = self._record.get("code_package")
        return package["sha"] if package else None

    @property
    def promoted_from(self) -> str | None:
        """For a run of a promoted deployment: the research run (FLOW/RUN) its code and parameters came from."""
        return self._record.get("promoted_from")

    @property
    def project(self) -> str | None:
        return self._record.get("project")

    @property
    def branch(self) -> str | None:
        return self._record.get("branch")

    @property
    def finished(self) -> bool:
        return self._end.finished

    @property
    def successful(self) -> bool:
        return self._end.successful

    @property
    def failure(self) -> str | None:
        """Why a finished run failed, in a line (``step 'train' task 0.2: ValueError: ...``); None otherwise."""
        outcome = self._ds.read_run_state(self.id, "outcome") or {}
        failures = outcome.get("failures") or []
        if outcome.get("status") == "succeeded" or not failures:
            return None
        first = failures[0]
        where = f"step '{first['step']}' task {first['task_id']}: " if "step" in first else ""
        where = where or (f"{first['node']}: " if "node" in first else "")
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        return f"{where}{first['message']}{more}"

    @property
    def status(self) -> RunStatus:
        """succeeded, failed, running, or killed (a local run whose scheduler died)."""
        return run_status(self._ds, self._record, self.successful)

    @property
    def end_task(self) -> Task:
        return self._end

    @property
    def data(self) -> LazyArtifacts:
        """The end step's artifacts."""
        if not self.successful:
            raise FlowshipError(f"run {self.pathspec} has not finished successfully; read a step's task data instead")
        return self.end_task.data

    def __iter__(self) -> Iterator[Step]:
        present = set(self._ds.steps(self.id))
        return (
            Step(self._ds, self.id, s["name"], s["foreach_depth"])
            for s in self._record["ir"]["steps"]
            if s["name"] in present
        )

    def __getitem__(self, step: str) -> Step:
        depths = {s["name"]: s["foreach_depth"] for s in self._record["ir"]["steps"]}
        if step not in depths:
            raise NotFound(
                f"flow {self._ds.flow_name} has no step '{step}'; its steps: {', '.join(depths)}"
                + did_you_mean(step, depths)
            )
        if self.successful and step not in self._ds.steps(self.id):  # as in Metaflow: a step that never ran
            raise NotFound(f"step '{step}' did not run in {self.pathspec}: no switch picked it")
        return Step(self._ds, self.id, step, depths[step])

    def __repr__(self) -> str:
        return f"Run('{self.pathspec}')"


class Flow:
    def __init__(self, name: str, datastore: str | None = None):
        self.id = self.pathspec = name
        self._ds = FlowDatastore(open_storage(datastore or default_datastore()), name)
        self.damaged: list[str] = []  # why runs() skipped a run whose record cannot be read
        if not self._ds.run_ids():
            flows = list_flows(self._ds.storage.url)
            raise NotFound(
                f"flow {name} has no runs in {self._ds.storage.url}"
                + (did_you_mean(name, flows) or f"; flows with runs there: {listing(flows)}")
                + ("" if datastore else runs_below(name))
            )

    def runs(self, *tags: str) -> list[Run]:
        """Runs in the current namespace carrying every tag given, newest first."""
        wanted = get_namespace()
        runs = []
        self.damaged = []
        for run_id in self._ds.run_ids():
            try:
                record = self._ds.read_run(run_id)
            except DamagedRecord as exc:  # one bad record never hides the other runs
                self.damaged.append(str(exc))
                continue
            if record is None or not in_namespace(record, wanted):
                continue
            run = Run(self._ds, run_id, record)
            if not tags or set(tags) <= run.tags:
                runs.append(run)
        return sorted(runs, key=lambda r: (r.created_at, r.id), reverse=True)

    def __iter__(self) -> Iterator[Run]:
        return iter(self.runs())

    def __getitem__(self, run_id: str) -> Run:
        return Run(self._ds, run_id)

    @property
    def latest_run(self) -> Run | None:
        runs = self.runs()
        return runs[0] if runs else None

    @property
    def latest_successful_run(self) -> Run | None:
        return next((r for r in self.runs() if r.successful), None)

    def promotions(self, project: str | None = None) -> list[Promotion]:
        """Promotions, held-back attempts and rollbacks recorded in the flow's store, oldest first."""
        return promotion_history(self._ds, project=project)

    def __repr__(self) -> str:
        return f"Flow('{self.id}')"


class Metaflow:
    """Every flow with runs in the store: ``Metaflow().flows``, ``Metaflow()["HelloFlow"]``."""

    def __init__(self, datastore: str | None = None):
        self._store = datastore or default_datastore()

    @property
    def flows(self) -> list[Flow]:
        return [Flow(name, self._store) for name in list_flows(self._store)]

    def __iter__(self) -> Iterator[Flow]:
        return iter(self.flows)

    def __getitem__(self, name: str) -> Flow:
        return Flow(name, self._store)

    def __repr__(self) -> str:
        return "Metaflow()"
