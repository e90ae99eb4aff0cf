"""@trigger and @trigger_on_finish as Metaflow has them (metaflow/plugins/events_decorator.py: the forms of
event=/events=/flow=/flows=, parameter mappings as dicts or lists, project.branch.Flow names; the mapping rules of
metaflow/plugins/argo/argo_workflows.py ``_process_triggers``), and ``current.trigger`` as metaflow/events.py's
``Trigger`` (``event``, ``events``, ``run``, ``runs``, ``[name]``, ``in``), set locally by ``flow run
--trigger-event``/``--trigger-run`` (Metaflow's ``run --trigger Flow/run``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import EXAMPLES, REPO, check, messages, two_step_flow
from flowship.compiler.ir import EventTriggerIR, FinishTriggerIR
from flowship.compiler.triggers import upstream_event_names
from flowship.runtime.client import Flow

IMPORTS = "from flowship import FlowSpec, Parameter, step, trigger, trigger_on_finish\n"


def flow_source(decorator: str, members: str = "") -> str:
    return IMPORTS + two_step_flow(members="    " + members if members else "", class_decorators=decorator)


def triggers_of(decorator: str, members: str = ""):
    result = check(flow_source(decorator, members))
    assert result.ir is not None, [str(p) for p in result.problems]
    return result.ir.triggers


class TestForms:
    def test_event_forms_metaflow_accepts(self):
        """event='n'; event={'name', 'parameters': dict}; parameters as names and (param, field) pairs."""
        members = "a = Parameter('a', default='')\n    b = Parameter('b', default='')"
        assert triggers_of("@trigger(events=['x', {'name': 'y', 'parameters': ['a', ('b', 'f')]}])", members).events \
            == (EventTriggerIR("x"), EventTriggerIR("y", {"a": "a", "b": "f"}))

    def test_a_single_unmapped_event_sets_every_parameter_by_name(self):
        """Metaflow (argo_workflows.py): one event and no mapping maps each parameter to the field of its name."""
        members = "alpha = Parameter('alpha', default=1)"
        assert triggers_of("@trigger(event='ready')", members).events == (EventTriggerIR("ready", {"alpha": "alpha"}),)
        assert triggers_of("@trigger(events=['a', 'b'])", members).events == (EventTriggerIR("a"), EventTriggerIR("b"))

    def test_upstream_forms_and_their_event_names(self):
        """flow='F' listens in the deployment's own project and branch; 'p.b.F' and a dict name another."""
        triggers = triggers_of(
            "@trigger_on_finish(flows=['Up', 'other.test.x.Feed', {'name': 'Ref', 'project': 'p', "
            "'project_branch': 'prod'}])"
        )
        assert triggers.finishes == (FinishTriggerIR("Up"), FinishTriggerIR("Feed", "other", "test.x"),
                                     FinishTriggerIR("Ref", "p", "prod"))
        ir = check(flow_source("@trigger_on_finish(flow='Up')")).ir
        assert upstream_event_names(ir, "demand", "prod") == [("metaflow.demand.prod.Up.end", "run")]
        assert upstream_event_names(ir, None, None) == [("metaflow.Up.end", "run")]


@pytest.mark.parametrize("decorator, members, expected", [
    ("@trigger(event={'parameters': {'a': 'b'}})", "",
     "flow.py:6: @trigger: an event given as a dict needs a 'name' — write event='name' or event={'name': 'name', "
     "'parameters': {'param': 'payload_field'}}"),
    ("@trigger(event={'name': 'x', 'parameters': {'nope': 'f'}})", "a = Parameter('a', default='')",
     "flow.py:6: @trigger: event 'x' sets parameter 'nope', which the flow does not have — map payload fields to "
     "parameters of the flow: a"),
    ("@trigger(event={'name': 'x', 'parameters': ['a', ('a', 'b', 'c')]})", "a = Parameter('a', default='')",
     "flow.py:6: @trigger: the parameters of event 'x' must be names or (parameter, payload_field) pairs — write "
     "parameters=['alpha', ('beta', 'field')] or parameters={'beta': 'field'}"),
    ("@trigger(event={'name': 'x', 'parameters': {'a': 'bad-field'}})", "a = Parameter('a', default='')",
     "flow.py:6: @trigger: payload field 'bad-field' of event 'x' may hold only letters, digits and '_' — rename the "
     "payload field"),
    ("@trigger(event='has space')", "",
     "flow.py:6: @trigger: event name 'has space' may hold only letters, digits, '_', '-' and '.' — rename the event"),
    ("@trigger(event='a', events=['b'])", "",
     "flow.py:6: @trigger: @trigger takes event= or events=, not both — list them all in events=[...]"),
    ("@trigger(events=['a', 'a'])", "", "flow.py:6: @trigger: @trigger lists an event twice — list each event once"),
    ("@trigger_on_finish(flow='a.B')", "",
     "flow.py:6: @trigger_on_finish: upstream flow 'a.B': give a flow name or project.branch.FlowName — write "
     "flow='Upstream', flow='project.branch.Upstream' or flow={'name': 'Upstream', 'project': 'p', "
     "'project_branch': 'prod'}"),
    ("@trigger_on_finish(flow={'name': 'Up', 'project': 'p'})", "",
     "flow.py:6: @trigger_on_finish: upstream flow 'Up' names a project or a branch but not both, and this flow has "
     "no @project to take the other from — give both project= and project_branch=, or add @project"),
    ("@trigger_on_finish(flows=[])", "",
     "flow.py:6: @trigger_on_finish: @trigger_on_finish names nothing to wait for — write @trigger_on_finish(flow=...)"),
])
def test_malformed_triggers_are_errors_at_their_line(decorator, members, expected):
    """Metaflow raises on these when the flow starts; flowship reports them at `flow check`, with file:line."""
    assert messages(flow_source(decorator, members)) == [expected]


# --- local runs: current.trigger ----------------------------------------------------------------------------------

def flow_cli(*args: str, store: str | None, cwd=REPO) -> subprocess.CompletedProcess:
    where = ["--datastore", store] if store else []
    return subprocess.run([sys.executable, "-m", "flowship", *args, *where], cwd=cwd,
                          capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)})


def test_trigger_run_sets_current_trigger_run(tmp_path):
    """``run --trigger-run IngestFlow/ID`` (Metaflow: ``--trigger``): the start step reads the upstream run's data
    through ``current.trigger.run``; the event is ``metaflow.IngestFlow.end`` of type ``run``."""
    store = str(tmp_path / "store")
    ingest = flow_cli("run", str(EXAMPLES / "ingest.py"), "--day", "2026-12-01", store=store)
    assert ingest.returncode == 0, ingest.stderr
    upstream = Flow("IngestFlow", datastore=store).latest_run
    train = flow_cli("run", str(EXAMPLES / "train.py"), "--trigger-run", upstream.pathspec, store=store)
    assert train.returncode == 0, train.stderr
    run = Flow("TrainFlow", datastore=store).latest_run
    assert run.data.source == upstream.pathspec
    assert run.data.model == {0: 10, 1: 11, 2: 12}
    assert run._record["trigger"][0]["name"] == "metaflow.IngestFlow.end"
    assert run._record["trigger"][0]["id"] == f"{upstream.pathspec}/end/0"

    wrong = flow_cli("run", str(EXAMPLES / "train.py"), "--trigger-run", "ScoreFlow/1", store=store)
    assert "error: --trigger-run ScoreFlow/1: TrainFlow is not triggered by ScoreFlow; its @trigger_on_finish " \
           "flows: IngestFlow" in wrong.stderr


def test_trigger_event_payload_sets_mapped_parameters_verbatim(tmp_path):
    """``run --trigger-event NAME:payload.json``: the mapped payload field sets the parameter, hostile text exactly
    as sent; ``current.trigger.event`` is the event; a value typed on the command line wins over the payload."""
    store = str(tmp_path / "store")
    hostile = "it's {{ 7*7 }} $(touch x) `id`; \\n"
    payload = tmp_path / "payload.json"
    payload.write_text(json.dumps({"day": hostile, "other": 1}))
    result = flow_cli("run", str(EXAMPLES / "ingest.py"), "--trigger-event", f"sales_landed:{payload}", store=store)
    assert result.returncode == 0, result.stderr
    run = Flow("IngestFlow", datastore=store).latest_run
    assert run.data.day == hostile
    assert run._record["trigger"][0]["payload"]["day"] == hostile

    typed = flow_cli("run", str(EXAMPLES / "ingest.py"), "--trigger-event", f"sales_landed:{payload}", "--day", "d1",
                     store=store)
    assert typed.returncode == 0, typed.stderr
    assert Flow("IngestFlow", datastore=store).latest_run.data.day == "d1"

    unknown = flow_cli("run", str(EXAMPLES / "ingest.py"), "--trigger-event", "nope", store=store)
    assert "error: --trigger-event nope: IngestFlow is not triggered by that event; its @trigger events: " \
           "sales_landed" in unknown.stderr


def test_current_trigger_in_the_step(tmp_path):
    """Inside the step, ``current.trigger`` is Metaflow's Trigger: ``event``, ``events``, ``[name]``, ``in``;
    ``run``/``runs`` are None for plain events; and ``current.trigger`` is None for a run nothing triggered."""
    flow = tmp_path / "eventflow.py"
    flow.write_text(IMPORTS + """
class EventFlow(FlowSpec):
    @step
    def start(self):
        from flowship import current
        t = current.trigger
        self.seen = None if t is None else [t.event.name, t.event.type, len(t.events), 'a' in t, t['a'].name, t.run,
                                            t.runs, [e.name for e in t]]
        self.next(self.end)

    @step
    def end(self):
        pass
""".replace("class EventFlow", "@trigger(events=['a', 'b'])\nclass EventFlow"))
    store = str(tmp_path / "store")
    result = flow_cli("run", str(flow), "--trigger-event", "a", "--trigger-event", "b", store=store, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    seen = Flow("EventFlow", datastore=store).latest_run.data.seen
    assert seen[1:7] == ["event", 2, True, "a", None, None] and sorted(seen[7]) == ["a", "b"]
    plain = flow_cli("run", str(flow), store=store, cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    assert Flow("EventFlow", datastore=store).latest_run.data.seen is None


def test_an_upstream_no_flow_file_beside_defines_is_a_warning(tmp_path):
    """A misspelt upstream would wait for ever: `flow check` warns when no flow file beside this one defines a flow
    of that name in the same project (the upstream may live elsewhere, so it is no error)."""
    (tmp_path / "ingest.py").write_text((EXAMPLES / "ingest.py").read_text())
    train = tmp_path / "train.py"
    train.write_text((EXAMPLES / "train.py").read_text().replace('flow="IngestFlow"', 'flow="IngestFlw"'))
    result = flow_cli("check", str(train), store=None, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (f"{train}:7: warning: @trigger_on_finish: no flow IngestFlw in project 'demand' in the flow files beside "
            "train.py — did you mean IngestFlow?; a flow of another project is named project.branch.FlowName"
            ) in result.stdout + result.stderr
    train.write_text((EXAMPLES / "train.py").read_text())
    fixed = flow_cli("check", str(train), store=None, cwd=tmp_path)
    assert fixed.returncode == 0 and "warning" not in fixed.stdout + fixed.stderr


def test_schedule_and_trigger_both_start_runs_on_both_targets(tmp_path):
    """A flow with @schedule and @trigger: Airflow 3 schedules it on its timetable or its assets
    (AssetOrTimeSchedule); Argo gets both a CronWorkflow and a Sensor."""
    store = str(tmp_path / "store")
    airflow = flow_cli("compile", str(EXAMPLES / "ingest.py"), "--target", "airflow", "--operator", "local",
                       "--production", "--no-upload", store=store)
    assert airflow.returncode == 0, airflow.stderr
    assert ("schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable('0 2 * * *', timezone='UTC'), "
            "assets=Asset('sales_landed'))") in airflow.stdout
    argo = flow_cli("compile", str(EXAMPLES / "ingest.py"), "--target", "argo", "--image", "i:1", "--production",
                    "--no-upload", store=store)
    assert argo.returncode == 0, argo.stderr
    assert "kind: CronWorkflow" in argo.stdout and "kind: Sensor" in argo.stdout


def test_a_resumed_run_keeps_the_events_that_started_its_origin(tmp_path):
    """As the run it resumes, a resumed run was started by its origin's events: ``current.trigger`` is the same."""
    flow = tmp_path / "resumeflow.py"
    flow.write_text(IMPORTS + f"""
import os

@trigger(event='ready')
class ResumeFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        from flowship import current
        if os.path.exists({str(tmp_path / "fail")!r}):
            raise RuntimeError("failing once")
        self.seen = current.trigger.event.name
""")
    store = str(tmp_path / "store")
    (tmp_path / "fail").write_text("")
    failed = flow_cli("run", str(flow), "--trigger-event", "ready", store=store, cwd=tmp_path)
    assert failed.returncode != 0
    (tmp_path / "fail").unlink()
    resumed = flow_cli("resume", str(flow), store=store, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert Flow("ResumeFlow", datastore=store).latest_run.data.seen == "ready"
