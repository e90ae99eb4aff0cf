"""What a triggered run starts with: its trigger record and the parameter values the events' payloads set.

One home for both ways a run is triggered: locally (``flow run --trigger-event NAME[:payload.json]``,
``--trigger-run Flow/run``), so a triggered flow can be developed on a laptop, and in a deployed start task
(``flow step --trigger-base64``), which is handed the events by its scheduler. Either way the run record keeps
the events (``current.trigger``) and a mapped payload field sets its parameter.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

from flowship.compiler.ir import FlowIR
from flowship.compiler.triggers import event_parameters
from flowship.errors import FlowshipError

__all__ = [
    "local_trigger",
    "triggered_parameters",
    "published_event",
    "finish_event",
    "post_event",
    "scheduler_events",
    "EVENTS_TOKEN_VARIABLE",
]

EVENTS_TOKEN_VARIABLE = "ARGO_EVENTS_TOKEN"  # a bearer token for the event source, where it asks for one


def published_event(name: str, payload: dict[str, Any]) -> dict[str, Any]:
    """An event as ``flow event publish`` sends it: Metaflow's payload fields (name, id, timestamp) included."""
    ident, now = str(uuid.uuid4()), int(time.time())
    return {
        "name": name,
        "id": ident,
        "timestamp": now,
        "type": "event",
        "payload": {"name": name, "id": ident, "timestamp": now, **payload},
    }


def _payload(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            payload = json.load(handle)
    except OSError as exc:
        raise FlowshipError(f"--trigger-event: cannot read the payload file {path} ({exc.strerror})") from None
    except ValueError as exc:
        raise FlowshipError(f"--trigger-event: the payload file {path} is not JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise FlowshipError(f"--trigger-event: the payload in {path} is no JSON object but a {type(payload).__name__}")
    return payload


def _event_option(ir: FlowIR, spec: str) -> dict[str, Any]:
    name, _, path = spec.partition(":")
    known = [e.name for e in ir.triggers.events] if ir.triggers else []
    if name not in known:
        raise FlowshipError(
            f"--trigger-event {name}: {ir.name} is not triggered by that event"
            + (f"; its @trigger events: {', '.join(known)}" if known else "; it has no @trigger")
        )
    return published_event(name, _payload(path) if path else {})


def _run_option(ir: FlowIR, pathspec: str, datastore: str) -> dict[str, Any]:
    from flowship.events import run_event
    from flowship.providers.storage import open_storage
    from flowship.runtime.client import Run
    from flowship.runtime.datastore import FlowDatastore

    if pathspec.count("/") != 1 or not all(pathspec.split("/")):
        raise FlowshipError(f"--trigger-run {pathspec}: give the upstream run as FLOW/RUN_ID, e.g. IngestFlow/17")
    flow = pathspec.split("/")[0]
    known = [f.flow for f in ir.triggers.finishes] if ir.triggers else []
    if flow not in known:
        raise FlowshipError(
            f"--trigger-run {pathspec}: {ir.name} is not triggered by {flow}"
            + (f"; its @trigger_on_finish flows: {', '.join(known)}" if known else "; it has no @trigger_on_finish")
        )
    run = Run(FlowDatastore(open_storage(datastore), flow), pathspec.split("/")[1])
    if not run.successful:
        raise FlowshipError(f"--trigger-run {pathspec}: the run has not succeeded; a run triggers others once it has")
    return run_event(flow, run.id, "end", run.end_task.metadata.get("finished_at"))


def local_trigger(ir: FlowIR, events: list[str], runs: list[str], datastore: str) -> list[dict[str, Any]] | None:
    """The trigger record of a local run given ``--trigger-event`` and ``--trigger-run`` (upstream runs in the
    store ``datastore``, where the run's own tasks look for them too)."""
    found = [_event_option(ir, spec) for spec in events] + [_run_option(ir, spec, datastore) for spec in runs]
    return found or None


def triggered_parameters(ir: FlowIR, trigger: list[dict[str, Any]] | None, given: dict[str, str]) -> dict[str, str]:
    """Parameter values as text: the payloads' mapped fields, then ``given`` on top (a value typed wins)."""
    return {**event_parameters(ir, trigger or []), **given}


def finish_event(name: str, flow: str, run_id: str, record: dict[str, Any] | None) -> dict[str, Any]:
    """The event a finished run announces (Metaflow's end-step event: its payload fields, ``id`` the end task)."""
    pathspec = f"{flow}/{run_id}/end/0"
    project, branch = (record or {}).get("project"), (record or {}).get("branch")
    fields: dict[str, Any] = {"pathspec": pathspec, "flow_name": flow, "run_id": run_id, "step_name": "end"}
    fields["task_id"] = "0"
    if project:
        fields.update(project_name=project, branch_name=branch, project_flow_name=f"{project}.{branch}.{flow}")
        fields.update(is_user_branch=str(branch).startswith("user."), is_production=branch == "prod")
    event = published_event(name, {**fields, "auto-generated-by-metaflow": True})
    event["payload"]["id"] = event["id"] = pathspec
    event["type"] = "run"
    return event


def post_event(url: str, event: dict[str, Any]) -> int:
    """POST ``{"name", "payload"}`` (Metaflow's ArgoEvent body) to an Argo Events webhook event source."""
    headers = {"Content-Type": "application/json"}
    if os.environ.get(EVENTS_TOKEN_VARIABLE):
        headers["Authorization"] = f"Bearer {os.environ[EVENTS_TOKEN_VARIABLE]}"
    body = json.dumps({"name": event["name"], "payload": event["payload"]}).encode()
    request = urllib.request.Request(url, body, headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        raise FlowshipError(f"the event source at {url} answered {exc.code}: {exc.read()[:300]!r}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise FlowshipError(f"cannot reach the event source at {url} ({getattr(exc, 'reason', exc)})") from None


def scheduler_events(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events as a scheduler handed them to the start task, as run records keep them: Airflow's are already
    records; an Argo Events body ``{"name", "payload"}`` becomes one (a finished run's: type ``run``)."""
    events = []
    for event in raw:
        if "type" in event:
            events.append(event)
            continue
        given = event.get("payload")
        payload: dict[str, Any] = given if isinstance(given, dict) else {}
        finished = bool(payload.get("auto-generated-by-metaflow")) and "pathspec" in payload
        events.append(
            {
                "name": str(event.get("name", payload.get("name", ""))),
                "id": str(payload.get("pathspec") if finished else payload.get("id", "")),
                "timestamp": payload.get("timestamp"),
                "type": "run" if finished else "event",
                "payload": payload,
            }
        )
    return events
