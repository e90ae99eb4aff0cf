"""``flow verify``: read back every record and artifact of a store, a flow or a run, and list what is damaged.

Every blob is hashed against its address (once, however many tasks share
it), every run and attempt record must parse, and every finished attempt
must still have its logs and its artifacts. Attempts without a completion
marker are not damage: they are running, or were killed, and are never
trusted anyway.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flowship.runtime.client import list_flows
from flowship.runtime.datastore import DamagedRecord, FlowDatastore

__all__ = ["VerifyReport", "verify_store"]


@dataclass
class VerifyReport:
    runs: int = 0
    tasks: int = 0
    blobs: int = 0
    bytes: int = 0
    problems: list[str] = field(default_factory=list)


class _Verifier:
    def __init__(self, datastore: FlowDatastore, report: VerifyReport):
        self.ds, self.report = datastore, report
        self.blob_verdicts: dict[str, str | None] = {}

    def blob(self, sha: str, size: int) -> str | None:
        if sha not in self.blob_verdicts:
            self.blob_verdicts[sha] = self.ds.blob_problem(sha)
            self.report.blobs += 1
            self.report.bytes += size
        return self.blob_verdicts[sha]

    def run(self, run_id: str) -> None:
        self.report.runs += 1
        try:
            if self.ds.read_run(run_id) is None:
                self.report.problems.append(f"{self.ds.flow_name}/{run_id}: the run has no record (run.json)")
        except DamagedRecord as exc:
            self.report.problems.append(str(exc))
        for step in self.ds.steps(run_id):
            for task_id in self.ds.task_ids(run_id, step):
                self.task(run_id, step, task_id)

    def task(self, run_id: str, step: str, task_id: str) -> None:
        pathspec = f"{self.ds.flow_name}/{run_id}/{step}/{task_id}"
        try:
            record = self.ds.latest_attempt(run_id, step, task_id)
            if record is None:
                return
            self.report.tasks += 1
            for stream in ("stdout", "stderr"):
                self.ds.read_log(run_id, step, task_id, record.attempt, stream)
        except DamagedRecord as exc:
            self.report.problems.append(str(exc))
            return
        for name, ref in sorted(record.artifacts.items()):
            problem = self.blob(ref.sha, ref.size)
            if problem:
                self.report.problems.append(f"{pathspec}: artifact '{name}' ({ref.sha[:12]}): {problem}")

    def loose_blobs(self) -> None:
        """Blobs no record of the flow names are checked too: a later run may reuse them."""
        for prefix in self.ds.storage.list(f"{self.ds.flow_name}/data"):
            for sha in self.ds.storage.list(f"{self.ds.flow_name}/data/{prefix}"):
                if sha not in self.blob_verdicts:
                    problem = self.blob(sha, 0)
                    if problem:
                        self.report.problems.append(f"{self.ds.flow_name}: blob {sha[:12]}: {problem}")


def verify_store(storage_url: str, flow: str | None = None, run_id: str | None = None) -> VerifyReport:
    from flowship.providers.storage import open_storage

    storage = open_storage(storage_url)
    report = VerifyReport()
    for name in [flow] if flow else list_flows(storage_url):
        verifier = _Verifier(FlowDatastore(storage, name), report)
        for run in [run_id] if run_id else verifier.ds.run_ids():
            verifier.run(run)
        if not run_id:
            verifier.loose_blobs()
    return report
