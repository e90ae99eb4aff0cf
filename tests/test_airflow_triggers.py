"""@trigger and @trigger_on_finish under a real Airflow 3 (scheduler, dag-processor, API server on loopback).

The example pipeline (examples/ingest.py -> train.py -> score.py) deployed for production: a published event
starts IngestFlow with the payload's value as its parameter (hostile text arrives verbatim); its success is an
asset event that starts TrainFlow, whose start step reads the upstream run through ``current.trigger.run``; and
so on to ScoreFlow. An IngestFlow deployed in a test branch announces its own asset, which the production
TrainFlow never waits on. One cluster for the module: starting Airflow is the slow part.
"""

from __future__ import annotations

import importlib.util
import json
import time

import pytest

if importlib.util.find_spec("airflow") is None:
    pytest.skip("the Airflow scheduler tests need apache-airflow (pip install 'flowship[airflow]')",
                allow_module_level=True)

from airflow_cluster import AirflowCluster, ClusterError
from conftest import EXAMPLES
from test_airflow_scheduler import STARTED, deploy, flow, succeeded

from flowship.compiler.targets.airflow.dagfile import flowship_run_id
from flowship.runtime.client import Flow, namespace

INGEST, TRAIN, SCORE = "demand.prod.IngestFlow", "demand.prod.TrainFlow", "demand.prod.ScoreFlow"
HOSTILE = "it's {{ 7*7 }} $(touch pwned) `id`; {% raw %}\\n"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with AirflowCluster(tmp_path_factory.mktemp("airflow-triggers")) as running:
        yield running


@pytest.fixture(scope="module")
def pipeline(cluster, tmp_path_factory):
    """The three example flows deployed for production and unpaused; their store."""
    store = tmp_path_factory.mktemp("store")
    for name in ("ingest", "train", "score"):
        deploy(cluster, EXAMPLES / f"{name}.py", store, "--production")
    for dag in (INGEST, TRAIN, SCORE):
        cluster.wait_for_dag(dag, timeout=90)
        unpause(cluster, dag)
    return store


def unpause(cluster: AirflowCluster, dag_id: str, attempts: int = 5) -> None:
    """Unpause, again after a moment if SQLite was busy with the scheduler's writes (the API answers 500)."""
    for attempt in range(attempts):
        try:
            return cluster.unpause(dag_id)
        except ClusterError:
            if attempt == attempts - 1:
                raise
            time.sleep(2)


@pytest.fixture(autouse=True)
def all_namespaces():
    namespace(None)


def triggered_runs(cluster: AirflowCluster, dag_id: str) -> list[dict]:
    return [r for r in cluster.runs(dag_id) if r["run_type"] == "asset_triggered"]


def next_triggered_run(cluster: AirflowCluster, dag_id: str, seen: int, timeout: float = 90) -> str:
    """The id of the DAG's asset-triggered run after the first ``seen`` ones, once the scheduler has created it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = triggered_runs(cluster, dag_id)
        if len(runs) > seen:
            return sorted(runs, key=lambda r: r["run_after"])[seen]["dag_run_id"]
        time.sleep(1)
    raise AssertionError(f"no asset-triggered run of {dag_id} after {timeout} s\n{cluster.diagnosis()}")


def run_triggered_by(store, flow_name: str, upstream, cluster: AirflowCluster, timeout: float = 120):
    """The succeeded run of ``flow_name`` whose trigger names the upstream run (another upstream run, such as the
    one @schedule starts when the DAG is unpaused, triggers runs of its own)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            runs = Flow(flow_name, datastore=str(store)).runs()
        except KeyError:  # no run yet
            runs = []
        for run in runs:
            ids = [event["id"] for event in run._record.get("trigger") or []]
            if f"{upstream.pathspec}/end/0" in ids and run.successful:
                return run
        time.sleep(2)
    raise AssertionError(f"no succeeded {flow_name} run triggered by {upstream.pathspec}\n{cluster.diagnosis()}")


def test_an_event_and_each_finish_start_the_next_flow(cluster, pipeline):
    before = len(triggered_runs(cluster, INGEST))
    published = flow(cluster, "event", "publish", "sales_landed", "--payload", json.dumps({"day": HOSTILE}),
                     "--target", "airflow", "--api-url", cluster.url)
    assert published.returncode == 0, published.stderr
    assert "published asset event" in published.stdout and "on asset 'sales_landed'" in published.stdout

    ingest = next_triggered_run(cluster, INGEST, before)
    succeeded(cluster, INGEST, ingest)
    ingest_run = Flow("IngestFlow", datastore=str(pipeline))[flowship_run_id(INGEST, ingest)]
    assert ingest_run.data.day == HOSTILE  # the payload's field set the mapped parameter, verbatim
    assert ingest_run._record["trigger"][0]["name"] == "sales_landed"

    train_run = run_triggered_by(pipeline, "TrainFlow", ingest_run, cluster)
    assert train_run.data.source == ingest_run.pathspec  # current.trigger.run is the upstream run
    assert train_run.data.model == {0: 10, 1: 11, 2: 12}
    assert train_run._record["trigger"][0]["name"] == "metaflow.demand.prod.IngestFlow.end"

    score_run = run_triggered_by(pipeline, "ScoreFlow", train_run, cluster)
    assert score_run.data.model_from == train_run.pathspec


def test_a_branch_upstream_never_triggers_the_production_downstream(cluster, pipeline):
    """Metaflow's @project rule: the production TrainFlow waits for production IngestFlow runs only."""
    before = len(triggered_runs(cluster, TRAIN))
    deploy(cluster, EXAMPLES / "ingest.py", pipeline, "--branch", "trial")
    branch_dag = "demand.test.trial.IngestFlow"
    cluster.wait_for_dag(branch_dag, timeout=90)
    triggered = flow(cluster, "trigger", "IngestFlow", "--target", "airflow", "--api-url", cluster.url, "--project",
                     "demand", "--branch", "trial", "--unpause", "--day", "branch-day")
    assert triggered.returncode == 0, triggered.stderr
    started = STARTED.search(triggered.stdout)
    succeeded(cluster, branch_dag, started["airflow_run"])
    time.sleep(15)  # the scheduler creates an asset-triggered run within seconds of the asset event
    assert len(triggered_runs(cluster, TRAIN)) == before
    events = cluster.api("GET", "/api/v2/assets/events?limit=100")["asset_events"]
    assert any(e["source_dag_id"] == branch_dag for e in events)  # it did announce its own finish


def test_publishing_an_event_no_deployed_flow_waits_for_is_an_error(cluster, pipeline):
    published = flow(cluster, "event", "publish", "nobody_waits", "--target", "airflow", "--api-url", cluster.url)
    assert published.returncode == 1
    assert published.stderr.strip() == (
        f"error: Airflow at {cluster.url} has no asset 'nobody_waits': no deployed flow has @trigger on that event "
        "(or the dag-processor has not parsed its DAG file yet)")
