"""Deployed flows run under a real Airflow 3: scheduler, dag-processor and API server on loopback, LocalExecutor.

``flow deploy --target airflow --operator local`` writes the DAG file into the
dags folder the dag-processor watches; ``flow trigger`` (or the REST API)
starts a run; the scheduler hands the tasks to the LocalExecutor, whose
workers run ``python -m flowship step ...``; the artifacts are read back with
the flowship Client. ``airflow_cluster`` says which Airflow settings this
takes and where they come from.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import textwrap

import pytest

if importlib.util.find_spec("airflow") is None:
    pytest.skip("the Airflow scheduler tests need apache-airflow (pip install 'flowship[airflow]')",
                allow_module_level=True)

from airflow_cluster import AirflowCluster
from conftest import EXAMPLES, REPO

from flowship.runtime.client import Flow, namespace

STARTED = re.compile(r"^started DAG (?P<dag>\S+): run (?P<airflow_run>.+); the run is (?P<flow>[^/\s]+)/(?P<run>\S+)$",
                     re.MULTILINE)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """One Airflow for the module: `airflow scheduler`, `dag-processor` and `api-server`, stopped by process group."""
    with AirflowCluster(tmp_path_factory.mktemp("airflow-cluster")) as running:
        yield running


@pytest.fixture(autouse=True)
def all_namespaces():
    namespace(None)  # deployed runs are in production:<deployment>, not the user's namespace


def flow(cluster: AirflowCluster, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "AIRFLOW_TOKEN"}  # log in as the cluster's admin
    env.update({"PYTHONWARNINGS": "ignore", **cluster.login_env})
    return subprocess.run([sys.executable, "-m", "flowship", *map(str, args)], cwd=REPO, capture_output=True,
                          text=True, timeout=180, env=env)


def deploy(cluster: AirflowCluster, flow_file, store, *extra: str) -> subprocess.CompletedProcess:
    result = flow(cluster, "deploy", flow_file, "--target", "airflow", "--operator", "local", "--dags-folder",
                  cluster.dags, "--datastore", store, "--api-url", cluster.url, *extra)
    assert result.returncode == 0, f"flow deploy failed:\n{result.stdout}\n{result.stderr}"
    return result


def succeeded(cluster: AirflowCluster, dag_id: str, airflow_run: str, timeout: float = 120) -> None:
    run = cluster.wait_for_run(dag_id, airflow_run, timeout)
    assert run["state"] == "success", (
        f"DAG run {dag_id}/{airflow_run} ended {run['state']}; "
        f"{cluster.task_states(dag_id, airflow_run)}\n{cluster.diagnosis()}")


def package_of(dag_file) -> str:
    """The code package a deployed DAG file runs (its step commands' --package)."""
    return re.search(r"--package=([0-9a-f]{64})", dag_file.read_text())[1]


def task_log(cluster: AirflowCluster, dag_id: str, airflow_run: str, task_id: str) -> str:
    folder = cluster.logs / f"dag_id={dag_id}" / f"run_id={airflow_run}" / f"task_id={task_id}"
    return "\n".join(p.read_text(errors="replace") for p in sorted(folder.glob("attempt=*.log")))


def test_a_deployed_flow_runs_under_the_scheduler(cluster, tmp_path):
    store = tmp_path / "store"
    deployed = deploy(cluster, EXAMPLES / "hello.py", store, "--unpause")
    assert "loaded in Airflow" in deployed.stdout and f"DAG file {cluster.dags / 'HelloFlow.py'}" in deployed.stdout
    # The dag-processor may not have parsed the new file yet (deploy says so); trigger needs the DAG's params.
    assert ("unpaused the DAG HelloFlow" in deployed.stdout
            or "has not parsed the DAG file yet" in deployed.stdout), deployed.stdout
    cluster.wait_for_dag("HelloFlow", timeout=60)

    triggered = flow(cluster, "trigger", "HelloFlow", "--target", "airflow", "--api-url", cluster.url, "--unpause",
                     "--who", "scheduler")
    assert triggered.returncode == 0, f"flow trigger failed:\n{triggered.stdout}\n{triggered.stderr}"
    started = STARTED.search(triggered.stdout)
    assert started, triggered.stdout
    assert started["dag"] == "HelloFlow" and started["flow"] == "HelloFlow"
    assert cluster.dag("HelloFlow")["is_paused"] is False

    succeeded(cluster, "HelloFlow", started["airflow_run"])
    run = Flow("HelloFlow", datastore=str(store))[started["run"]]
    assert run.successful
    assert run.data.greeting == "hello, scheduler"
    assert run.data.letters == len("helloscheduler")
    assert started["run"].startswith("airflow-HelloFlow.")


def test_two_deployments_with_one_airflow_run_id_keep_their_own_runs(cluster, tmp_path):
    store = tmp_path / "store"
    for name in ("HelloA", "HelloB"):
        deploy(cluster, EXAMPLES / "hello.py", store, "--name", name)
    for name in ("HelloA", "HelloB"):
        cluster.wait_for_dag(name, timeout=60)
        cluster.unpause(name)
    for name, who in (("HelloA", "a"), ("HelloB", "b")):
        assert cluster.trigger(name, run_id="same-id", conf={"who": who}) == "same-id"
    for name in ("HelloA", "HelloB"):
        succeeded(cluster, name, "same-id")

    runs = Flow("HelloFlow", datastore=str(store))
    assert runs["airflow-HelloA.same-id"].data.greeting == "hello, a"
    assert runs["airflow-HelloB.same-id"].data.greeting == "hello, b"
    assert {r.id for r in runs.runs()} == {"airflow-HelloA.same-id", "airflow-HelloB.same-id"}


VERSIONED_FLOW = '''
"""Records the version of its code in start and in end; start waits (at most 60 s) for the test's go-ahead."""

import os
import time

from flowship import FlowSpec, step

VERSION = "{version}"
GO_AHEAD = {go_ahead!r}


class VersionFlow(FlowSpec):
    @step
    def start(self):
        self.start_version = VERSION
        deadline = time.time() + 60
        while not os.path.exists(GO_AHEAD) and time.time() < deadline:
            time.sleep(0.2)
        time.sleep(1)
        self.next(self.end)

    @step
    def end(self):
        self.end_version = VERSION
        print("end ran version", VERSION)
'''


def test_a_redeploy_during_a_run_does_not_change_its_code(cluster, tmp_path):
    store, code, go_ahead = tmp_path / "store", tmp_path / "code", tmp_path / "go-ahead"
    code.mkdir()
    flow_file = code / "versioned.py"
    flow_file.write_text(textwrap.dedent(VERSIONED_FLOW.format(version="v1", go_ahead=str(go_ahead))))
    first = deploy(cluster, flow_file, store, "--unpause")
    v1 = package_of(cluster.dags / "VersionFlow.py")
    cluster.wait_for_dag("VersionFlow", timeout=60)
    if "unpaused the DAG VersionFlow" not in first.stdout:
        cluster.unpause("VersionFlow")
    airflow_run = cluster.trigger("VersionFlow", run_id="during-a-redeploy")
    cluster.wait_for_task("VersionFlow", airflow_run, "start", ("running",), timeout=60)

    # While start runs (it waits for the go-ahead), v2 replaces v1: a new code package, a new DAG file.
    flow_file.write_text(textwrap.dedent(VERSIONED_FLOW.format(version="v2", go_ahead=str(go_ahead))))
    deploy(cluster, flow_file, store)
    v2 = package_of(cluster.dags / "VersionFlow.py")
    assert v2 != v1
    states = {ti["task_id"]: ti["state"] for ti in cluster.task_instances("VersionFlow", airflow_run)}
    assert states.get("start") == "running", states  # the redeploy happened while start ran
    go_ahead.write_text("go")
    succeeded(cluster, "VersionFlow", airflow_run)

    run = Flow("VersionFlow", datastore=str(store))["airflow-VersionFlow.during-a-redeploy"]
    assert run.code_package == v1
    assert run["start"].task.data.start_version == "v1"
    assert run.data.end_version == "v1"
    # The end task's worker loaded the v2 DAG file; the step ran the package the run started with, and said so.
    note = (f"note: running the code package this run started with ({v1[:12]}), "
            f"not the one deployed since ({v2[:12]})")
    assert note in task_log(cluster, "VersionFlow", airflow_run, "end")
    assert "note:" not in task_log(cluster, "VersionFlow", airflow_run, "start")
