"""How a deployed run ended, recorded once its scheduler says it has ended, and told to a webhook if it failed.

A local run's scheduler writes ``outcome.json`` itself. A deployed run has no
such process: Argo runs ``flow record-outcome`` in its exit handler, Airflow
in a teardown task after every other. It writes the same ``outcome.json``,
with the failures it can name — a step whose task failed (its message, from
the store) and what the scheduler reports (a pod that never started has no
record in the store) — so ``flow runs`` and ``Run.failure`` say why, and a
run whose tasks never started is not "running" for ever. With
``$FLOWSHIP_WEBHOOK_URL`` set, a failed run is also POSTed there as JSON. On Argo, a succeeded run
announces its finish to the Argo Events webhook (``--finish-event``), for flows with @trigger_on_finish.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from typing import Any

from flowship.errors import FlowshipError
from flowship.providers.storage import open_storage
from flowship.runtime.datastore import FlowDatastore
from flowship.step_command import NAME, RUN_ID, WEBHOOK_VARIABLE, OutcomeCommand

__all__ = ["record_outcome", "record_outcome_argv"]

_WEBHOOK_TIMEOUT = 10.0


def _last_line(text: str | None) -> str:
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return lines[-1].strip() if lines else "failed"


def _store_failures(store: FlowDatastore, run_id: str) -> list[dict[str, Any]]:
    """Every task whose latest attempt failed: its step, task, attempt and the last line of its error."""
    failures = []
    for step in store.steps(run_id):
        for task_id in store.task_ids(run_id, step):
            attempt = store.latest_attempt(run_id, step, task_id)
            if attempt is not None and not attempt.succeeded:
                failures.append(
                    {
                        "step": step,
                        "task_id": task_id,
                        "attempt": attempt.attempt,
                        "message": _last_line(attempt.meta.get("exception")),
                    }
                )
    return failures


def _scheduler_failures(command: OutcomeCommand) -> list[dict[str, Any]]:
    """Argo's ``workflow.failures``, oldest first: the failed nodes that say why (a DAG fails without a message of
    its own); a bare "timeout" is a pod that did not start within its pendingTimeout (or ran past its timeout)."""
    nodes = sorted(command.failures, key=lambda node: str(node.get("finishedAt") or ""))
    failures = []
    for node in nodes:
        message = str(node.get("message") or "").strip()
        if not message or message.startswith("child '"):
            continue
        if message == "timeout":
            message = "timeout: its pod did not start within --startup-timeout, or ran past its deadline"
        failures.append({"node": str(node.get("displayName", "?")), "message": message})
    return failures


def _notify(url: str, outcome: dict[str, Any]) -> None:
    request = urllib.request.Request(
        url, data=json.dumps(outcome).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=_WEBHOOK_TIMEOUT) as response:
            print(f"notified ${WEBHOOK_VARIABLE} ({response.status})")
    except (urllib.error.URLError, OSError, ValueError) as exc:  # the outcome is recorded; a lost notice is said
        print(f"warning: could not notify ${WEBHOOK_VARIABLE}: {exc}", file=sys.stderr)


def _check(command: OutcomeCommand) -> None:
    if not NAME.match(command.flow_name) or not RUN_ID.match(command.run_id):
        raise FlowshipError(f"flow record-outcome: {command.flow_name}/{command.run_id} is not a flow and run id")
    _ = command.failures  # readable, or the command is wrong


def record_outcome(command: OutcomeCommand) -> dict[str, Any]:
    _check(command)
    store = FlowDatastore(open_storage(command.datastore), command.flow_name)
    record = store.read_run(command.run_id)
    end = store.latest_attempt(command.run_id, "end", "0") if record else None
    succeeded = end is not None and end.succeeded
    failures = [] if succeeded else _store_failures(store, command.run_id) + _scheduler_failures(command)
    if not succeeded and not failures:
        failures = [{"message": "the run ended before any step recorded a failure: see the scheduler's log"}]
    outcome = {
        "flow": command.flow_name,
        "run": f"{command.flow_name}/{command.run_id}",
        "status": "succeeded" if succeeded else "failed",
        "scheduler_status": command.status,
        "failures": failures,
        "at": time.time(),
    }
    if record is not None:  # a run whose start never ran has no record to sit beside
        store.write_run_state(command.run_id, "outcome", outcome)
    print(f"{outcome['run']} {outcome['status']}" + (f": {failures[0]['message']}" if failures else ""))
    url = os.environ.get(WEBHOOK_VARIABLE)
    if url and not succeeded:
        _notify(url, outcome)
    if succeeded and command.finish_event and command.event_url:
        _announce(command, record)
    return outcome


def _announce(command: OutcomeCommand, record: dict[str, Any] | None) -> None:
    """Tell the event source the run finished, for @trigger_on_finish downstreams; a failure is said, not raised."""
    from flowship.runtime.triggering import finish_event, post_event

    event = finish_event(str(command.finish_event), command.flow_name, command.run_id, record)
    try:
        post_event(str(command.event_url), event)
        print(f"announced {event['name']} ({event['id']})")
    except FlowshipError as exc:
        print(f"warning: {event['name']} was not announced: {exc}", file=sys.stderr)


def record_outcome_argv(argv: list[str]) -> int:
    """1 for a command that cannot be read; 0 otherwise, even when recording failed (said on stderr): the
    scheduler runs this after the run, and a store it cannot reach must not turn a succeeded run into a failed one."""
    try:
        command = OutcomeCommand.from_argv(argv)
        _check(command)
    except FlowshipError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        record_outcome(command)
    except Exception as exc:  # the run's own result stands; this step only reports on it
        print(f"warning: the outcome of {command.flow_name}/{command.run_id} was not recorded: {exc}", file=sys.stderr)
    return 0
