"""Deployed runs: an id of their own per deployment, never another's record, and the code their start task ran."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from argo.runner import ArgoRunError, ArgoRunner
from conftest import EXAMPLES, REPO
from flowship.deploy import DeploySettings, build_deployment
from flowship.flowfile import load_flow
from flowship.providers.storage import LocalStorage
from flowship.runtime.client import Flow, namespace
from flowship.runtime.datastore import FlowDatastore
from flowship.runtime.package import build_package, upload_package

VERSIONED = """
from flowship import FlowSpec, step

VERSION = "{version}"


class VersionedFlow(FlowSpec):
    @step
    def start(self):
        self.start_version = VERSION
        self.next(self.end)

    @step
    def end(self):
        self.end_version = VERSION
"""


@pytest.fixture(autouse=True)
def all_namespaces():
    namespace(None)


def _deployed(flow_file: Path, store: Path, target: str, **settings) -> object:
    build = build_deployment(str(flow_file), load_flow(str(flow_file)), DeploySettings(target, str(store), "img", **settings))
    upload_package(FlowDatastore(LocalStorage(str(store)), build.flow), build.package)
    return build


class TestRunIdentity:
    def test_two_argo_deployments_never_share_a_run(self, tmp_path):
        store = tmp_path / "store"
        first = _deployed(EXAMPLES / "hello.py", store, "argo", name="HelloA")
        second = _deployed(EXAMPLES / "hello.py", store, "argo", name="HelloB")
        env = {"FLOWSHIP_CACHE": str(tmp_path / "cache")}
        ArgoRunner(first.compiled.documents[0].body, "wf-1", {"who": "a"}, env=env, namespace="team-a").run()
        ArgoRunner(second.compiled.documents[0].body, "wf-1", {"who": "b"}, env=env, namespace="team-b").run()
        runs = Flow("HelloFlow", datastore=str(store))
        assert runs["argo-team-a.wf-1"].data.greeting == "hello, a"
        assert runs["argo-team-b.wf-1"].data.greeting == "hello, b"

    def test_a_start_task_never_adopts_another_deployments_run(self, tmp_path):
        store = tmp_path / "store"
        first = _deployed(EXAMPLES / "hello.py", store, "argo", name="HelloA")
        second = _deployed(EXAMPLES / "hello.py", store, "argo", name="HelloB")
        env = {"FLOWSHIP_CACHE": str(tmp_path / "cache")}
        ArgoRunner(first.compiled.documents[0].body, "wf-1", {"who": "a"}, env=env).run()
        with pytest.raises(ArgoRunError, match="template start failed"):
            ArgoRunner(second.compiled.documents[0].body, "wf-1", {"who": "b"}, env=env).run()
        run = Flow("HelloFlow", datastore=str(store))["argo-ml.wf-1"]
        assert run.parameters == {"who": "a"} and run.data.greeting == "hello, a"  # untouched

    def test_the_refusal_says_why(self, tmp_path):
        store = tmp_path / "store"
        build = _deployed(EXAMPLES / "hello.py", store, "argo")
        argv = ["step", build.package.flow_path, "start", "--run-id=shared", "--task-id=0", f"--datastore={store}",
                f"--package={build.package.sha}", "--flow-name=HelloFlow", "--namespace=production:HelloFlow"]
        env = {**os.environ, "FLOWSHIP_CACHE": str(tmp_path / "cache")}
        first = subprocess.run([sys.executable, "-m", "flowship", *argv, "--param=who=a"], capture_output=True,
                               text=True, env=env)
        assert first.returncode == 0, first.stderr
        second = subprocess.run([sys.executable, "-m", "flowship", *argv[:4], "--retry-count=1", *argv[4:],
                                 "--param=who=b"], capture_output=True, text=True, env=env)
        assert second.returncode == 1
        assert ("run HelloFlow/shared exists already, with another parameters (namespace production:HelloFlow): a start "
                "task never adopts a run it did not create — give this run its own id") in second.stderr
        assert Flow("HelloFlow", datastore=str(store))["shared"].parameters == {"who": "a"}


def test_a_redeploy_during_a_run_does_not_change_its_code(tmp_path):
    code, store = tmp_path / "code", tmp_path / "store"
    code.mkdir()
    flow_file = code / "versioned.py"
    flow_file.write_text(VERSIONED.format(version="v1"))
    v1 = build_package(str(flow_file))
    flow_file.write_text(VERSIONED.format(version="v2"))
    v2 = build_package(str(flow_file))
    datastore = FlowDatastore(LocalStorage(str(store)), "VersionedFlow")
    for package in (v1, v2):
        upload_package(datastore, package)
    env = {**os.environ, "FLOWSHIP_CACHE": str(tmp_path / "cache")}

    def step(name: str, package: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "flowship", "step", "versioned.py", name, "--run-id=r1",
                               "--task-id=0", f"--datastore={store}", f"--package={package}",
                               "--flow-name=VersionedFlow"], capture_output=True, text=True, env=env, cwd=REPO)

    assert step("start", v1.sha).returncode == 0  # the run starts with v1 ...
    end = step("end", v2.sha)  # ... then v2 is deployed, and the next task's command names v2
    assert end.returncode == 0, end.stderr
    assert "running the code package this run started with" in end.stderr
    run = Flow("VersionedFlow", datastore=str(store))["r1"]
    assert (run["start"].task.data.start_version, run.data.end_version) == ("v1", "v1")


@pytest.mark.skipif(__import__("importlib").util.find_spec("airflow") is None, reason="needs apache-airflow")
def test_two_airflow_deployments_with_one_airflow_run_id_never_share_a_run(tmp_path):
    import airflow_harness as harness

    store = tmp_path / "store"
    airflow_run = "scheduled__2026-12-01T00:00:00+00:00"
    for name, who in (("HelloA", "a"), ("HelloB", "b")):
        build = _deployed(EXAMPLES / "hello.py", store, "airflow", name=name)
        dag, errors, _ = harness.load_dag(build.compiled.text, name)
        assert errors == {}
        harness.KubernetesDagRun(dag, airflow_run, conf={"who": who}, env={"FLOWSHIP_CACHE": str(tmp_path / "c")}).run()
    runs = Flow("HelloFlow", datastore=str(store))
    for name, who in (("HelloA", "a"), ("HelloB", "b")):
        run = runs[f"airflow-{name}.scheduled__2026-12-01T00-00-00-00-00"]
        assert (run.parameters, run.data.greeting) == ({"who": who}, f"hello, {who}")
