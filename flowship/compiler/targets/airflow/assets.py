"""@trigger and @trigger_on_finish on Airflow 3: events are assets, a finished run is an asset event.

Every DAG's end task declares the asset its deployment's finished runs stand for
(``metaflow.<deployment name>.end``, see ``compiler/triggers.py``) as an outlet, so
Airflow records an asset event each time a run succeeds. A triggered flow's DAG is
scheduled on the assets of its events and upstream flows, all of them required
(``schedule=[Asset(...), ...]``, as Metaflow's sensors wait for every dependency),
or on those or its timetable (``AssetOrTimeSchedule``) when it has ``@schedule``
too. A published event (``flow event publish``) is an asset event created through
the REST API whose ``extra`` is the payload.

The start task is handed the run's triggering asset events as ``--trigger-base64``,
made by a macro the DAG file defines: an upstream finish becomes a ``run`` event whose
id names the upstream run (from the DAG run that created the asset event), a published
event an ``event`` with its payload. The task applies the flow's payload mapping itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from flowship.compiler.ir import FlowIR
from flowship.compiler.targets.shared import DeployOptions
from flowship.compiler.triggers import own_finish_event, upstream_event_names

__all__ = ["AssetSchedule", "asset_schedule", "finish_outlet", "TRIGGER_MACRO", "TRIGGER_JINJA", "trigger_macro_source"]

TRIGGER_MACRO = "flowship_trigger"  # the DAG's user-defined macro: the triggering asset events as base64 JSON
TRIGGER_JINJA = "{{ " + TRIGGER_MACRO + "(triggering_asset_events) }}"


@dataclass(frozen=True)
class AssetSchedule:
    expression: str  # what schedule= is given
    imports: tuple[str, ...]  # names from airflow.sdk it needs
    run_events: dict[str, str]  # asset name -> upstream flow name, for the assets that are upstream finishes


def finish_outlet(ir: FlowIR, options: DeployOptions) -> str:
    """The end task's ``outlets=`` value."""
    return f"[Asset({own_finish_event(ir, options.name)!r})]"


def asset_schedule(ir: FlowIR, options: DeployOptions, timetable: str | None) -> AssetSchedule | None:
    """``schedule=`` for a triggered flow (None when it has no triggers)."""
    names = upstream_event_names(ir, options.project, options.branch)
    if not names:
        return None
    assets = [f"Asset({name!r})" for name, _ in names]
    run_events = {name: name.split(".")[-2] for name, kind in names if kind == "run"}
    if timetable is None:
        return AssetSchedule(f"[{', '.join(assets)}]", ("Asset",), run_events)
    every = assets[0] if len(assets) == 1 else f"({' & '.join(assets)})"
    return AssetSchedule(
        f"AssetOrTimeSchedule(timetable={timetable}, assets={every})", ("Asset", "AssetOrTimeSchedule"), run_events
    )


_MACRO = '''
def {name}(triggering_asset_events) -> str:
    """The asset events that triggered this run, as flow step --trigger-base64 takes them ("" for none): an
    upstream flow's finish names the upstream run, a published event carries its payload."""
    events = []
    for asset, asset_events in triggering_asset_events.items():
        for event in asset_events:
            payload = {{k: v for k, v in (event.extra or {{}}).items() if k != "from_rest_api"}}
            record = {{"name": asset.name, "id": str(payload.get("id", "")), "type": "event", "payload": payload,
                      "timestamp": int(event.timestamp.timestamp())}}
            if asset.name in RUN_EVENTS and event.source_dag_id and event.source_run_id:
                run_id = "airflow-" + event.source_dag_id + "." + (
                    event.source_run_id.replace(":", "-").replace("+", "-").replace("/", "-"))
                record.update(type="run", id=RUN_EVENTS[asset.name] + "/" + run_id + "/end/0")
            events.append(record)
    return base64.b64encode(json.dumps(events).encode()).decode() if events else ""
'''


def trigger_macro_source(schedule: AssetSchedule) -> list[str]:
    """The DAG file's lines that define the macro (the file imports base64 and json)."""
    return [f"RUN_EVENTS = {schedule.run_events!r}  # asset -> the upstream flow whose finished runs it stands for"] + [
        _MACRO.format(name=TRIGGER_MACRO)
    ]
