"""``current.trigger``: the events (and upstream runs) that started this run, as Metaflow's ``metaflow.events``.

A run records what triggered it (``trigger`` in its run record): a list of
events ``{"name", "id", "timestamp", "type", "payload"}``. ``type`` is
``event`` for a published event and ``run`` for an upstream flow's finished
run, whose ``id`` is the pathspec of the upstream run's end task. The start
task of a deployed run records it from what the scheduler hands over (Airflow's
triggering asset events, an Argo Events sensor's event); ``flow run
--trigger-event``/``--trigger-run`` records it for a local run.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, NamedTuple

__all__ = ["MetaflowEvent", "Trigger", "run_event"]


class MetaflowEvent(NamedTuple):
    """One triggering event: its name, unique id, creation time and type (``event`` or ``run``)."""

    name: str
    id: str
    timestamp: datetime | None
    type: str


def run_event(flow: str, run_id: str, end_step: str, finished_at: float | None) -> dict[str, Any]:
    """The event a finished run of ``flow`` stands for: Metaflow's ``metaflow.<Flow>.end``, its end task's id."""
    return {
        "name": f"metaflow.{flow}.end",
        "id": f"{flow}/{run_id}/{end_step}/0",
        "timestamp": int(finished_at) if finished_at else None,
        "type": "run",
        "payload": {},
    }


def _time(value: Any) -> datetime | None:
    return datetime.fromtimestamp(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


class Trigger:
    """The events that triggered the run, newest first; ``run``/``runs`` are Client runs for upstream finishes."""

    def __init__(self, events: list[Mapping[str, Any]]):
        ordered = sorted(events, key=lambda e: e.get("timestamp") or float("-inf"), reverse=True)
        self._events = [
            MetaflowEvent(str(e.get("name")), str(e.get("id") or ""), _time(e.get("timestamp")), str(e.get("type")))
            for e in ordered
        ]
        self._runs: list[Any] | None = None

    @property
    def event(self) -> MetaflowEvent | None:
        """The latest triggering event."""
        return next(iter(self._events), None)

    @property
    def events(self) -> list[MetaflowEvent] | None:
        return list(self._events) or None

    @property
    def run(self) -> Any:
        """The latest upstream run that triggered this run, as a Client ``Run``; None when no run did."""
        runs = self.runs
        return runs[0] if runs else None

    @property
    def runs(self) -> list[Any] | None:
        if self._runs is None:
            from flowship.runtime.client import Run

            # a run event's id is its end task's pathspec: Flow/run/end/0
            self._runs = [Run("/".join(e.id.split("/")[:2])) for e in self._events if e.type == "run"]
        return list(self._runs) or None

    def __getitem__(self, key: str) -> Any:
        """By upstream flow name when runs triggered this run, else by event name."""
        if self.runs:
            for run in self.runs:
                if run.pathspec.split("/")[0] == key:
                    return run
        elif self._events:
            for event in self._events:
                if event.name == key:
                    return event
        raise KeyError(key)

    def __iter__(self) -> Iterator[MetaflowEvent]:
        return iter(self._events)

    def __contains__(self, key: str) -> bool:
        try:
            return bool(self[key])
        except KeyError:
            return False

    def __repr__(self) -> str:
        return f"Trigger({', '.join(f'{e.type} {e.name}' for e in self._events)})"
