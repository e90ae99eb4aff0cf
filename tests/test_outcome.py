"""How a deployed run ended: recorded by the scheduler's exit handler (Argo onExit), shown by the Client and
`flow runs`, and POSTed to a webhook when the run failed."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from argo.runner import ArgoRunError
from argo.substitution import go_quote
from conftest import EXAMPLES, FLOWS, REPO
from test_argo import deploy_and_run

from flowship.runtime.client import Flow, namespace
from flowship.runtime.outcome import record_outcome
from flowship.step_command import OutcomeCommand


@pytest.fixture(autouse=True)
def all_namespaces():
    namespace(None)


@pytest.fixture
def webhook():
    """A loopback HTTP server that keeps every JSON body POSTed to it."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()


def flow_runs(store: Path) -> str:
    return subprocess.run([sys.executable, "-m", "flowship", "runs", "BrokenFlow", "--all-namespaces", "--datastore",
                           str(store)], cwd=REPO, capture_output=True, text=True, check=True).stdout


class TestUnderArgo:
    def test_a_failed_run_says_where_and_why_and_notifies(self, tmp_path, webhook):
        url, received = webhook
        with pytest.raises(ArgoRunError, match="template start failed"):
            deploy_and_run(FLOWS / "behaviour" / "broken.py", tmp_path, "wf-f", secrets={"hooks": {"url": url}},
                           target_options={"failure-webhook": "hooks/url"})
        run = Flow("BrokenFlow", datastore=str(tmp_path))["argo-ml.wf-f"]
        assert run.status == "failed"
        assert run.failure == "step 'start' task 0: KeyError: \"the step's own bug\" (and 1 more)"
        assert "    step 'start' task 0: KeyError" in flow_runs(tmp_path)
        (posted,) = received
        assert (posted["run"], posted["status"], posted["scheduler_status"]) == (
            "BrokenFlow/argo-ml.wf-f", "failed", "Failed")
        assert posted["failures"][1] == {"node": "start", "message": "Error (exit code 1)"}  # what Argo reported

    def test_a_successful_run_is_recorded_and_nobody_is_notified(self, tmp_path, webhook):
        url, received = webhook
        runner = deploy_and_run(EXAMPLES / "hello.py", tmp_path, "wf-ok", secrets={"hooks": {"url": url}},
                                target_options={"failure-webhook": "hooks/url"})
        assert runner.pods[-1].template == "record-outcome" and runner.pods[-1].exit_code == 0
        run = Flow("HelloFlow", datastore=str(tmp_path))["argo-ml.wf-ok"]
        assert (run.status, run.failure, received) == ("succeeded", None, [])


class TestUnderAirflow:
    @pytest.fixture(autouse=True)
    def cache(self, tmp_path, monkeypatch):
        monkeypatch.setenv("FLOWSHIP_CACHE", str(tmp_path / "cache"))

    def test_a_teardown_records_the_failure_and_the_dag_run_still_fails(self, tmp_path):
        harness = pytest.importorskip("airflow_harness", reason="the Airflow tests need apache-airflow")
        from test_airflow import deploy

        dag = deploy(FLOWS / "behaviour" / "broken.py", tmp_path, "local")
        assert dag.task_dict["record-outcome"].is_teardown
        assert harness.run_dag_test(dag) == "failed"  # a teardown does not decide the DAG run's state
        run = Flow("BrokenFlow", datastore=str(tmp_path)).latest_run
        assert (run.status, run.failure) == ("failed", "step 'start' task 0: KeyError: \"the step's own bug\"")

    def test_kubernetes_mode_runs_it_in_a_pod_with_the_webhook_secret(self, tmp_path):
        harness = pytest.importorskip("airflow_harness", reason="the Airflow tests need apache-airflow")
        from dataclasses import replace

        from test_airflow import OPTIONS

        from flowship.compiler.targets.airflow.dagfile import compile_to_airflow
        from flowship.flowfile import load_flow

        options = replace(OPTIONS, target_options={"failure-webhook": "hooks/url"})
        dag, _, _ = harness.load_dag(compile_to_airflow(load_flow(str(EXAMPLES / "hello.py")), options), "hook")
        task = dag.task_dict["record-outcome"]
        assert task.is_teardown and set(task.upstream_task_ids) == {"start", "count", "end"}
        task.render_template_fields({"run_id": "manual__x", "params": {}, "ti": harness.FakeTaskInstance(1),
                                     "dag": dag}, jinja_env=dag.get_template_env())
        container = task.build_pod_request_obj(dry_run=True).spec.containers[0]
        assert container.args == ["record-outcome", "HelloFlow", "--run-id=airflow-HelloFlow.manual__x",
                                  "--datastore=s3://bucket/store"]
        (webhook,) = [e for e in container.env if e.name == "FLOWSHIP_WEBHOOK_URL"]
        assert (webhook.value_from.secret_key_ref.name, webhook.value_from.secret_key_ref.key) == ("hooks", "url")


class TestRecordOutcome:
    def start_only(self, tmp_path: Path) -> None:
        """A deployed run whose start task created its record, then nothing ran."""
        deploy_and_run(EXAMPLES / "hello.py", tmp_path, "wf-1")
        run_folder = tmp_path / "HelloFlow" / "runs" / "argo-ml.wf-1"
        for step in ("count", "end"):
            subprocess.run(["rm", "-rf", str(run_folder / step)], check=True)
        os.remove(run_folder / "outcome.json")

    def test_a_task_that_never_started_is_named_from_the_schedulers_report(self, tmp_path):
        self.start_only(tmp_path)
        failures = [{"displayName": "wf-1", "message": "", "phase": "Failed", "finishedAt": "2026-12-01T10:00:09Z"},
                    {"displayName": "count", "message": "timeout", "phase": "Failed",
                     "finishedAt": "2026-12-01T10:00:08Z"}]
        quoted = '"' + go_quote(json.dumps(failures)) + '"'  # Argo's workflow.failures: strconv.Quote of the list
        record_outcome(OutcomeCommand("HelloFlow", "argo-ml.wf-1", str(tmp_path), "Failed",
                                      base64.b64encode(quoted.encode()).decode()))
        run = Flow("HelloFlow", datastore=str(tmp_path))["argo-ml.wf-1"]
        assert (run.status, run.failure) == (
            "failed", "count: timeout: its pod did not start within --startup-timeout, or ran past its deadline")

    @pytest.mark.parametrize("message", ["bell \a del \x7f", "naïve 🚀 \U000E0001"])
    def test_go_quoted_messages_are_read_back(self, message):
        quoted = '"' + go_quote(json.dumps([{"displayName": "start", "message": message}])) + '"'
        command = OutcomeCommand("F", "r", "/s", "Failed", base64.b64encode(quoted.encode()).decode())
        assert command.failures == [{"displayName": "start", "message": message}]

    def test_a_list_argo_cut_short_is_said_not_fatal(self):
        cut = json.dumps(json.dumps([{"displayName": "start", "message": "x" * 100}]))[:60]
        command = OutcomeCommand("F", "r", "/s", "Failed", base64.b64encode(cut.encode()).decode())
        (only,) = command.failures
        assert only["message"].startswith("the scheduler's list of failed nodes could not be read")

    def test_a_store_it_cannot_reach_does_not_fail_the_run(self, tmp_path):
        (tmp_path / "not-a-folder").write_text("")
        result = subprocess.run([sys.executable, "-m", "flowship", "record-outcome", "HelloFlow", "--run-id=r",
                                 f"--datastore={tmp_path / 'not-a-folder'}", "--status=Succeeded"],
                                capture_output=True, text=True)
        assert result.returncode == 0  # Argo would mark a succeeded workflow failed for an exit handler's failure
        assert "warning: the outcome of HelloFlow/r was not recorded:" in result.stderr

    def test_without_a_report_the_run_still_ends(self, tmp_path):
        self.start_only(tmp_path)
        result = subprocess.run([sys.executable, "-m", "flowship", "record-outcome", "HelloFlow",
                                 "--run-id=argo-ml.wf-1", f"--datastore={tmp_path}"], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        run = Flow("HelloFlow", datastore=str(tmp_path))["argo-ml.wf-1"]
        assert run.status == "failed"  # not "running" for ever
        assert run.failure == "the run ended before any step recorded a failure: see the scheduler's log"

    @pytest.mark.parametrize("argv, message", [
        (["HelloFlow", "--run-id=../x", "--datastore=/s"], "not a flow and run id"),
        (["HelloFlow", "--run-id=r", "--datastore=/s", "--failures-base64=%%"], "--failures-base64: not base64"),
    ])
    def test_bad_input_is_one_line(self, argv, message, tmp_path):
        result = subprocess.run([sys.executable, "-m", "flowship", "record-outcome", *argv], capture_output=True,
                                text=True)
        assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr
