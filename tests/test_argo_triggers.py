"""@trigger and @trigger_on_finish on Argo: Sensors valid under Argo Events' schema, and what they start.

The example pipeline (examples/ingest.py -> train.py -> score.py) compiled for Argo: each triggered flow gets a
Sensor; the model of argo-events' sensor (tests/argo/sensor.py) turns a posted event into the Workflow it
creates, which the faithful runner (tests/argo/runner.py) runs. A finished run's exit handler really POSTs its
announcement (to an HTTP server here standing for the webhook EventSource), which is what the next Sensor gets.
As Metaflow's Argo integration (metaflow/plugins/argo/argo_workflows.py ``_compile_sensor``, argo_events.py).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from argo.runner import ArgoRunner
from argo.schema import events_schema_errors, schema_errors
from argo.sensor import SensorModel, execute_template
from conftest import EXAMPLES, shared_dir
from flowship.compiler.targets.argo.manifest import compile_to_argo
from flowship.compiler.targets.shared import DeployOptions
from flowship.deploy.naming import deployment_for
from flowship.flowfile import load_flow
from flowship.providers.storage.local import LocalStorage
from flowship.runtime.client import Flow, namespace
from flowship.runtime.datastore import FlowDatastore
from flowship.runtime.package import build_package, upload_package
from flowship.runtime.triggering import published_event

HOSTILE = "it's {{workflow.name}} {{=sprig.fail('x')}} $(touch pwned) `id` <&> \\n ü"
SOURCE, EVENT = "flowship-events", "flowship"


@pytest.fixture(autouse=True)
def all_namespaces():
    namespace(None)


@pytest.fixture
def event_source():
    """An HTTP server standing for the webhook EventSource: the bodies POSTed to it."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/flowship", received
    server.shutdown()


def documents(name: str, store: Path, branch: str | None = None, webhook: str | None = None) -> dict[str, dict]:
    """The example's Argo objects by kind, deployed for production (or a test branch), its code in ``store``."""
    path = EXAMPLES / f"{name}.py"
    ir = load_flow(str(path))
    package = build_package(str(path))
    upload_package(FlowDatastore(LocalStorage(str(store)), ir.name), package)
    where = deployment_for(ir, branch=branch, production=branch is None, user="ada")
    options = DeployOptions(str(store), package.sha, package.flow_path, "unused", namespace="ml", name=where.name,
                            run_namespace=where.namespace, project=where.project, branch=where.branch,
                            target_options={"event-webhook": webhook} if webhook else {})
    return {d["kind"]: d for d in compile_to_argo(ir, options)}


def run_workflow(objects: dict[str, dict], workflow: dict, name: str, store: Path) -> ArgoRunner:
    """Run what the Sensor created: its template, with the arguments the Sensor gave."""
    assert workflow["spec"]["workflowTemplateRef"]["name"] == objects["WorkflowTemplate"]["metadata"]["name"]
    arguments = {p["name"]: p["value"] for p in workflow["spec"]["arguments"]["parameters"]}
    runner = ArgoRunner(objects["WorkflowTemplate"], name, arguments, env={"FLOWSHIP_CACHE": str(store / "cache")})
    runner.run()
    return runner


def test_sensors_are_valid_argo_events_objects(tmp_path):
    folder = shared_dir("argo-events")
    for name in ("ingest", "train", "score"):
        objects = documents(name, tmp_path)
        assert events_schema_errors(folder, objects["Sensor"]) == []
        resource = objects["Sensor"]["spec"]["triggers"][0]["template"]["k8s"]["source"]["resource"]
        assert schema_errors(shared_dir("argo", "crds"), resource) == []  # the Workflow it creates


def test_an_event_starts_the_flow_with_the_mapped_parameter_verbatim(tmp_path):
    objects = documents("ingest", tmp_path)
    sensor = SensorModel(objects["Sensor"])
    assert sensor.receive(SOURCE, EVENT, {"name": "other", "payload": {"day": "x"}}) == []
    event = published_event("sales_landed", {"day": HOSTILE})
    (workflow,) = sensor.receive(SOURCE, EVENT, {"name": event["name"], "payload": event["payload"]})
    run_workflow(objects, workflow, "wf-ingest", tmp_path)
    run = Flow("IngestFlow", datastore=str(tmp_path))["argo-ml.wf-ingest"]
    assert run.successful and run.data.day == HOSTILE
    assert run._record["trigger"][0]["name"] == "sales_landed"
    assert run._record["trigger"][0]["payload"]["day"] == HOSTILE

    without = published_event("sales_landed", {})  # no field: the parameter's default, as Argo Events falls back
    (workflow,) = sensor.receive(SOURCE, EVENT, {"name": without["name"], "payload": without["payload"]})
    run_workflow(objects, workflow, "wf-default", tmp_path)
    assert Flow("IngestFlow", datastore=str(tmp_path))["argo-ml.wf-default"].data.day == "latest"


def test_each_finished_run_starts_the_next_flow(tmp_path, event_source):
    url, received = event_source
    ingest = documents("ingest", tmp_path, webhook=url)
    train, score = documents("train", tmp_path, webhook=url), documents("score", tmp_path, webhook=url)
    run_workflow(ingest, {"spec": {"workflowTemplateRef": {"name": "demand-prod-ingest-flow"},
                                   "arguments": {"parameters": [{"name": "day", "value": "d1"}]}}},
                 "wf-1", tmp_path)
    (announced,) = received
    assert announced["name"] == "metaflow.demand.prod.IngestFlow.end"
    assert announced["payload"]["pathspec"] == "IngestFlow/argo-ml.wf-1/end/0"

    (workflow,) = SensorModel(train["Sensor"]).receive(SOURCE, EVENT, announced)
    run_workflow(train, workflow, "wf-2", tmp_path)
    train_run = Flow("TrainFlow", datastore=str(tmp_path))["argo-ml.wf-2"]
    assert train_run.data.source == "IngestFlow/argo-ml.wf-1"  # current.trigger.run
    assert train_run.data.model == {0: 10, 1: 11, 2: 12}

    (workflow,) = SensorModel(score["Sensor"]).receive(SOURCE, EVENT, received[1])
    run_workflow(score, workflow, "wf-3", tmp_path)
    assert Flow("ScoreFlow", datastore=str(tmp_path))["argo-ml.wf-3"].data.model_from == "TrainFlow/argo-ml.wf-2"


def test_a_branch_upstream_never_triggers_the_production_downstream(tmp_path, event_source):
    url, received = event_source
    branch = documents("ingest", tmp_path, branch="trial", webhook=url)
    run_workflow(branch, {"spec": {"workflowTemplateRef": {"name": branch["WorkflowTemplate"]["metadata"]["name"]},
                                   "arguments": {"parameters": [{"name": "day", "value": "d1"}]}}},
                 "wf-b", tmp_path)
    (announced,) = received
    assert announced["name"] == "metaflow.demand.test.trial.IngestFlow.end"
    assert SensorModel(documents("train", tmp_path)["Sensor"]).receive(SOURCE, EVENT, announced) == []
    branch_train = SensorModel(documents("train", tmp_path, branch="trial")["Sensor"])
    assert len(branch_train.receive(SOURCE, EVENT, announced)) == 1


def test_the_template_model_is_go_and_sprig():
    """json.Marshal sorts keys, escapes HTML characters and gives gjson's numbers as float64."""
    body = {"payload": {"b": 1, "a": "<&>", "n": 1.5}}
    assert execute_template("{{ .Input.payload | toJson }}", body) == '{"a":"\\u003c\\u0026\\u003e","b":1,"n":1.5}'
    assert execute_template('{{ if hasKey .Input.payload "z" }}yes{{ end }}', body) == ""
    assert execute_template('{{ get .Input.payload "a" | b64enc }}', body) == "PCY+"


def test_flow_event_publish_posts_what_the_sensor_starts_the_flow_with(tmp_path, event_source):
    """`flow event publish --target argo` POSTs Metaflow's ArgoEvent body to the webhook EventSource."""
    import os
    import subprocess
    import sys

    from conftest import REPO

    url, received = event_source
    published = subprocess.run(
        [sys.executable, "-m", "flowship", "event", "publish", "sales_landed", "--payload", json.dumps({"day": HOSTILE}),
         "--target", "argo", "--webhook-url", url], cwd=REPO, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    assert published.returncode == 0, published.stderr
    assert published.stdout.startswith(f"published event 'sales_landed' (id ") and f"to {url} (200)" in published.stdout
    (body,) = received
    assert body["name"] == "sales_landed" and body["payload"]["day"] == HOSTILE
    assert {"id", "timestamp", "name"} <= set(body["payload"])
    objects = documents("ingest", tmp_path)
    (workflow,) = SensorModel(objects["Sensor"]).receive(SOURCE, EVENT, body)
    run_workflow(objects, workflow, "wf-pub", tmp_path)
    assert Flow("IngestFlow", datastore=str(tmp_path))["argo-ml.wf-pub"].data.day == HOSTILE
